#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test that needs no GPU, then each parser's
# fuzz target for a short time (tests/fuzz; TUNEBENCH_FUZZ_SECONDS each, 20 by default).
#   ./test.sh [ctest options]     e.g. ./test.sh -L unit   or   ./test.sh -R tst_runtime
# With ctest options only the release tests run (the options select among them).
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
cd "$root"

packaging/install-deps.sh build assets package reference
packaging/build.sh release
export TUNEBENCH_ASSETS=${TUNEBENCH_ASSETS:-$root/assets}
packaging/fetch-assets.sh
export QT_QPA_PLATFORM=offscreen
ctest --preset release -j "$(nproc)" "$@"
if [ $# -eq 0 ]; then
  if [ ! -f build/fuzz/build.ninja ]; then
    cmake --preset fuzz -DTUNEBENCH_FUZZ_SECONDS="${TUNEBENCH_FUZZ_SECONDS:-20}" >/dev/null
  fi
  cmake --build --preset fuzz
  ctest --preset fuzz -j "$(nproc)"
fi
