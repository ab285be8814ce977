#!/usr/bin/env bash
# Data parallel on one machine, side by side in one invocation: 2 ranks × 1 thread (`train --nproc 2`,
# Gloo on 127.0.0.1) against 1 process × 2 threads, the same global batch and steps, for BERT-mini
# (4 layers, 256 wide) and BERT-base (12 × 768) from random weights, full fine-tuning and LoRA.
# Prints a Markdown table: median tokens/s of each (steps after the first 3), their ratio (goal ≥ 0.9),
# the bytes one step all-reduces and the share of the 2-rank run's time rank 0 spent waiting for
# communication the backward pass did not hide (results.json's distributed section).
#   bench/distributed.sh [STEPS]     (default 12 steps per run; global batch 32, 64 tokens)
#   MODELS="mini base" STRATEGIES="full lora" choose the rows (default: all four).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cli=${TUNEBENCH_CLI:-$root/build/release/bin/tunebench-cli}
export TUNEBENCH_ASSETS=${TUNEBENCH_ASSETS:-$root/assets}
steps=${1:-12}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# BERT-mini and BERT-base shapes with bert-base-uncased's vocabulary, weights random.
for m in mini:256:4:4:1024 base:768:12:12:3072; do
  IFS=: read -r name hidden layers heads ffn <<< "$m"
  mkdir -p "$work/bert-$name"
  cp "$TUNEBENCH_ASSETS"/tokenizers/bert-base-uncased/* "$work/bert-$name/"
  printf '{"model_type": "bert", "hidden_size": %s, "num_hidden_layers": %s, "num_attention_heads": %s, "intermediate_size": %s, "vocab_size": 30522, "max_position_embeddings": 512, "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "pad_token_id": 0}\n' \
    "$hidden" "$layers" "$heads" "$ffn" > "$work/bert-$name/config.json"
done
cat > "$work/base.yaml" <<YAML
name: bench-dp
seed: 1
model: {path: $work/bert-mini, init: random, max_length: 64}
task: {kind: single_label}
data: {path: $TUNEBENCH_ASSETS/data/sentiment/pang-lee-sentences.csv, subset_rows: 3000,
       split: {train: 0.8, validation: 0.1, test: 0.1}}
training: {epochs: 1, batch_size: 32, learning_rate: 1.0e-4, precision: fp32, max_steps: $steps}
evaluation: {metric: accuracy}
YAML
median_tps() { # median tokens/s of the steps after the first 3
  node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const t = lines.filter((j) => j.type === "step" && j.step > 3).map((j) => j.tokens_per_s).sort((a, b) => a - b);
console.log(t[Math.floor(t.length / 2)].toFixed(0));' "$1/events.jsonl"
}
field() { node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(eval("j." + process.argv[2]))' "$1" "$2"; }
echo "| model | strategy | 1 process × 2 threads (tokens/s) | 2 ranks × 1 thread (tokens/s) | ratio | all-reduced per step | waiting for communication |"
echo "|---|---|---|---|---|---|---|"
for model in ${MODELS:-mini base}; do
  for strategy in ${STRATEGIES:-full lora}; do
    sets=()
    for s in "model.path=$work/bert-$model" "strategy.name=$strategy" "training.dropout=0"; do sets+=(--set "$s"); done
    one=$work/$model-$strategy-1; two=$work/$model-$strategy-2
    "$cli" --threads 2 train "$work/base.yaml" "${sets[@]}" --run-dir "$one" --quiet
    "$cli" train "$work/base.yaml" "${sets[@]}" --set training.batch_size=16 --nproc 2 --run-dir "$two" --quiet
    a=$(median_tps "$one"); b=$(median_tps "$two")
    bytes=$(field "$two/results.json" 'distributed.all_reduced_bytes_per_step')
    wait=$(field "$two/results.json" 'distributed.communication_wait_s')
    secs=$(field "$two/results.json" 'seconds')
    printf '| BERT-%s | %s | %s | %s | %.2f | %.1f MiB | %.0f%% |\n' "$model" "$strategy" "$a" "$b" \
      "$(echo "$b / $a" | bc -l)" "$(echo "$bytes / 1048576" | bc -l)" "$(echo "100 * $wait / $secs" | bc -l)"
  done
done
