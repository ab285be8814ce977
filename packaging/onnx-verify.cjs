// tunebench's check of an ONNX export: runs model.onnx in onnxruntime (the onnxruntime-node npm
// package, which tunebench-cli fetch-assets installs; nothing of it is linked into tunebench) on
// the batches tunebench wrote, and writes the logits back.
//   node onnx-verify.cjs ONNXRUNTIME_NODE_DIR MODEL.onnx WORK_DIR
// WORK_DIR/request.json: [{ids, mask, logits, shape}] (int64 little-endian files in, float32 out);
// WORK_DIR/reply.json: [{dims}] per batch.
'use strict';
const fs = require('fs');
const path = require('path');

const [runtimeDir, modelPath, work] = process.argv.slice(2);
const ort = require(runtimeDir);

function readInt64(file) {
  const bytes = fs.readFileSync(path.join(work, file));
  const values = new BigInt64Array(bytes.length / 8);
  new Uint8Array(values.buffer).set(bytes);
  return values;
}

async function main() {
  const session = await ort.InferenceSession.create(modelPath);
  const request = JSON.parse(fs.readFileSync(path.join(work, 'request.json'), 'utf8'));
  const reply = [];
  for (const r of request) {
    const feeds = {
      input_ids: new ort.Tensor('int64', readInt64(r.ids), r.shape),
      attention_mask: new ort.Tensor('int64', readInt64(r.mask), r.shape),
    };
    const logits = (await session.run(feeds)).logits;
    const data = logits.data;
    fs.writeFileSync(path.join(work, r.logits), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    reply.push({dims: logits.dims});
  }
  fs.writeFileSync(path.join(work, 'reply.json'), JSON.stringify(reply));
}

main().catch((e) => {
  console.error(String((e && e.message) || e));
  process.exit(1);
});
