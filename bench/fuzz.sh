#!/usr/bin/env bash
# Runs every fuzz target of tests/fuzz for a number of executions (default 1,000,000 each) under
# ASan + UBSan and prints, per target, the executions done, the corpus reached and the findings.
#   bench/fuzz.sh [executions] [target ...]      e.g. bench/fuzz.sh 100000 torchsave
# Findings (inputs that crashed, leaked or threw anything but tunebench::Error) are kept under
# build/fuzz/findings/; the corpus grows in build/fuzz/corpus/ and is reused by the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(torchsave tables config json)
[ -f build/fuzz/build.ninja ] || cmake --preset fuzz >/dev/null
cmake --build --preset fuzz >/dev/null
mkdir -p build/fuzz/findings build/fuzz/logs
printf '%-10s %12s %10s %8s %9s\n' target executions corpus seconds findings
for t in "${targets[@]}"; do
  corpus=build/fuzz/corpus/$t
  mkdir -p "$corpus"
  log=build/fuzz/logs/$t.log
  start=$(date +%s)
  set +e
  ASAN_OPTIONS=detect_leaks=1 build/fuzz/bin/fuzz_"$t" -runs="$runs" -rss_limit_mb=2048 -timeout=10 $([ "$t" = tokenizer ] && echo -max_len=8192) \
    -print_final_stats=1 -artifact_prefix=build/fuzz/findings/"$t"- "$corpus" build/fuzz/tests/fuzz/seeds/"$t" \
    >"$log" 2>&1
  status=$?
  set -e
  seconds=$(( $(date +%s) - start ))
  executed=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}')
  findings=$(ls build/fuzz/findings/ 2>/dev/null | grep -c "^$t-" || true)
  printf '%-10s %12s %10s %8s %9s\n' "$t" "${executed:-?}" "$(ls "$corpus" | wc -l)" "$seconds" \
    "$findings$([ $status -ne 0 ] && echo ' (stopped: see '"$log"')')"
done
