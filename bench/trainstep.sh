#!/usr/bin/env bash
# Training-step throughput, tunebench against the PyTorch eager reference (bench/reference/
# trainstep.py, Debian's python3-torch = the same LibTorch 1.13), side by side in one invocation:
# for every shape the two run alternately, `rounds` times each, and the best of each side counts.
# Also the machine's GEMM peak (bench_gemm) for MFU, and an op-by-op profile of both sides
# (bench/reference/opprofile.py) for BERT-base bf16 full fine-tuning (the MFU goal's row) and for
# every row below its goal (1.2× BERT-mini, 1.05× BERT-base). Prints a Markdown section (stdout; progress on
# stderr); bench/run.sh puts it into bench/results/latest.md.
#   bench/trainstep.sh [--quick]      (--quick: BERT-mini only)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/release/bin
threads=${THREADS:-$(nproc)}
rounds=${ROUNDS:-3}
# Debian's OpenBLAS picks a slow kernel set on this CPU unless told; tunebench does this itself.
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
shapes=("mini 4 256 16 8")                       # name layers hidden batch steps
[ "${1:-}" = "--quick" ] || shapes+=("base 12 768 8 4")

gemm=$("$bin/bench_gemm" | tail -1)               # "peak fp32 X GFLOP/s, peak bf16 Y GFLOP/s"
peak32=$(echo "$gemm" | sed -E 's/.*peak fp32 ([0-9.]+).*/\1/')
peak16=$(echo "$gemm" | sed -E 's/.*peak bf16 ([0-9.]+).*/\1/')

# The runtime tunebench sets for itself (core/runtime/blascore.h): OpenBLAS's OpenMP build where it
# is installed, else a short OpenMP spin. The reference runs once more with the same (last column).
blasline=$("$bin/tunebench-cli" version 2>/dev/null | grep '^BLAS library:' || true)
if [[ "$blasline" == *"OpenMP build"* ]]; then
  tuned=(LD_LIBRARY_PATH="$(dirname "$(echo "$blasline" | awk '{print $3}')")")
  tunedLabel="OpenBLAS's OpenMP build"
  tunedWhy="tunebench loads OpenBLAS's OpenMP build (one thread pool with LibTorch's; core/runtime/blascore.h),"
else
  tuned=(GOMP_SPINCOUNT=2000)
  tunedLabel="GOMP_SPINCOUNT=2000"
  tunedWhy="tunebench sets GOMP_SPINCOUNT=2000 (idle OpenMP workers otherwise spin on OpenBLAS's cores),"
fi
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
best() { python3 -c "import sys; print(max(float(x) for x in sys.argv[1:]))" "$@"; }

rows=()
profile=()
profiles=()   # "layers hidden batch precision strategy" to profile op by op
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for shape in "${shapes[@]}"; do
  read -r name layers hidden batch steps <<<"$shape"
  for precision in fp32 bf16; do
    for strategy in full lora; do
      args=(--layers "$layers" --hidden "$hidden" --batch "$batch" --seq 128 --steps "$steps" --threads "$threads"
            --precision "$precision" --strategy "$strategy")
      ours=() theirs=() spun=(0) flops=0 oursJson=() theirsJson=()
      for ((r = 0; r < rounds; r++)); do
        a=$("$bin/bench_trainstep" "${args[@]}")
        b=$(/usr/bin/python3 "$root/bench/reference/trainstep.py" "${args[@]}")
        ours+=("$(field "$a" tokens_per_s)")
        theirs+=("$(field "$b" tokens_per_s)")
        # BERT-mini: the reference once more with the runtime tunebench sets for itself.
        if [ "$name" = mini ]; then
          c=$(env "${tuned[@]}" /usr/bin/python3 "$root/bench/reference/trainstep.py" "${args[@]}")
          spun+=("$(field "$c" tokens_per_s)")
        fi
        oursJson+=("$a")
        theirsJson+=("$b")
        flops=$(field "$a" flops_per_step)
      done
      # Where the time goes (the best round of each side): forward, backward, optimizer step.
      profile+=("$(python3 -c "
import json, sys
n = int(sys.argv[1])
ours = max((json.loads(x) for x in sys.argv[2:2 + n]), key=lambda j: j['tokens_per_s'])
theirs = max((json.loads(x) for x in sys.argv[2 + n:]), key=lambda j: j['tokens_per_s'])
cell = lambda k: f'{1000 * ours[k]:.1f} / {1000 * theirs[k]:.1f} ({ours[k] / theirs[k]:.2f})'
print(f'| BERT-{ours[\"layers\"]}×{ours[\"hidden\"]} | {ours[\"precision\"]} | {ours[\"strategy\"]} | '
      f'{cell(\"forward_s\")} | {cell(\"backward_s\")} | {cell(\"optimizer_s\")} |')
" "$rounds" "${oursJson[@]}" "${theirsJson[@]}")")
      t=$(best "${ours[@]}")
      p=$(best "${theirs[@]}")
      q=$(best "${spun[@]}")
      peak=$([ "$precision" = bf16 ] && echo "$peak16" || echo "$peak32")
      row=$(python3 -c "
import sys
t, p, flops, tokens, peak = map(float, sys.argv[1:6])
mfu = t / tokens * flops / 1e9 / peak
q = float(sys.argv[9])
spun = f'{q:,.0f} ({t / q:.2f}x)' if q else '—'
print(f'| {sys.argv[6]} | {sys.argv[7]} | {sys.argv[8]} | {t:,.0f} | {p:,.0f} | {t / p:.2f}x | {100 * mfu:.0f}% | {spun} |')
" "$t" "$p" "$flops" "$((batch * 128))" "$peak" "BERT-$name ($layers×$hidden)" "$precision" "$strategy" "$q")
      echo "$row" >&2
      rows+=("$row")
      goal=$([ "$name" = mini ] && echo 1.2 || echo 1.05)
      if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) / float(sys.argv[2]) < float(sys.argv[3]) else 1)" "$t" "$p" "$goal" ||
         [ "$name/$precision/$strategy" = base/bf16/full ]; then
        profiles+=("$layers $hidden $batch $precision $strategy $flops $peak")
      fi
    done
  done
done

# MFU against batch size: BERT-base bf16 full fine-tuning (tunebench only) at batches 8 and 32 —
# the optimizer step and per-op overheads are paid once per step, the GEMMs grow with the batch.
mfuRows=()
if [ "${1:-}" != "--quick" ]; then
  for b in 8 32; do
    m=$("$bin/bench_trainstep" --layers 12 --hidden 768 --batch "$b" --seq 128 --steps 5 --warmup 1 --threads "$threads" \
        --precision bf16 --strategy full --peak-between 1)
    mfuRows+=("$(python3 -c "
import json, sys
m = json.loads(sys.argv[1])
peak = float(sys.argv[2])
rate = m['flops_per_step'] / m['step_s'] / 1e9
b = m['mfu_between']
samples = b['peak_samples']
print(f'| {m[\"batch\"]} × 128 | {m[\"tokens_per_s\"]:,.0f} | {1000 * m[\"step_s\"]:,.0f} ms (optimizer {1000 * m[\"optimizer_s\"]:,.0f}) | {rate:,.0f} GFLOP/s | {100 * rate / peak:.0f}% | {min(samples):,.0f}–{max(samples):,.0f} GFLOP/s | {100 * b[\"median\"]:.0f}% ({100 * b[\"min\"]:.0f}–{100 * b[\"max\"]:.0f}%) |')
" "$m" "$peak16")")
    echo "${mfuRows[-1]}" >&2
  done
fi

# One bench_trainstep run per strategy on BERT-base (12×768, batch 8 × 128), each JSON line turned
# into a table row by a Python f-string over its fields (m); progress on stderr.
#   baseRows FORMAT PRECISION STRATEGIES [bench_trainstep options...]
baseRows() {
  local format=$1 precision=$2 strategy row
  read -r -a list <<<"$3"
  shift 3
  for strategy in "${list[@]}"; do
    row=$(python3 -c "import json, sys; m = json.loads(sys.argv[1]); print(eval('f' + repr(sys.argv[2])))" \
      "$("$bin/bench_trainstep" --layers 12 --hidden 768 --batch 8 --seq 128 --warmup 1 --threads "$threads" \
         --precision "$precision" --strategy "$strategy" "$@")" "$format")
    echo "$row" >&2
    echo "$row"
  done
}

# The bf16 linear maps' kept weight copies and fp32 weight gradients (core/models/bf16linear.h)
# against autocast's casts on every call: two copies of the model in one process, stepped
# alternately (bench_trainstep --compare-shadows), so that this VM's swings hit both alike.
shadowRows=()
if [ "${1:-}" != "--quick" ]; then
  mapfile -t shadowRows < <(baseRows \
    '| {m["strategy"]} | {m["autocast_tokens_per_s"]:,.0f} | {m["shadows_tokens_per_s"]:,.0f} | {m["ratio"]:.2f}x |' \
    bf16 "full lora" --steps 6 --compare-shadows 1)
fi

# Op by op: one profiled step of each side (after the timed ones), self time per op.
opTables=()
for spec in "${profiles[@]}"; do
  read -r layers hidden batch precision strategy flops peak <<<"$spec"
  args=(--layers "$layers" --hidden "$hidden" --batch "$batch" --seq 128 --steps 2 --warmup 1 --threads "$threads"
        --precision "$precision" --strategy "$strategy")
  "$bin/bench_trainstep" "${args[@]}" --profile "$work/ours.json" >/dev/null
  /usr/bin/python3 "$root/bench/reference/trainstep.py" "${args[@]}" --profile "$work/theirs.json" >/dev/null
  opTables+=("#### BERT-${layers}×${hidden}, ${precision}, ${strategy}, batch ${batch}"$'\n\n'"$(python3 "$root/bench/reference/opprofile.py" \
    "$work/ours.json" "$work/theirs.json" --top 12 --flops "$flops" --peak "$peak")")
  echo "profiled BERT-${layers}×${hidden} $precision $strategy" >&2
done

{
  echo "## Training-step throughput: tunebench vs PyTorch eager (Python)"
  echo
  echo "- ${threads} threads each side; GEMM peak (bench_gemm): fp32 ${peak32} GFLOP/s, bf16 ${peak16} GFLOP/s"
  echo "- sequence length 128, random weights and ids, AdamW, dropout 0.1; LoRA r=8 on query/value;"
  echo "  best of ${rounds} alternating runs per side; MFU = model FLOPs per token (full: 6N + 3A; LoRA: 4N + 3A, no weight gradients for frozen weights) / GEMM peak"
  echo
  echo "- ${tunedWhy} the reference runs at PyTorch's"
  echo "  defaults, and for BERT-mini also with the same setting (last column: its tokens/s and tunebench's ratio to it)"
  echo
  echo "| model | precision | strategy | tunebench tokens/s | PyTorch tokens/s | ratio | MFU (tunebench) | PyTorch, ${tunedLabel} |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Profile: milliseconds per step in each phase, tunebench / PyTorch (ratio; below 1 = tunebench faster)."
  echo "Both sides call the same LibTorch kernels; the differences are in what each side asks of them."
  echo
  echo "| model | precision | strategy | forward + loss | backward | optimizer step |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${profile[@]}"
  if [ ${#mfuRows[@]} -gt 0 ]; then
    echo
    echo "MFU of BERT-base bf16 full fine-tuning against the batch (tunebench, median step of 5), against the"
    echo "run's bf16 peak and against GEMM peak samples taken between the steps (bench_trainstep --peak-between:"
    echo "best of 512² and 1,024², 0.1 s each, before every step and after the last; each step against the higher"
    echo "sample beside it; median and range over the steps). This VM's bf16 rate moves up to 3× within minutes:"
    echo
    echo "| batch | tokens/s | step | model FLOP/s | MFU (bf16 peak ${peak16}) | peak samples | MFU per step against its samples |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${mfuRows[@]}"
  fi
  if [ ${#shadowRows[@]} -gt 0 ]; then
    echo
    echo "BERT-base bf16, batch 8: linear maps computing from kept bf16 copies of their weights, with fp32 weight"
    echo "gradients straight from oneDNN (the default), against autocast's casts of every weight and weight"
    echo "gradient on every call (TUNEBENCH_BF16_SHADOWS=0); two copies of the model stepped alternately in one"
    echo "process, median of 6 steps each:"
    echo
    echo "| strategy | autocast's casts tokens/s | kept copies tokens/s | speed-up |"
    echo "|---|---|---|---|"
    printf '%s\n' "${shadowRows[@]}"
  fi
  if [ ${#opTables[@]} -gt 0 ]; then
    echo
    echo "Op by op (one profiled step of each side under LibTorch's profiler; self time, largest differences"
    echo "first): BERT-base bf16 full fine-tuning, and every row below its goal."
    for table in "${opTables[@]}"; do
      echo
      echo "$table"
    done
  fi
}
