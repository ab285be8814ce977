#!/usr/bin/env bash
# Cached outputs of frozen bottom layers (strategy.cache_frozen) on the default task: USE-Lite,
# Pang & Lee sentences, the preset's split and settings, 3 epochs, for partial fine-tuning (the
# embeddings and the bottom layer frozen) and the linear probe (everything below the head frozen),
# each with and without the cache, alternating, best of 2 runs per side. Epoch 1 fills the cache
# (no gain expected); later epochs start above the frozen layers. Prints a Markdown section.
#   bench/frozencache.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cli=${TUNEBENCH_CLI:-$root/build/release/bin/tunebench-cli}
export TUNEBENCH_ASSETS=${TUNEBENCH_ASSETS:-$root/assets}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TUNEBENCH_WORKSPACE=$tmp/workspace
rounds=2

summary() { # events.jsonl results.json → JSON: epoch-1 and later tokens/s (median), seconds, accuracy, cache
  python3 - "$1" "$2" <<'PY'
import json, statistics, sys
events = [json.loads(l) for l in open(sys.argv[1])]
results = json.load(open(sys.argv[2]))
steps = [e for e in events if e["type"] == "step"]
first = [e["tokens_per_s"] for e in steps if e["epoch"] == 0]
later = [e["tokens_per_s"] for e in steps if e["epoch"] > 0]
end0 = max(e["elapsed_s"] for e in steps if e["epoch"] == 0)
print(json.dumps({"first": statistics.median(first), "later": statistics.median(later),
                  "later_s": steps[-1]["elapsed_s"] - end0, "accuracy": results["test"]["metrics"]["accuracy"],
                  "cache": results.get("frozen_cache")}))
PY
}

rows=()
for spec in "partial|strategy.freeze_embeddings=true strategy.freeze_bottom_layers=1" "linear_probe|training.learning_rate=3e-3"; do
  name=${spec%%|*}
  extra=${spec#*|}
  declare -A best=()
  for round in $(seq "$rounds"); do
    for cache in false true; do
      args=(--set strategy.name="$name" --set training.epochs=3 --set strategy.cache_frozen=$cache
            --set evaluation.early_stopping.patience=0)
      for s in $extra; do args+=(--set "$s"); done
      run=$tmp/$name-$cache-$round
      "$cli" train "$root/resources/presets/sentiment-use-lite.yaml" --run-dir "$run" --quiet "${args[@]}" >/dev/null
      s=$(summary "$run/events.jsonl" "$run/results.json")
      prev=${best[$cache]:-}
      best[$cache]=$(python3 -c 'import json,sys
a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]) if sys.argv[2] else None
print(json.dumps(a if b is None or a["later"] > b["later"] else b))' "$s" "$prev")
    done
  done
  rows+=("$name|${best[false]}|${best[true]}")
  unset best
done

python3 - "${rows[@]}" <<'PY'
import json, sys
print("## Cached outputs of frozen bottom layers (strategy.cache_frozen)\n")
print("The default task (USE-Lite, 2 layers; the preset's split, batch 32, bf16 where the CPU has it), 3 epochs,")
print("best of 2 alternating runs per side. Epoch 1 computes and keeps the frozen layers' outputs; epochs 2–3")
print("start above them (the frozen layers then run without dropout).\n")
print("| strategy | cache | epoch 1 tokens/s | epochs 2–3 tokens/s | epochs 2–3 time | test accuracy | cache size |")
print("|---|---|---|---|---|---|---|")
for row in sys.argv[1:]:
    name, off, on = row.split("|")
    off, on = json.loads(off), json.loads(on)
    for label, r in (("off", off), ("on", on)):
        c = r["cache"]
        size = f"{c['mib']:.0f} MiB ({c['examples']:,} examples, {c['layers']} layer(s))" if c else "—"
        print(f"| {name} | {label} | {r['first']:,.0f} | {r['later']:,.0f} | {r['later_s']:.1f} s | {r['accuracy']:.4f} | {size} |")
    print(f"| {name} | ratio | {on['first'] / off['first']:.2f}× | **{on['later'] / off['later']:.2f}×** | "
          f"{on['later_s'] / off['later_s']:.2f}× | | |")
PY
