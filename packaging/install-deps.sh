#!/usr/bin/env bash
# Installs the Debian 12 packages tunebench needs. Idempotent and quick when all are present.
#
#   packaging/install-deps.sh [build] [assets] [package] [reference]
#     build      compilers (and clang for the fuzz targets), LibTorch, Qt 6 (+Charts), yaml-cpp,
#                SQLite, sentencepiece, Xvfb (default)
#     assets     Node.js/npm, used by packaging/fetch-assets.sh to fetch models and tokenizers
#     package    what builds and checks the .deb: dpkg-shlibdeps, lintian, desktop-file-validate,
#                appstreamcli (packaging/make-deb.sh, the test labelled package)
#     reference  Python torch/torchtext: the reference engines behind golden files and benchmarks
set -euo pipefail

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(build)

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  # LibTorch; OpenBLAS because Debian's LibTorch otherwise calls the reference BLAS (~40x slower).
  libtorch-dev libopenblas0-pthread
  # OpenBLAS built on OpenMP: tunebench loads it for itself (one thread pool with LibTorch's: see
  # core/runtime/blascore.h); the system default stays the pthread build.
  libopenblas0-openmp
  # oneDNN's headers: the library itself comes with LibTorch; bf16 products with fp32 results.
  libdnnl-dev
  libyaml-cpp-dev libsqlite3-dev nlohmann-json3-dev
  # ICU: Unicode categories, normalisation (NFC/NFD/NFKC) and case mapping for the tokenizers.
  libicu-dev
  # ONNX exports: ONNX's protobuf classes (the same libonnx_proto LibTorch links).
  libonnx-dev
  # Data-parallel training: c10d's ProcessGroupGloo header includes gloo's headers (the symbols are
  # in LibTorch's libtorch_cpu).
  libgloo-dev
  # sentencepiece: the library (for our dlopen shim only) and spm_train/spm_encode (reference tools).
  libsentencepiece-dev sentencepiece
  # Qt 6: Charts needs libqt6opengl6-dev and libxkbcommon-dev besides base and charts.
  qt6-base-dev qt6-charts-dev libqt6opengl6-dev libxkbcommon-dev qt6-qpa-plugins libgl-dev
  # Headless GUI runs and screenshots.
  xvfb xauth x11-utils imagemagick fonts-dejavu-core
  # The parsers' fuzz targets (tests/fuzz): clang with libFuzzer and the sanitizers' runtimes.
  clang libclang-rt-14-dev
)
assets_pkgs=(ca-certificates)
package_pkgs=(dpkg-dev lintian desktop-file-utils appstream man-db)
reference_pkgs=(python3 python3-torch python3-torchtext python3-onnx)

wanted=()
for g in "${groups[@]}"; do
  case "$g" in
    build) wanted+=("${build_pkgs[@]}") ;;
    assets) wanted+=("${assets_pkgs[@]}")
            # Node.js from Debian unless a node/npm is already on PATH.
            command -v npm >/dev/null 2>&1 || wanted+=(nodejs npm) ;;
    package) wanted+=("${package_pkgs[@]}") ;;
    reference) wanted+=("${reference_pkgs[@]}") ;;
    *) echo "install-deps.sh: unknown group '$g' (expected build, assets, package or reference)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#wanted[@]} packages present (${groups[*]})"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: apt-get is not available on this machine; tunebench's set-up targets Debian 12." >&2
  echo "install-deps: install these packages by hand: ${missing[*]}" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "install-deps: not root and no sudo; as root run: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
  "${sudo[@]}" apt-get update -q
fi
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
