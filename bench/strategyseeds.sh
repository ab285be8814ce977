#!/usr/bin/env bash
# Every fine-tuning strategy on the default task (USE-Lite, Pang & Lee sentences, stratified
# 80/10/10, 5 epochs) over several seeds, as one `sweep` plan (--point: each strategy with its own
# learning rate), then each strategy against full fine-tuning with `runs compare` over the seeds
# (paired t-test, 95% interval of the mean difference). Prints the README's Markdown table.
#   bench/strategyseeds.sh [SEEDS]      (default 3; TUNEBENCH_WORKSPACE=DIR keeps the runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cli=${TUNEBENCH_CLI:-$root/build/release/bin/tunebench-cli}
seeds=${1:-3}
export TUNEBENCH_ASSETS=${TUNEBENCH_ASSETS:-$root/assets}
export TUNEBENCH_WORKSPACE=${TUNEBENCH_WORKSPACE:-$(mktemp -d)}
out=$TUNEBENCH_WORKSPACE/strategies
# A finished sweep in the workspace is reused (only the comparisons and the table are made again).
[ -f "$out/sweep.json" ] || "$cli" sweep "$root/resources/presets/sentiment-use-lite.yaml" --run-dir "$out" --seeds "$seeds" \
  --point "strategy.name=full training.learning_rate=1e-4" \
  --point "strategy.name=partial training.learning_rate=1e-4 strategy.freeze_embeddings=true strategy.freeze_bottom_layers=1" \
  --point "strategy.name=linear_probe training.learning_rate=3e-3" \
  --point "strategy.name=bitfit training.learning_rate=1e-3" \
  --point "strategy.name=lora training.learning_rate=1e-3 strategy.lora.r=8 strategy.lora.alpha=16" \
  --point "strategy.name=adapters training.learning_rate=1e-3 strategy.adapters.reduction=16" \
  --point "strategy.name=ia3 training.learning_rate=3e-3" \
  --point "strategy.name=prefix training.learning_rate=1e-2 strategy.prefix.tokens=20" \
  --point "strategy.name=prompt training.learning_rate=1e-2 strategy.prompt.tokens=20" > "$out.log"
"$cli" runs list --json --all --workspace "$TUNEBENCH_WORKSPACE" > "$out.runs.json"
# The ids of point P's seeds, in seed order.
ids() { node -e '
const runs = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const ids = [];
for (let s = 1; s <= +process.argv[3]; ++s) {
  const r = runs.find(r => r.folder.endsWith("/point-" + process.argv[2] + "-seed-" + s));
  ids.push(r.id);
}
console.log(ids.join(","));' "$out.runs.json" "$1" "$seeds"; }
full=$(ids 1)
for p in 2 3 4 5 6 7 8 9; do
  "$cli" runs compare "$full" "$(ids $p)" --json --workspace "$TUNEBENCH_WORKSPACE" | tail -1 > "$out.compare-$p.json"
done
node -e '
const fs = require("fs");
const [runsFile, prefix, seeds] = process.argv.slice(1);
const runs = JSON.parse(fs.readFileSync(runsFile, "utf8"));
const names = ["full", "partial", "linear_probe", "bitfit", "lora", "adapters", "ia3", "prefix", "prompt"];
const stat = v => { const m = v.reduce((a, b) => a + b, 0) / v.length;
  return [m, Math.sqrt(v.reduce((a, b) => a + (b - m) * (b - m), 0) / (v.length - 1))]; };
console.log(`| strategy | test accuracy (mean ± std, ${seeds} seeds) | test macro-F1 | vs full: accuracy difference [95% CI] | p (paired t over seeds) |`);
console.log("|---|---|---|---|---|");
names.forEach((name, i) => {
  const rows = runs.filter(r => new RegExp("/point-" + (i + 1) + "-seed-\\d+$").test(r.folder));
  const [am, as] = stat(rows.map(r => r.summary["test.accuracy"]));
  const [fm, fs_] = stat(rows.map(r => r.summary["test.macro_f1"]));
  let vs = "—", p = "—";
  if (i > 0) {
    const c = JSON.parse(fs.readFileSync(prefix + ".compare-" + (i + 1) + ".json", "utf8"));
    const a = c.significance.metrics.find(m => m.metric === "accuracy");
    const pts = x => (100 * x >= 0 ? "+" : "") + (100 * x).toFixed(1);
    vs = `${pts(a.difference)} points [${pts(a.ci95[0])}, ${pts(a.ci95[1])}]`;
    p = a.p.toFixed(3);
  }
  console.log(`| ${name} | ${am.toFixed(3)} ± ${as.toFixed(3)} | ${fm.toFixed(3)} ± ${fs_.toFixed(3)} | ${vs} | ${p} |`);
});
' "$out.runs.json" "$out" "$seeds"
