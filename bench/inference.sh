#!/usr/bin/env bash
# Inference throughput of a BERT-shaped sequence classifier, tunebench against PyTorch eager, side
# by side in one invocation: bench_trainstep --mode infer (forward passes as `eval` and `predict`
# run them: eval mode, no autograd, bf16 autocast when asked) against bench/reference/trainstep.py
# --mode infer (eval(), torch.inference_mode(), the same autocast), the same shapes, random weights
# and ids, every sequence the full length, the same threads. The two run alternately, `rounds`
# times each, and the best of each side counts; the last column is the reference once more with
# the runtime tunebench sets for itself (OpenBLAS's OpenMP build or GOMP_SPINCOUNT, as
# bench/trainstep.sh explains). Goal (issue "Memory and the last engine mile"): ≥ 1.5× for BERT-base.
#   bench/inference.sh            (ROUNDS=3, THREADS=nproc, BATCH=32)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/release/bin
threads=${THREADS:-$(nproc)}
rounds=${ROUNDS:-3}
batch=${BATCH:-32}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
blasline=$("$bin/tunebench-cli" version 2>/dev/null | grep '^BLAS library:' || true)
if [[ "$blasline" == *"OpenMP build"* ]]; then
  tuned=(LD_LIBRARY_PATH="$(dirname "$(echo "$blasline" | awk '{print $3}')")")
else
  tuned=(GOMP_SPINCOUNT=2000)
fi
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
best() { python3 -c "import sys; print(max(float(x) for x in sys.argv[1:]))" "$@"; }

echo "| model | precision | tunebench tokens/s | PyTorch tokens/s | ratio | PyTorch with tunebench's runtime |"
echo "|---|---|---|---|---|---|"
for shape in "mini 4 256" "base 12 768"; do
  read -r name layers hidden <<<"$shape"
  for precision in fp32 bf16; do
    args=(--layers "$layers" --hidden "$hidden" --batch "$batch" --seq 128 --steps 6 --warmup 2
          --threads "$threads" --precision "$precision" --mode infer)
    ours=() theirs=() spun=()
    for ((r = 0; r < rounds; r++)); do
      ours+=("$(field "$("$bin/bench_trainstep" "${args[@]}")" tokens_per_s)")
      theirs+=("$(field "$(/usr/bin/python3 "$root/bench/reference/trainstep.py" "${args[@]}")" tokens_per_s)")
      spun+=("$(field "$(env "${tuned[@]}" /usr/bin/python3 "$root/bench/reference/trainstep.py" "${args[@]}")" tokens_per_s)")
    done
    python3 -c "
import sys
t, p, q = map(float, sys.argv[1:4])
print(f'| BERT-{sys.argv[4]} ({sys.argv[5]}) | {sys.argv[6]} | {t:,.0f} | {p:,.0f} | {t / p:.2f}x | {q:,.0f} ({t / q:.2f}x) |')
" "$(best "${ours[@]}")" "$(best "${theirs[@]}")" "$(best "${spun[@]}")" "$name" "$layers×$hidden" "$precision"
  done
done
