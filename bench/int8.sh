#!/usr/bin/env bash
# int8 against fp32 on the default experiment (USE-Lite, Pang & Lee sentences, seed 42, full
# fine-tuning), side by side in one invocation: test accuracy of tunebench's own inference
# (eval vs eval --int8), the speed of predict over the test texts (fp32 vs --int8, same run, same
# threads), and the ONNX exports (fp32 vs --int8): model.onnx size and the verification's label
# agreement and accuracy on validation rows. Prints the README's Markdown table.
#   bench/int8.sh [RUN]     (RUN: a finished default-experiment run; default: trains one, ~10 min)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cli=${TUNEBENCH_CLI:-$root/build/release/bin/tunebench-cli}
export TUNEBENCH_ASSETS=${TUNEBENCH_ASSETS:-$root/assets}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run=${1:-}
if [ -z "$run" ]; then
  run=$work/default
  "$cli" train "$root/resources/presets/sentiment-use-lite.yaml" --run-dir "$run" --quiet
fi
json() { node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(eval("j." + process.argv[1]))' "$1"; }
acc_fp32=$("$cli" eval "$run" --json | tail -1 | json 'metrics.accuracy')
acc_int8=$("$cli" eval "$run" --json --int8 2>"$work/int8.txt" | tail -1 | json 'metrics.accuracy')
# 800 texts of the data file ("text","label" CSV, quotes doubled inside), one per line, for predict.
node -e '
const s = require("fs").readFileSync(process.argv[1], "utf8");
const rows = []; let field = "", row = [], quoted = false;
for (let i = 0; i < s.length; ++i) {
  const c = s[i];
  if (quoted) { if (c === "\"" && s[i + 1] === "\"") { field += c; ++i; } else if (c === "\"") quoted = false; else field += c; }
  else if (c === "\"") quoted = true;
  else if (c === ",") { row.push(field); field = ""; }
  else if (c === "\n") { row.push(field); rows.push(row); row = []; field = ""; }
  else if (c !== "\r") field += c;
}
console.log(rows.slice(1, 801).map((r) => r[0].replace(/\s+/g, " ").trim()).join("\n"));' "$TUNEBENCH_ASSETS/data/sentiment/pang-lee-sentences.csv" > "$work/texts.txt"
time_of() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
t_fp32=$(time_of "$cli" predict "$run" --file "$work/texts.txt")
t_int8=$(time_of "$cli" predict "$run" --file "$work/texts.txt" --int8)
"$cli" export "$run" --format onnx --out "$work/onnx" --json > "$work/onnx.json"
"$cli" export "$run" --format onnx --int8 --out "$work/onnx8" --json > "$work/onnx8.json"
size() { stat -c %s "$1"; }
s_fp32=$(size "$work/onnx/model.onnx")
s_int8=$(size "$work/onnx8/model.onnx")
texts=$(wc -l < "$work/texts.txt")
echo "int8 maps: $(cat "$work/int8.txt")"
echo
echo "| | fp32 | int8 | change |"
echo "|---|---|---|---|"
printf "| test accuracy (tunebench, eval) | %.4f | %.4f | %+.1f points |\n" "$acc_fp32" "$acc_int8" "$(echo "($acc_int8 - $acc_fp32) * 100" | bc -l)"
printf "| predict, %d texts (s, incl. loading) | %.2f | %.2f | %.2f× as fast |\n" "$texts" "$t_fp32" "$t_int8" "$(echo "$t_fp32 / $t_int8" | bc -l)"
printf "| model.onnx (MB) | %.1f | %.1f | %.0f%% of fp32 |\n" "$(echo "$s_fp32 / 1000000" | bc -l)" "$(echo "$s_int8 / 1000000" | bc -l)" "$(echo "100 * $s_int8 / $s_fp32" | bc -l)"
printf "| ONNX in onnxruntime: validation accuracy (run %s) | %s | %s | labels agree on %s |\n" \
  "$(tail -1 "$work/onnx.json" | json accuracy_run)" "$(tail -1 "$work/onnx.json" | json accuracy_export)" \
  "$(tail -1 "$work/onnx8.json" | json accuracy_export)" "$(tail -1 "$work/onnx8.json" | json label_agreement)"
