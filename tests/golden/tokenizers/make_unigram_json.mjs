// Golden fixtures for Unigram tokenizer.json files (T5/ALBERT layout), from HF tokenizers 0.23.2
// (npm "tokenizers", the Rust library the Hub's fast tokenizers run on).
//
// The Unigram model is spm_unigram.model (committed beside this script, made by make_golden.mjs):
// its pieces, scores and its nmt_nfkc precompiled charsmap are read from the protobuf and written
// as a Hugging Face tokenizer.json the way the Hub's T5 files are laid out:
//   unigram_t5.tokenizer.json   Precompiled + Replace(" {2,}" -> " ") normalizers, WhitespaceSplit +
//                               Metaspace pre-tokenizers, Unigram model, "$A </s>" template
// and every golden line (golden_lines.mjs) is encoded without special tokens into
//   unigram_t5.ids
//   unigram_t5.offsets          code-point offsets of each token, for the stress.txt lines
//   unigram_albert.ids          the same file with ALBERT's normalizer sequence instead:
//                               Replace("``" -> "\""), Replace("''" -> "\""), NFKD, StripAccents,
//                               Lowercase, Precompiled (the C++ test derives that file the same way)
// Run (after packaging/fetch-assets.sh and `npm install` in tests/golden):
//   TUNEBENCH_ASSETS=../../../assets node make_unigram_json.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { here, goldenLines } from './golden_lines.mjs';

const require = createRequire(import.meta.url);
const tk = require('tokenizers');

// --- a minimal protobuf reader (wire types 0, 1, 2, 5) -------------------------------------------
function* fields(b) {
  let p = 0;
  const varint = () => {
    let r = 0n, s = 0n;
    for (;;) {
      const x = b[p++];
      r |= BigInt(x & 0x7f) << s;
      s += 7n;
      if (!(x & 0x80)) return r;
    }
  };
  while (p < b.length) {
    const tag = Number(varint());
    const f = tag >>> 3, w = tag & 7;
    if (w === 0) yield [f, varint()];
    else if (w === 2) { const n = Number(varint()); yield [f, b.subarray(p, p + n)]; p += n; }
    else if (w === 5) { yield [f, b.readFloatLE(p)]; p += 4; }
    else if (w === 1) { yield [f, b.readDoubleLE(p)]; p += 8; }
    else throw new Error(`unexpected wire type ${w}`);
  }
}

// ModelProto: 1 pieces {1 piece, 2 score, 3 type}, 2 trainer_spec {40 unk_id}, 3 normalizer_spec
// {2 precompiled_charsmap}.
const model = readFileSync(join(here, 'spm_unigram.model'));
const pieces = [];
let charsmap = null;
let unkId = 0;
for (const [f, v] of fields(model)) {
  if (f === 1) {
    const piece = { piece: '', score: 0, type: 1 };
    for (const [g, x] of fields(v)) {
      if (g === 1) piece.piece = x.toString('utf8');
      else if (g === 2) piece.score = x;
      else if (g === 3) piece.type = Number(x);
    }
    pieces.push(piece);
  } else if (f === 2) {
    for (const [g, x] of fields(v)) if (g === 40) unkId = Number(x);
  } else if (f === 3) {
    for (const [g, x] of fields(v)) if (g === 2) charsmap = Buffer.from(x);
  }
}
if (!charsmap) throw new Error('spm_unigram.model has no precompiled charsmap');

const special = (id) => ({ id, content: pieces[id].piece, single_word: false, lstrip: false, rstrip: false,
                           normalized: false, special: true });
const eos = pieces.findIndex((p) => p.piece === '</s>');
const t5 = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: pieces.map((p, id) => (p.type === 2 || p.type === 3 ? special(id) : null)).filter(Boolean),
  normalizer: { type: 'Sequence', normalizers: [
    { type: 'Precompiled', precompiled_charsmap: charsmap.toString('base64') },
    { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' },
  ] },
  pre_tokenizer: { type: 'Sequence', pretokenizers: [
    { type: 'WhitespaceSplit' },
    { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true },
  ] },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
    pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } },
           { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
    special_tokens: { '</s>': { id: '</s>', ids: [eos], tokens: ['</s>'] } },
  },
  decoder: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true },
  model: { type: 'Unigram', unk_id: unkId, vocab: pieces.map((p) => [p.piece, p.score]), byte_fallback: false },
};
const albert = structuredClone(t5);
albert.normalizer = { type: 'Sequence', normalizers: [
  { type: 'Replace', pattern: { String: '``' }, content: '"' },
  { type: 'Replace', pattern: { String: "''" }, content: '"' },
  { type: 'NFKD' },
  { type: 'StripAccents' },
  { type: 'Lowercase' },
  t5.normalizer.normalizers[0],
] };

const { sources, lines } = goldenLines();
const json = JSON.stringify(t5);
writeFileSync(join(here, 'unigram_t5.tokenizer.json'), json + '\n');
for (const [name, spec] of [['unigram_t5', t5], ['unigram_albert', albert]]) {
  const tokenizer = tk.Tokenizer.fromString(JSON.stringify(spec));
  const rows = [];
  const offsets = [];
  for (const line of lines) {
    const e = await tokenizer.encode(line, null, { addSpecialTokens: false });
    rows.push(e.getIds());
    if (offsets.length < sources[0].lines) offsets.push(e.getOffsets().flat());
  }
  writeFileSync(join(here, `${name}.ids`), rows.map((r) => r.join(' ')).join('\n') + '\n');
  if (name === 'unigram_t5') writeFileSync(join(here, `${name}.offsets`), offsets.map((r) => r.join(' ')).join('\n') + '\n');
  // The T5 template, for the record.
  const withSpecials = (await tokenizer.encode('Hello world', null, { addSpecialTokens: true })).getIds();
  console.log(`${name}: ${rows.length} lines; "Hello world" with specials: ${withSpecials.join(' ')}`);
}
