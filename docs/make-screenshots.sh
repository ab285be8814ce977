#!/usr/bin/env bash
# Screenshots for the README, made by the GUI itself (QT_QPA_PLATFORM=offscreen, window.grab()) on
# a fresh workspace: the start page, the experiment form and its YAML, the import dialog, the live monitor during a real run, and
# the history comparing two runs, the evaluation of the latest run with a playground prediction,
# then a plan in the Experiment tab and the Monitor, grouped curves in History, the sweep views, the Export dialog and a 2-process run in the Monitor. Run after a build and fetch-assets: docs/make-screenshots.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/release/bin
out=$root/docs/screenshots
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export QT_QPA_PLATFORM=offscreen XDG_CONFIG_HOME=$tmp/config
export TUNEBENCH_ASSETS=${TUNEBENCH_ASSETS:-$root/assets}
ws=$tmp/workspace
export TUNEBENCH_WORKSPACE=$ws
small=(--set data.subset_rows=1200 --set training.epochs=4 --set evaluation.every_steps=10
       --set evaluation.early_stopping.patience=0)

"$bin/tunebench" --workspace "$ws" --screenshot "$out/main-window.png"
"$bin/tunebench" --workspace "$ws" --tab experiment --set strategy.name=lora --screenshot-after 4 \
  --screenshot "$out/experiment.png"
"$bin/tunebench" --workspace "$ws" --tab experiment --yaml-view --set training.batch_size=0 --screenshot-after 4 \
  --screenshot "$out/experiment-yaml.png"
# Import: the column-mapping dialog on the default data file.
"$bin/tunebench" --workspace "$ws" --import "$TUNEBENCH_ASSETS/data/sentiment/pang-lee-sentences.csv" \
  --screenshot-after 2 --screenshot "$out/import.png"
# The default experiment's data in the Data tab: table, label counts, token lengths and the cut-off.
"$bin/tunebench" --workspace "$ws" --open-data --screenshot-after 8 --screenshot "$out/data.png"
# A real run (full fine-tuning), captured while it trains, then left to finish.
"$bin/tunebench" --workspace "$ws" "${small[@]}" --start --tab monitor --screenshot-after 45 \
  --screenshot "$out/monitor.png"
"$root/build/release/bin/tunebench-cli" train "$root/resources/presets/sentiment-use-lite.yaml" --quiet \
  --run-dir "$ws/runs/full" "${small[@]}" >/dev/null
"$root/build/release/bin/tunebench-cli" train "$root/resources/presets/sentiment-use-lite.yaml" --quiet \
  --run-dir "$ws/runs/lora" "${small[@]}" --set strategy.name=lora --set training.learning_rate=1e-3 >/dev/null
"$bin/tunebench" --workspace "$ws" --tab history --compare-last 2 --screenshot "$out/history.png"
# The evaluation of the latest run (confusion heat map, per-class scores) and a playground prediction.
"$bin/tunebench" --workspace "$ws" --tab evaluate --evaluate-last --playground "a gorgeous, witty and moving film" \
  --screenshot-after 20 --screenshot "$out/evaluate.png"
# Plans, grouped curves with their comparison, and the sweep views: the offscreen GUI test that
# drives them saves its windows (small runs of 240 rows, one epoch).
TUNEBENCH_SCREENSHOTS=$out TUNEBENCH_BIN_DIR=$bin "$bin/tst_plans" gridSweep groupsCurvesAndSignificance >/dev/null
TUNEBENCH_SCREENSHOTS=$out TUNEBENCH_BIN_DIR=$bin "$bin/tst_calibration" >/dev/null
TUNEBENCH_SCREENSHOTS=$out TUNEBENCH_BIN_DIR=$bin "$bin/tst_exportdialog" >/dev/null
TUNEBENCH_SCREENSHOTS=$out TUNEBENCH_BIN_DIR=$bin "$bin/tst_dataparallel" >/dev/null
ls "$out"
