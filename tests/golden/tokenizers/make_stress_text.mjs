// Writes stress.txt: the hand-made part of the tokenizer golden text (the rest comes from the
// fetched corpora, see make_golden.mjs). Deterministic: a fixed seed picks and combines fragments.
// Run: node make_stress_text.mjs
import { writeFileSync } from 'node:fs';

let seed = 20261128;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = (list) => list[Math.floor(random() * list.length)];

const fragments = [
  // English, contractions, casing
  "The movie's plot wasn't bad, but I'd rather've seen it at home.", "THEY'RE HERE!", "It's 5 o'clock",
  "We'll see; you'd know. I'm sure they've gone.", "Don't STOP believin'", "rock 'n' roll",
  // Numbers, money, dates, maths
  '$5.99 or €4,50 — 3/4 of 100% (±2.5e-3)', '1,234,567.89', '2026-11-28T01:15:39Z', 'x² + y³ = z½',
  '∑ᵢ aᵢ ≠ ∫ f(x) dx', '1st 2nd 3rd 4th', 'Ⅻ ⅷ ①②③', '0xDEADBEEF 0b1010 1e10',
  // E-mail headers and addresses
  'From: "Ana Núñez" <ana.nunez@example.org>', 'To: dev-list@lists.example.com', 'Subject: Re: [PATCH 3/7] fix überflow',
  'Received: from mail.example.net (mail.example.net [192.0.2.17]) by mx.example.com with ESMTP id 4F2A1',
  'Message-ID: <20261128.0115.ABC123@mail.example.net>', 'Content-Type: text/plain; charset="UTF-8"',
  'X-Spam-Status: No, score=-2.6 required=5.0', '> quoted reply line', '>> deeper quote',
  'http://www.example.com/path/to/page.html?query=1&b=two#frag', 'https://example.org/~user/index.php',
  // Accents, composed and decomposed
  'café naïve résumé façade Zoë Ångström São Paulo', 'cafe\u0301 nai\u0308ve', 'İstanbul Şişli ığdır',
  'Straße GROSSE Maße', 'ﬁne ﬂow ﬀ', 'Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３', 'ǅemal ǈubljana',
  'ΣΟΦΟΣ σοφος Ελληνικά', 'Привет, мир! Ёлка', 'مرحبا بالعالم', 'שלום עולם', 'नमस्ते दुनिया',
  'สวัสดีชาวโลก', 'Tiếng Việt có dấu', 'Ærøskøbing', 'Dvořák Łódź',
  // CJK
  '東京は日本の首都です。', '我喜欢这部电影，非常好看！', '한국어 문장입니다', 'カタカナとひらがな',
  '㈱ ㍿ ㋿', '𠀋𡈽𡌛 (CJK extension B)', '中文English混合mixed文本',
  // Emoji and symbols
  '😀 😂 🙈', 'thumbs 👍🏽 up', 'family 👨‍👩‍👧‍👦 zwj', 'flags 🇫🇷🇯🇵', 'keycap 1️⃣ #️⃣', '❤️ vs ❤',
  '★☆♠♣♥♦', '→ ← ↑ ↓ ⇒', '“curly” ‘quotes’ «guillemets» „low“', '— – - ‐ ‒', '…', '™ © ®',
  // Control, invisible, odd whitespace
  'zero\u200bwidth space', 'soft\u00adhyphen', 'joiner\u200dhere', 'bom\ufeffinside', 'nel\u0085line',
  'bell\u0007char', 'del\u007fchar', 'nbsp\u00a0space', 'ideographic\u3000space', 'tab\there', 'vt\u000bff\u000c',
  'lsep\u2028psep\u2029', 'thin\u2009space narrow\u202fnb', 'replacement \ufffd char', 'rtl \u202eoverride\u202c',
  // Very long words
  'a'.repeat(150), 'supercalifragilisticexpialidocious', 'Donaudampfschifffahrtsgesellschaftskapitän',
  'pneumonoultramicroscopicsilicovolcanoconiosis', 'x'.repeat(99), 'y'.repeat(100), 'z'.repeat(101),
  'https://example.com/' + 'segment/'.repeat(20),
  // Punctuation runs, code, markup
  '!!!???...', '--==**##', 'f(x) = {a: [1, 2], b: "c"};', '<p class="x">Hello <b>world</b></p>',
  '&amp; &lt;tag&gt; &#169; &nbsp;', 'C++ C# F# .NET node.js', '@user #hashtag', 'snake_case camelCase',
  'path/to/file.txt C:\\Windows\\System32', ':-) ;-( :D <3', '[CLS] [SEP] [MASK] [UNK] [PAD]',
  '<s> </s> <pad> <unk>', "''quoted'' ``latex''",
];
const spaces = [' ', ' ', ' ', '  ', '   ', '\t', ' \t ', '\u00a0'];

const lines = [];
for (const f of fragments)
  lines.push(f); // every fragment alone once
for (let i = 0; i < 700; ++i) {
  const r = random();
  if (r < 0.06) { lines.push(''); continue; }                 // empty line
  if (r < 0.09) { lines.push(pick(spaces).repeat(1 + Math.floor(random() * 4))); continue; } // blank
  const n = 1 + Math.floor(random() * 6);
  let line = random() < 0.1 ? pick(spaces) : '';
  for (let k = 0; k < n; ++k)
    line += (k ? pick(spaces) : '') + pick(fragments);
  if (random() < 0.1)
    line += pick(spaces);                                       // trailing whitespace
  lines.push(line);
}
writeFileSync(new URL('./stress.txt', import.meta.url), lines.join('\n') + '\n');
console.log(`stress.txt: ${lines.length} lines`);
