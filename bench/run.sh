#!/usr/bin/env bash
# Every benchmark in one invocation, tunebench beside its references on this machine; prints the
# tables and writes bench/results/latest.md (machine, cores, BLAS, LibTorch, date):
#   1. training-step throughput and MFU against PyTorch eager (bench/trainstep.sh), peak memory
#      per strategy with and without activation checkpointing (bench/memory.sh), and inference
#      throughput against PyTorch eager's inference mode (bench/inference.sh)
#   2. time to a target validation accuracy on the default task (bench/timetotarget.sh), and
#      cached outputs of frozen bottom layers on it (bench/frozencache.sh)
#   3. tokenizer throughput against the npm references (bench/tokenizers.sh)
#   4. loading 100,000 dataset rows (bench_dataload) beside Python's csv module
#   5. the GUI: event-loop latency while training, a 100k-point chart's redraw, the History tab
#      listing 10,000 runs (bench_guilatency over bench_runstore's workspace) and the run store's
#      queries
# Run after ./test.sh (build + assets). Takes about half an hour; nothing else should run meanwhile.
#   bench/run.sh [--quick]      (--quick: BERT-mini only, 1,000 runs in the history)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/release/bin
out=$root/bench/results
assets=${TUNEBENCH_ASSETS:-$root/assets}
export TUNEBENCH_ASSETS=$assets OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
quick=${1:-}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
section() { echo "== $1" >&2; }

section "training-step throughput (bench/trainstep.sh)"
"$root/bench/trainstep.sh" $quick >"$tmp/1.md"
section "inference throughput (bench/inference.sh)"
{
  echo
  echo "## Inference throughput: tunebench vs PyTorch eager inference (batch 32 × 128, best of 3 alternating)"
  echo
  "$root/bench/inference.sh"
} >>"$tmp/1.md"
section "memory of a training step (bench/memory.sh)"
{
  echo
  echo "## Memory of a training step: measured beside the estimate, with and without activation checkpointing"
  echo
  "$root/bench/memory.sh"
} >>"$tmp/1.md"
section "time to target accuracy (bench/timetotarget.sh)"
"$root/bench/timetotarget.sh" >"$tmp/2.md"
section "cached frozen layers (bench/frozencache.sh)"
{
  echo
  "$root/bench/frozencache.sh"
} >>"$tmp/2.md"
section "tokenizers (bench/tokenizers.sh)"
{
  echo "## Tokenizer throughput against the npm references"
  echo
  "$root/bench/tokenizers.sh"
} >"$tmp/3.md"

section "loading 100,000 rows (bench_dataload)"
ours=$("$bin/bench_dataload" "$assets" "$tmp/100k.csv")
python3 - "$ours" "$tmp/100k.csv" >"$tmp/4.md" <<'EOF'
import csv, json, sys, time
ours = json.loads(sys.argv[1])
best = 1e9
for _ in range(3):
    t = time.perf_counter()
    with open(sys.argv[2], newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    best = min(best, time.perf_counter() - t)
print("## Loading 100,000 dataset rows\n")
print("A 100,000-row CSV made from the Pang & Lee sentences (every field quoted), best of 3:\n")
print("| step | tunebench | Python csv.DictReader |")
print("|---|---|---|")
print(f"| read the CSV | {ours['read_s'] * 1000:,.0f} ms | {best * 1000:,.0f} ms ({best / ours['read_s']:.1f}× tunebench's) |")
print(f"| give the rows their task meaning and validate them | {ours['map_validate_s'] * 1000:,.0f} ms | |")
print(f"| tokenize every row (USE-Lite) for the length statistics | {ours['tokenize_statistics_s'] * 1000:,.0f} ms | |")
EOF

section "GUI and run history (bench_runstore, bench_guilatency)"
runs=10000
[ "$quick" = "--quick" ] && runs=1000
"$bin/bench_runstore" "$tmp/history" "$runs" 2000 >"$tmp/runstore.txt"
QT_QPA_PLATFORM=offscreen "$bin/bench_guilatency" 1600 "$tmp/history" 2>/dev/null >"$tmp/gui.txt"
{
  echo "## The workbench"
  echo
  echo '```'
  cat "$tmp/gui.txt"
  echo
  echo "run store ($runs runs × 2,000 metric points each):"
  cat "$tmp/runstore.txt"
  echo '```'
} >"$tmp/5.md"

gemm=$("$bin/bench_gemm" | tail -1)
{
  echo "# tunebench benchmarks (bench/run.sh)"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo "- BLAS: $("$bin/tunebench-cli" version 2>/dev/null | grep -i '^blas' | head -1 | sed 's/^[^:]*: *//')"
  echo "- LibTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') (Debian, both sides)"
  echo "- GEMM $gemm"
  for i in 1 2 3 4 5; do
    echo
    cat "$tmp/$i.md"
  done
} >"$out/latest.md"
cat "$out/latest.md"
echo "wrote $out/latest.md" >&2
