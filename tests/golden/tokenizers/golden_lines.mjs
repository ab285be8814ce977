// The golden text shared by the tokenizer scripts: stress.txt (made by make_stress_text.mjs), then the
// lines of two fetched corpora. Lines are split on "\n" only; a "\r" stays part of its line. maxLines
// bounds a source.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const assets = process.env.TUNEBENCH_ASSETS || join(here, '../../../assets');
export const sha256 = (data) => createHash('sha256').update(data).digest('hex');

export function goldenLines() {
  const sources = [
    { name: 'stress.txt', path: join(here, 'stress.txt') },
    { name: '$ASSETS/raw/pattern/polarity-en-pang&lee2.csv', path: join(assets, 'raw/pattern/polarity-en-pang&lee2.csv') },
    { name: '$ASSETS/raw/pattern/spam-apache.csv', path: join(assets, 'raw/pattern/spam-apache.csv'), maxLines: 3000 },
  ];
  const lines = [];
  for (const s of sources) {
    const bytes = readFileSync(s.path);
    s.sha256 = sha256(bytes);
    let l = bytes.toString('utf8').split('\n');
    if (l[l.length - 1] === '') l.pop();
    if (s.maxLines) l = l.slice(0, s.maxLines);
    s.lines = l.length;
    lines.push(...l);
  }
  return { sources, lines };
}
