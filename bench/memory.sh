#!/usr/bin/env bash
# Memory of a training step, measured beside tunebench's estimate: a BERT-base-sized classifier
# (12×768, random weights, batch 8 × 128, AdamW) per strategy (full, LoRA, prefix), each with and
# without activation checkpointing of every layer (training.activation_checkpointing: 1), one
# process per row (bench_trainstep), so the peak resident memory is the row's own. "Above the
# libraries" is the peak less the process's resident memory before the model was built; "live
# tensors" is malloc's bytes in use, sampled after each forward and each backward pass (highest),
# less those before the model — what the estimate models (weights, gradients, optimizer state,
# activations; the estimate adds the 10% above it the allocator may keep); the difference to the
# resident memory is what the allocator keeps. The step times of a row with
# and without checkpointing come from runs that alternate, best of ROUNDS each. Prints a Markdown
# section on stdout (progress on stderr). ALLOCATOR=heap measures the same with TUNEBENCH_MALLOC=heap
# (glibc's heap, freed memory kept) instead of tunebench's default blocks (core/runtime/cpuallocator.h).
#   bench/memory.sh        PRECISION=fp32|bf16 (fp32)  ROUNDS=2  THREADS=$(nproc)  ALLOCATOR=blocks|heap (blocks)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/release/bin
threads=${THREADS:-$(nproc)}
precision=${PRECISION:-fp32}
rounds=${ROUNDS:-2}
allocator=${ALLOCATOR:-blocks}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for ((r = 0; r < rounds; r++)); do
  for strategy in full lora prefix; do
    for checkpoint in 0 1; do
      "$bin/bench_trainstep" --layers 12 --hidden 768 --batch 8 --seq 128 --warmup 1 --steps 3 \
        --threads "$threads" --precision "$precision" --strategy "$strategy" --checkpoint "$checkpoint" --heap 1 --allocator "$allocator" \
        >"$work/$strategy-$checkpoint-$r.json"
      echo "round $((r + 1)): $strategy, checkpointing $checkpoint" >&2
    done
  done
done
python3 - "$work" "$precision" "$threads" "$allocator" <<'PY'
import glob, json, os, sys
work, precision, threads, allocator = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rows = {}
for f in glob.glob(os.path.join(work, "*.json")):
    m = json.load(open(f))
    rows.setdefault((m["strategy"], m["checkpoint"]), []).append(m)
def best(key):
    ms = rows[key]
    return {"peak": min(m["peak_rss_mib"] for m in ms),
            "above": min(m["peak_rss_mib"] - m["baseline_rss_mib"] for m in ms),
            "estimate": ms[0]["estimate_mib"],
            "live": max(m["heap_sampled_mib"] for m in ms),
            "step": min(m["step_s"] for m in ms),
            "trainable": ms[0]["trainable"]}
print(f"BERT-base size (12×768), batch 8 × 128, {precision}, AdamW, {threads} threads, allocator {allocator}; one process per row,")
print("peak resident memory (lowest of the rounds); \"above the libraries\" = the peak less the process's")
print("memory before the model was built; \"live tensors\" = malloc's bytes in use after the forward and the")
print("backward pass (highest sample) less those before the model; the estimate models the live peak and")
print("adds the 10% above it that the default allocator may keep mapped;")
print("step time: best of the rounds.")
print()
print("| strategy | trainable parameters | checkpointing | peak RSS | above the libraries | live tensors | estimate | estimate / above the libraries | estimate / live tensors | step time |")
print("|---|---|---|---|---|---|---|---|---|---|")
table = {}
for strategy in ["full", "lora", "prefix"]:
    for checkpoint in [0, 1]:
        b = best((strategy, checkpoint))
        table[(strategy, checkpoint)] = b
        print(f"| {strategy} | {b['trainable']:,} | {'every layer' if checkpoint else 'off'} | {b['peak']:,.0f} MiB | "
              f"{b['above']:,.0f} MiB | {b['live']:,.0f} MiB | {b['estimate']:,.0f} MiB | {b['estimate'] / b['above']:.2f} | "
              f"{b['estimate'] / b['live']:.2f} | {b['step'] * 1000:,.0f} ms |")
full, fullCk, lora = table[("full", 0)], table[("full", 1)], table[("lora", 0)]
print()
print(f"- LoRA's peak RSS / full fine-tuning's: {lora['peak'] / full['peak']:.2f} "
      f"(above the libraries: {lora['above'] / full['above']:.2f}; goal ≤ 0.40)")
print(f"- full fine-tuning with checkpointing / without: peak RSS {fullCk['peak'] / full['peak']:.2f} "
      f"(above the libraries: {fullCk['above'] / full['above']:.2f}; goal ≤ 0.55), "
      f"step time {fullCk['step'] / full['step']:.2f}× (goal ≤ 1.4×)")
for strategy in ["lora", "prefix"]:
    a, c = table[(strategy, 0)], table[(strategy, 1)]
    print(f"- {strategy} with checkpointing / without: peak RSS {c['peak'] / a['peak']:.2f}, step time {c['step'] / a['step']:.2f}×")
worst = max(abs(b["estimate"] / b["above"] - 1) for b in table.values())
live = max(abs(b["estimate"] / b["live"] - 1) for b in table.values())
print(f"- the estimate's largest miss: {100 * worst:.0f}% of the resident memory above the libraries (goal ≤ 15%), "
      f"{100 * live:.0f}% of the live tensors")
PY
