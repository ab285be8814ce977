#!/usr/bin/env bash
# The installed program, with no source tree: builds the .deb (packaging/make-deb.sh), checks it with
# lintian, unpacks it into a fresh root with dpkg -x, validates the desktop entry, the AppStream file,
# the man pages and the bash completion, then runs the installed tunebench-cli (--version, doctor, a
# one-epoch training run of an installed preset) and the GUI's Start tab offscreen, from a process
# in which the checkout is hidden (a private mount namespace with an empty tmpfs over it).
#   tests/package/tst_package.sh SOURCE_DIR ASSETS_DIR EXPECTED_VERSION
set -euo pipefail
src=$(cd "$1" && pwd)
assets=${TUNEBENCH_ASSETS:-$2}
version=$3
tmp=$(mktemp -d /tmp/tunebench-package.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "PASS: $*"; }

# 1. The package.
"$src/packaging/make-deb.sh" "$tmp/out" > "$tmp/make-deb.log" 2>&1 || { cat "$tmp/make-deb.log" >&2; exit 1; }
deb=$(ls "$tmp"/out/tunebench_"$version"_amd64.deb 2>/dev/null) || { fail "no tunebench_${version}_amd64.deb"; exit 1; }
pass "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"
depends=$(dpkg-deb --field "$deb" Depends)
echo "Depends: $depends"
for want in libtorch1.13 libqt6widgets6 libqt6charts6 libyaml-cpp0.7 libsentencepiece0 libopenblas0-openmp qt6-qpa-plugins; do
  grep -q "$want" <<<"$depends" || fail "Depends lacks $want"
done
if grep -qE -- '-dev\b' <<<"$depends"; then fail "Depends names a -dev package"; fi

# 2. lintian: no errors (the README lists the warnings left on purpose).
lintian --tag-display-limit 0 "$deb" > "$tmp/lintian.txt" 2>&1 || true
cat "$tmp/lintian.txt"
if grep -q '^E: ' "$tmp/lintian.txt"; then fail "lintian reports errors"; else pass "lintian: no errors"; fi

# 3. A fresh root.
root=$tmp/root
dpkg -x "$deb" "$root"
for f in usr/bin/tunebench usr/bin/tunebench-cli usr/lib/tunebench/shim/libtunebench_spm_shim.so \
         usr/lib/tunebench/fetch-assets usr/share/tunebench/presets/sentiment-use-lite.yaml \
         usr/share/applications/io.github.tunebench.tunebench.desktop \
         usr/share/metainfo/io.github.tunebench.tunebench.metainfo.xml \
         usr/share/icons/hicolor/scalable/apps/tunebench.svg usr/share/man/man1/tunebench-cli.1.gz \
         usr/share/man/man1/tunebench.1.gz usr/share/bash-completion/completions/tunebench-cli \
         usr/share/doc/tunebench/copyright usr/share/doc/tunebench/changelog.gz; do
  [ -e "$root/$f" ] || fail "the package lacks /$f"
done
for exe in "$root"/usr/bin/* "$root"/usr/lib/tunebench/shim/*.so; do
  if readelf -d "$exe" | grep -qE 'RPATH|RUNPATH'; then fail "$(basename "$exe") carries an RPATH"; fi
  if grep -q "$src" "$exe"; then fail "$(basename "$exe") names the source tree"; fi
done
desktop-file-validate "$root"/usr/share/applications/*.desktop && pass "desktop-file-validate" || fail "desktop-file-validate"
appstreamcli validate --no-net "$root"/usr/share/metainfo/*.xml && pass "appstreamcli validate" || fail "appstreamcli validate"
for page in "$root"/usr/share/man/man1/*.1.gz; do
  warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
  [ -z "$warnings" ] && pass "man $(basename "$page")" || fail "man $(basename "$page"): $warnings"
done
zcat "$root/usr/share/man/man1/tunebench-cli.1.gz" | grep -q '^\.SS fetch\\-assets' || fail "tunebench-cli(1) lacks fetch-assets"

# 4. Bash completion from the installed script.
complete_words() { # complete_words WORD... : what <TAB> offers after the words (the last is completed)
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _tunebench_cli; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$root/usr/share/bash-completion/completions/tunebench-cli" "$@"
}
[ "$(complete_words tunebench-cli tra)" = train ] || fail "completion of 'tra': $(complete_words tunebench-cli tra)"
complete_words tunebench-cli runs com | grep -qx compare || fail "completion of 'runs com'"
complete_words tunebench-cli runs compare --sig | grep -qx -- --significance || fail "completion of 'runs compare --sig'"
complete_words tunebench-cli cv --fo | grep -qx -- --folds || fail "completion of 'cv --fo'"
pass "bash completion"

# 5. The installed programs with the checkout hidden. Assets in the user's data folder.
home=$tmp/home
mkdir -p "$home/.local/share/tunebench/assets/models" "$home/.local/share/tunebench/assets/data/sentiment"
cp -r "$assets/models/use-lite" "$home/.local/share/tunebench/assets/models/"
cp "$assets/data/sentiment/pang-lee-sentences.csv" "$home/.local/share/tunebench/assets/data/sentiment/"
cat > "$tmp/installed.sh" <<'INNER'
set -euo pipefail
cd "$HOME"
if [ -n "${HIDE:-}" ]; then
  [ -z "$(ls -A "$HIDE")" ] || { echo "the source tree is still visible" >&2; exit 9; }
fi
bin=$ROOT/usr/bin
"$bin/tunebench-cli" --version > version.txt
"$bin/tunebench-cli" doctor --quick > doctor.txt || { cat doctor.txt; exit 11; }
"$bin/tunebench-cli" train "$ROOT/usr/share/tunebench/presets/sentiment-use-lite.yaml" \
  --set training.epochs=1 --set data.subset_rows=160 --quiet --json > train.json
"$bin/tunebench-cli" runs list > runs.txt
QT_QPA_PLATFORM=offscreen "$bin/tunebench" --tab start --screenshot start.png --screenshot-after 0.5 2> gui.txt
INNER
envs=(env -i PATH=/usr/bin:/bin HOME="$home" ROOT="$root" LANG=C.UTF-8 TUNEBENCH_THREADS=2)
if unshare --mount --propagation private true 2>/dev/null; then
  "${envs[@]}" HIDE="$src" unshare --mount --propagation private \
    bash -c 'mount -t tmpfs -o size=1m none "$HIDE" && exec bash "$1"' _ "$tmp/installed.sh" \
    > "$tmp/installed.log" 2>&1 || { cat "$tmp/installed.log" "$home"/*.txt >&2 2>/dev/null; fail "the installed programs (exit $?)"; }
  pass "ran with $src hidden"
else
  echo "note: cannot make a mount namespace here; the checkout stays visible (RPATH and path checks above hold)"
  "${envs[@]}" bash "$tmp/installed.sh" > "$tmp/installed.log" 2>&1 ||
    { cat "$tmp/installed.log" "$home"/*.txt >&2 2>/dev/null; fail "the installed programs"; }
fi
cat "$tmp/installed.log"
head -1 "$home/version.txt" | grep -qx "tunebench $version" || fail "--version: $(head -1 "$home/version.txt")"
grep -q "^workspace: *$home/.local/share/tunebench/workspace$" "$home/version.txt" || fail "--version lacks the XDG workspace"
grep -q "^assets: *$home/.local/share/tunebench/assets$" "$home/version.txt" || fail "--version lacks the XDG assets folder"
grep -q "sentencepiece shim loads: $root/usr/lib/tunebench/shim/libtunebench_spm_shim.so" "$home/doctor.txt" || fail "doctor: shim not found beside the installed program"
grep -q "^\[ok\]   assets found in $home/.local/share/tunebench/assets" "$home/doctor.txt" || fail "doctor: assets"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["status"]=="finished", r["status"]; assert r["steps"]>0; assert 0<=r["test"]["metrics"]["accuracy"]<=1' \
  "$home/train.json" || fail "train: $(head -c 400 "$home/train.json")"
[ "$(ls "$home/.local/share/tunebench/workspace/runs" | wc -l)" = 1 ] || fail "the run is not in the XDG workspace"
grep -q sentiment-use-lite "$home/runs.txt" || fail "runs list: $(cat "$home/runs.txt")"
python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); assert d[:8]==b"\x89PNG\r\n\x1a\n"; w,h=struct.unpack(">II",d[16:24]); assert w>=800 and h>=500, (w,h)' \
  "$home/start.png" || fail "the GUI's Start tab screenshot"
[ ! -s "$home/gui.txt" ] || { echo "GUI stderr:"; cat "$home/gui.txt"; }
[ -d "${TUNEBENCH_PACKAGE_KEEP:-}" ] && cp "$home/start.png" "$deb" "$TUNEBENCH_PACKAGE_KEEP/"
[ "$failures" = 0 ] && echo "all package checks passed" || { echo "$failures package check(s) failed" >&2; exit 1; }
