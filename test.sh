#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test that needs no GPU.
#   ./test.sh [ctest options]     e.g. ./test.sh -L unit   or   ./test.sh -R tst_runtime
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
cd "$root"

packaging/install-deps.sh build assets
packaging/build.sh release
export TUNEBENCH_ASSETS=${TUNEBENCH_ASSETS:-$root/assets}
packaging/fetch-assets.sh
export QT_QPA_PLATFORM=offscreen
ctest --preset release -j "$(nproc)" "$@"
