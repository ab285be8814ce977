#!/usr/bin/env bash
# Every fine-tuning strategy on the default task (USE-Lite, Pang & Lee sentences, stratified
# 80/10/10, seed 42, 5 epochs), one process each (so peak memory is the strategy's own), and a
# Markdown table: strategy, trainable parameters, test accuracy and macro-F1, wall time, peak
# memory, and the majority-class baseline they must beat.
#   bench/strategies.sh [--quick]      (--quick: 2 epochs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cli=${TUNEBENCH_CLI:-$root/build/release/bin/tunebench-cli}
export TUNEBENCH_ASSETS=${TUNEBENCH_ASSETS:-$root/assets}
export TUNEBENCH_WORKSPACE=${TUNEBENCH_WORKSPACE:-$(mktemp -d)}
out=$(mktemp -d)
epochs=5
[ "${1:-}" = "--quick" ] && epochs=2
# strategy | learning rate | extra settings
while IFS='|' read -r name lr extra; do
  args=(--set "training.learning_rate=$lr" --set "training.epochs=$epochs" --set "strategy.name=$name")
  for s in $extra; do args+=(--set "$s"); done
  "$cli" train "$root/resources/presets/sentiment-use-lite.yaml" --run-dir "$out/$name" --quiet --json "${args[@]}" \
    > "$out/$name.json"
done <<'LIST'
full|1e-4|
partial|1e-4|strategy.freeze_embeddings=true strategy.freeze_bottom_layers=1
linear_probe|3e-3|
bitfit|1e-3|
lora|1e-3|strategy.lora.r=8 strategy.lora.alpha=16
adapters|1e-3|strategy.adapters.reduction=16
ia3|3e-3|
prefix|1e-2|strategy.prefix.tokens=20
prompt|1e-2|strategy.prompt.tokens=20
LIST
node -e '
const fs = require("fs");
const dir = process.argv[1];
const rows = fs.readdirSync(dir).filter(f => f.endsWith(".json")).map(f => JSON.parse(fs.readFileSync(dir + "/" + f, "utf8")));
const order = ["full", "partial", "linear_probe", "bitfit", "lora", "adapters", "ia3", "prefix", "prompt"];
rows.sort((a, b) => order.indexOf(a.run.split("/").pop()) - order.indexOf(b.run.split("/").pop()));
console.log("| strategy | trainable parameters | trainable % | test accuracy | test macro-F1 | wall time | peak memory |");
console.log("|---|---|---|---|---|---|---|");
for (const r of rows)
  console.log(`| ${r.run.split("/").pop()} | ${r.trainable_parameters.toLocaleString("en")} | ${(100 * r.trainable_parameters / r.total_parameters).toFixed(2)} | ${r.test.metrics.accuracy.toFixed(3)} | ${r.test.metrics.macro_f1.toFixed(3)} | ${Math.round(r.seconds)} s | ${Math.round(r.peak_memory_mib)} MiB |`);
console.log(`\nmajority-class baseline (test accuracy): ${rows[0].majority_baseline.toFixed(3)}`);
' "$out"
