#!/usr/bin/env bash
# Tokenizer throughput: tunebench beside the npm references on the same text, in one run.
#   bench/tokenizers.sh          (after ./test.sh or ./run.sh built and fetched everything)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
assets=${TUNEBENCH_ASSETS:-$root/assets}
golden=$root/tests/golden/tokenizers
[ -d "$root/tests/golden/node_modules/tokenizers" ] || npm ci --prefix "$root/tests/golden" --no-audit --no-fund --loglevel=error
out=$(mktemp)
"$root/build/release/bin/bench_tokenizers" "$assets" "$golden" > "$out"
node "$root/bench/reference/tokenizers.mjs" "$assets" "$golden" >> "$out"
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const ours = Object.fromEntries(rows.filter(r => r.engine === "tunebench").map(r => [r.tokenizer, r.tokens_per_s]));
console.log("| tokenizer | engine | tokens/s | tunebench ÷ engine |\n|---|---|---|---|");
for (const r of rows)
  console.log(`| ${r.tokenizer} | ${r.engine} | ${r.tokens_per_s.toLocaleString("en")} | ${
    r.engine === "tunebench" ? "1.00" : (ours[r.tokenizer] / r.tokens_per_s).toFixed(2)} |`);
console.log(`\n${rows[0].lines} lines, single thread each.`);
' "$out"
rm -f "$out"
