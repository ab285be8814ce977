#!/usr/bin/env bash
# Time to a target validation accuracy on the default sentiment task (USE-Lite, Pang & Lee
# sentences, the preset's stratified 80/10/10 split), tunebench with its defaults (bf16 where the
# CPU has it, length bucketing, the preset's batch 32 / LR 1e-4 / warm-up) against the reference
# recipe at Hugging Face Trainer defaults in PyTorch (bench/reference/timetotarget.py: fp32, batch
# 8, LR 5e-5, padding to the longest in each batch, no bucketing), on the same split and token ids,
# in one invocation. Both evaluate every 800 training examples for 3 epochs; the clock starts at
# the first step. Prints a Markdown section (stdout).
#   bench/timetotarget.sh [TARGET]      (default 0.75)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/release/bin
assets=${TUNEBENCH_ASSETS:-$root/assets}
target=${1:-0.75}
threads=${THREADS:-$(nproc)}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} TUNEBENCH_ASSETS=$assets
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TUNEBENCH_WORKSPACE=$tmp/workspace
data=$assets/data/sentiment/pang-lee-sentences.csv
model=$assets/models/use-lite

# tunebench: the default experiment, 3 epochs, evaluated every 25 steps of 32 (800 examples).
start=$(date +%s.%N)
"$bin/tunebench-cli" --threads "$threads" train "$root/resources/presets/sentiment-use-lite.yaml" --quiet \
  --run-dir "$tmp/run" --set training.epochs=3 --set evaluation.every_steps=25 \
  --set evaluation.early_stopping.patience=0 >/dev/null
wall=$(python3 -c "import sys, time; print(time.time() - float(sys.argv[1]))" "$start")

# The same rows' token ids for the reference (tunebench's USE-Lite tokenizer; tokenizing is not timed).
python3 -c '
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8-sig") as f:
    for row in csv.DictReader(f):
        print(" ".join(row["text"].split()))
' "$data" | "$bin/tunebench-cli" tokenize --model "$model" --json |
  python3 -c 'import json, sys; [print(json.dumps(json.loads(l)["ids"])) for l in sys.stdin]' >"$tmp/ids.jsonl"

/usr/bin/python3 "$root/bench/reference/timetotarget.py" --model "$model" --data "$data" --split "$tmp/run/split.json" \
  --ids "$tmp/ids.jsonl" --target "$target" --threads "$threads" >"$tmp/reference.jsonl"

python3 - "$tmp/run/events.jsonl" "$tmp/reference.jsonl" "$target" "$wall" "$threads" <<'EOF'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
reference = [json.loads(l) for l in open(sys.argv[2])]
target, wall, threads = float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
steps = {e["step"]: e for e in events if e["type"] == "step"}
last = max(steps)
ours = []  # (examples, seconds, accuracy): the time the evaluation's result was known
for e in events:
    if e["type"] == "eval" and e["split"] == "validation":
        after = steps.get(e["step"] + 1, steps[last])  # its elapsed_s includes the evaluation
        ours.append((e["step"] * 32, after["elapsed_s"], e["metrics"]["accuracy"]))
ours_t = next((s for _, s, a in ours if a >= target), None)
ref = [r for r in reference if "summary" not in r]
summary = reference[-1]
ref_t = summary["seconds_to_target"]
fmt = lambda t: "not reached" if t is None else f"{t:.1f} s"
print(f"## Time to {target:.2f} validation accuracy on the default task\n")
print("USE-Lite, Pang & Lee sentences (3,200 train / 400 validation, the preset's split), 3 epochs, validation")
print(f"every 800 training examples, {threads} threads each side; the clock starts at the first step.\n")
print("| | recipe | time to target | best validation accuracy | training time (3 epochs) |")
print("|---|---|---|---|---|")
print(f"| tunebench | defaults: bf16 autocast, length bucketing, batch 32, LR 1e-4, 6% warm-up | {fmt(ours_t)} | "
      f"{max(a for _, _, a in ours):.4f} | {steps[last]['elapsed_s']:.1f} s ({wall:.1f} s with loading) |")
print(f"| PyTorch | HF Trainer defaults: fp32, pad to longest, no bucketing, batch 8, LR 5e-5 | {fmt(ref_t)} | "
      f"{max(r['accuracy'] for r in ref):.4f} | {summary['seconds']:.1f} s |")
if ours_t and ref_t:
    print(f"\ntunebench reaches the target in **{ours_t / ref_t:.2f}×** the reference recipe's time "
          f"(goal ≤ 0.33×).")
print("\nValidation accuracy by training examples seen (tunebench | reference):\n")
print("| examples | tunebench s | tunebench acc | reference s | reference acc |")
print("|---|---|---|---|---|")
by = {r["examples"]: r for r in ref}
for ex, s, a in ours:
    r = by.get(ex)
    print(f"| {ex:,} | {s:.1f} | {a:.4f} | {r['seconds']:.1f} | {r['accuracy']:.4f} |" if r else f"| {ex:,} | {s:.1f} | {a:.4f} | | |")
EOF
