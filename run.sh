#!/usr/bin/env bash
# Sets up everything that is missing, builds, and starts tunebench on the default workspace.
#   ./run.sh              the GUI
#   ./run.sh --headless   the default experiment with tunebench-cli instead
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
cd "$root"

headless=0
for arg in "$@"; do
  case "$arg" in
    --headless) headless=1 ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $arg (use --headless or nothing)" >&2; exit 2 ;;
  esac
done

packaging/install-deps.sh build assets
# Only the programs this script runs (tests and benchmarks are ./test.sh's).
packaging/build.sh release tunebench tunebench-cli tunebench_spm_shim
export TUNEBENCH_ASSETS=${TUNEBENCH_ASSETS:-$root/assets}
export TUNEBENCH_WORKSPACE=${TUNEBENCH_WORKSPACE:-$root/workspace}
packaging/fetch-assets.sh

bin=build/release/bin
if [ "$headless" = 1 ]; then
  # The default experiment: USE-Lite on Pang & Lee's sentences (resources/presets).
  exec "$bin/tunebench-cli" train resources/presets/sentiment-use-lite.yaml
fi
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "run.sh: no display (DISPLAY/WAYLAND_DISPLAY unset); starting under Xvfb" >&2
  exec xvfb-run -a -s "-screen 0 1600x1000x24" "$bin/tunebench" --workspace "$TUNEBENCH_WORKSPACE"
fi
exec "$bin/tunebench" --workspace "$TUNEBENCH_WORKSPACE"
