#!/usr/bin/python3
"""The reference recipe for bench/timetotarget.sh: the default sentiment task (Pang & Lee sentences,
the same stratified split as the tunebench run, read from its split.json) with the Universal
Sentence Encoder Lite read from its TF.js folder into a PyTorch module written here (pre-LN
encoder layers with a fused qkv map, ReLU FFN, masked mean pooling, tanh dense, L2 norm), and a
linear head on the sentence embedding (dropout 0.1, weights N(0, 0.02)). Trained the way the
Hugging Face Trainer does by default: AdamW lr 5e-5, weight decay 0, batch 8, linear decay without
warm-up, 3 epochs, fp32, each batch padded to its longest sequence, no length bucketing, gradient
clipping at 1.0. Validation accuracy is measured every --eval-examples training examples; the
timer runs from the first step (model and data loading excluded). Prints one JSON line per
evaluation and a final summary line. Token ids come from tunebench's tokenizer (--ids: one JSON
list per dataset row, made by `tunebench-cli tokenize`), so both sides train on the same inputs.
  /usr/bin/python3 bench/reference/timetotarget.py --model DIR --data CSV --split RUN/split.json \
      --ids ids.jsonl --target 0.75
"""
import argparse
import csv
import json
import math
import os
import random
import struct
import time

import torch
import torch.nn.functional as F


def read_tfjs(folder):
    """name -> tensor for every weight in a TF.js graph model's manifest."""
    with open(os.path.join(folder, "model.json")) as f:
        manifest = json.load(f)["weightsManifest"]
    out = {}
    for group in manifest:
        blob = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
        at = 0
        for w in group["weights"]:
            count = math.prod(w["shape"]) if w["shape"] else 1
            if w["dtype"] == "float32":
                values = struct.unpack_from("<%df" % count, blob, at)
                t = torch.tensor(values, dtype=torch.float32)
            else:
                values = struct.unpack_from("<%di" % count, blob, at)
                t = torch.tensor(values, dtype=torch.int64)
            at += 4 * count
            out[w["name"]] = t.reshape(w["shape"]) if w["shape"] else t.reshape(())
    return out


def ending(weights, suffix):
    hits = [t for name, t in weights.items() if name.endswith(suffix)]
    if len(hits) != 1:
        raise KeyError("%d weights end with %s" % (len(hits), suffix))
    return hits[0]


class Layer(torch.nn.Module):
    def __init__(self, width, hidden, heads, ffn, eps, dropout):
        super().__init__()
        self.heads = heads
        self.norm = torch.nn.LayerNorm(width, eps=eps)
        self.qkv = torch.nn.Linear(width, 3 * width)
        self.out = torch.nn.Linear(width, hidden)
        self.residual = torch.nn.Linear(width, hidden) if width != hidden else None
        self.ffn_norm = torch.nn.LayerNorm(hidden, eps=eps)
        self.fc1 = torch.nn.Linear(hidden, ffn)
        self.fc2 = torch.nn.Linear(ffn, hidden)
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x, additive):
        b, t, w = x.shape
        q, k, v = self.qkv(self.norm(x)).split(w, -1)
        heads = lambda z: z.view(b, t, self.heads, w // self.heads).transpose(1, 2)
        q, k, v = heads(q) / math.sqrt(w // self.heads), heads(k), heads(v)
        context = torch.softmax(q @ k.transpose(-1, -2) + additive, -1) @ v
        context = context.transpose(1, 2).reshape(b, t, w)
        y = self.dropout(self.out(context)) + (self.residual(x) if self.residual is not None else x)
        return y + self.dropout(self.fc2(torch.relu(self.fc1(self.ffn_norm(y)))))


class UseLiteClassifier(torch.nn.Module):
    def __init__(self, folder, classes, dropout=0.1):
        super().__init__()
        w = read_tfjs(folder)
        emb = ending(w, "module/Embeddings_en")
        layers = sorted({int(n.split("/Encode/Layer_")[1].split("/")[0]) for n in w if "/Encode/Layer_" in n})
        stack = "Encode/TransformerStack/Layer_1/TransformerLayer/"
        heads = int(ending(w, stack + "MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/2"))
        eps = float(ending(w, stack + "FFN/layer_prepostprocess/layer_norm/Cast/x"))
        self.max_length = int(ending(w, "ClipToMaxLength/Less/y"))
        hidden = ending(w, "hidden_layers/tanh_layer_0/weights").shape[0]
        ffn = ending(w, "Encode/TransformerStack/Layer_0/TransformerLayer/FFN/conv1/Tensordot/Reshape_1").shape[1]
        self.embeddings = torch.nn.Embedding(emb.shape[0], emb.shape[1])
        self.layers = torch.nn.ModuleList(
            Layer(emb.shape[1] if i == 0 else hidden, hidden, heads, ffn, eps, dropout) for i in layers)
        self.pooler = torch.nn.Linear(hidden, hidden)
        self.register_buffer("inv_timescales", ending(w, "Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1").reshape(-1))
        self.head_dropout = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(hidden, classes)
        torch.nn.init.normal_(self.head.weight, std=0.02)
        torch.nn.init.zeros_(self.head.bias)

        def set_linear(lin, kernel, bias):  # TF kernels are [in, out]
            lin.weight.copy_(kernel.reshape(kernel.shape[-2], kernel.shape[-1]).t())
            lin.bias.copy_(bias)

        with torch.no_grad():
            self.embeddings.weight.copy_(emb)
            for i, layer in zip(layers, self.layers):
                L = "Encode/Layer_%d/TransformerLayer/" % i
                S = "Encode/TransformerStack/Layer_%d/TransformerLayer/" % i
                pp = "layer_prepostprocess/layer_norm/layer_norm_"
                layer.norm.weight.copy_(ending(w, L + pp + "scale/ConcatPartitions/concat"))
                layer.norm.bias.copy_(ending(w, L + pp + "bias/ConcatPartitions/concat"))
                set_linear(layer.qkv, ending(w, L + "MultiheadAttention/qkv_transform_single/kernel/part_0"),
                           ending(w, L + "MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat"))
                set_linear(layer.out, ending(w, L + "MultiheadAttention/output_transform_single/kernel/part_0"),
                           ending(w, L + "MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat"))
                if layer.residual is not None:
                    set_linear(layer.residual, ending(w, L + "dense/kernel/ConcatPartitions/concat"),
                               ending(w, L + "dense/bias/ConcatPartitions/concat"))
                layer.ffn_norm.weight.copy_(ending(w, L + "FFN/" + pp + "scale/ConcatPartitions/concat"))
                layer.ffn_norm.bias.copy_(ending(w, L + "FFN/" + pp + "bias/ConcatPartitions/concat"))
                set_linear(layer.fc1, ending(w, S + "FFN/conv1/Tensordot/Reshape_1"),
                           ending(w, L + "FFN/conv1/bias/ConcatPartitions/concat"))
                set_linear(layer.fc2, ending(w, S + "FFN/conv2/Tensordot/Reshape_1"),
                           ending(w, L + "FFN/conv2/bias/ConcatPartitions/concat"))
            set_linear(self.pooler, ending(w, "hidden_layers/tanh_layer_0/weights"),
                       ending(w, "hidden_layers/tanh_layer_0/bias"))

    def forward(self, ids, mask):
        m = mask.to(torch.float32).unsqueeze(-1)
        t = ids.shape[1]
        angles = torch.arange(t, dtype=torch.float32).unsqueeze(1) * self.inv_timescales.unsqueeze(0)
        timing = torch.cat([torch.sin(angles), torch.cos(angles)], 1).unsqueeze(0)
        x = (2.0 * self.embeddings(ids) + timing) * m
        additive = ((1.0 - m.squeeze(-1)) * -1e9).view(ids.shape[0], 1, 1, t)
        for layer in self.layers:
            x = layer(x, additive)
        pooled = (x * m).sum(1) / m.sum(1).clamp_min(1.0)
        e = torch.tanh(self.pooler(pooled))
        e = e * torch.rsqrt(e.pow(2).sum(-1, keepdim=True).clamp_min(1e-12))
        return self.head(self.head_dropout(e))


def batches(rows, ids, labels, size):
    for at in range(0, len(rows), size):
        chunk = rows[at:at + size]
        longest = max(len(ids[r]) for r in chunk)  # padded to the longest in the batch
        x = torch.zeros(len(chunk), longest, dtype=torch.int64)
        mask = torch.zeros(len(chunk), longest, dtype=torch.int64)
        for i, r in enumerate(chunk):
            x[i, :len(ids[r])] = torch.tensor(ids[r])
            mask[i, :len(ids[r])] = 1
        yield x, mask, torch.tensor([labels[r] for r in chunk])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--ids", required=True)
    p.add_argument("--target", type=float, default=0.75)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--eval-examples", type=int, default=800)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--stop-at-target", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    random.seed(a.seed)

    with open(a.data, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    names = sorted({r["label"] for r in rows})
    labels = [names.index(r["label"]) for r in rows]
    with open(a.ids) as f:
        ids = [json.loads(line) for line in f]
    if len(ids) != len(rows):
        raise SystemExit("%s: %d id lists for %d rows" % (a.ids, len(ids), len(rows)))
    with open(a.split) as f:
        split = json.load(f)
    model = UseLiteClassifier(a.model, len(names))
    ids = [x[:model.max_length] or [0] for x in ids]
    train, validation = list(split["train"]), split["validation"]
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.0)
    steps = a.epochs * math.ceil(len(train) / a.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, (steps - s) / steps))

    def evaluate():
        model.eval()
        right = 0
        with torch.no_grad():
            for x, mask, y in batches(validation, ids, labels, 64):
                right += int((model(x, mask).argmax(-1) == y).sum())
        model.train()
        return right / len(validation)

    start = time.perf_counter()
    seen, next_eval, reached = 0, a.eval_examples, None
    model.train()
    for epoch in range(a.epochs):
        random.shuffle(train)
        for x, mask, y in batches(train, ids, labels, a.batch):
            loss = F.cross_entropy(model(x, mask), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            seen += len(y)
            if seen >= next_eval:
                next_eval += a.eval_examples
                accuracy = evaluate()
                elapsed = time.perf_counter() - start
                print(json.dumps({"examples": seen, "seconds": elapsed, "accuracy": accuracy}), flush=True)
                if reached is None and accuracy >= a.target:
                    reached = elapsed
                    if a.stop_at_target:
                        break
        if reached is not None and a.stop_at_target:
            break
    print(json.dumps({"summary": True, "target": a.target, "seconds_to_target": reached,
                      "final_accuracy": evaluate(), "seconds": time.perf_counter() - start}), flush=True)


if __name__ == "__main__":
    main()
