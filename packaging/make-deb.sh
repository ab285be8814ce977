#!/usr/bin/env bash
# Builds the Debian package tunebench_<version>_amd64.deb from the release preset:
#   packaging/make-deb.sh [OUT_DIR]     (default: build/package)
# Only the programs, the shim and the generated man pages and completion are built; CPack's DEB
# generator stages `cmake --install`, strips the binaries and computes Depends: with dpkg-shlibdeps.
# Install it with `sudo apt install ./build/package/tunebench_*.deb`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=$(mkdir -p "${1:-build/package}" && cd "${1:-build/package}" && pwd)
for tool in dpkg-shlibdeps cpack; do
  command -v "$tool" >/dev/null || { echo "make-deb: $tool is missing (packaging/install-deps.sh package)" >&2; exit 1; }
done
packaging/build.sh release tunebench tunebench-cli tunebench_spm_shim tunebench_docs
rm -f "$out"/tunebench_*.deb
cpack --config build/release/CPackConfig.cmake -B "$out" >"$out/cpack.log" 2>&1 ||
  { cat "$out/cpack.log" >&2; exit 1; }
deb=$(ls "$out"/tunebench_*_amd64.deb)
echo "make-deb: $deb"
dpkg-deb --field "$deb" Package Version Depends Recommends
