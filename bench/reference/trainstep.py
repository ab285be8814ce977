#!/usr/bin/python3
"""The PyTorch eager reference for bench/trainstep.sh: the same BERT-shaped sequence classifier as
bench_trainstep (embeddings, post-LN blocks with separate query/key/value projections, GELU FFN,
pooler, classifier; dropout 0.1), written the way Hugging Face's modeling_bert computes it, with
AdamW, optional LoRA (r=8, alpha=16 on query and value) and optional bf16 autocast on the CPU.
Random weights and token ids, every sequence the full length. Prints one JSON line.
Run with Debian's python3-torch (the same LibTorch 1.13 as tunebench):
  /usr/bin/python3 bench/reference/trainstep.py --layers 4 --hidden 256 --precision bf16 --strategy lora
--mode infer: forward passes only, as PyTorch serves a model (eval(), torch.inference_mode(), bf16
autocast when asked).
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


class LoraLinear(torch.nn.Module):
    def __init__(self, base, r=8, alpha=16):
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.a = torch.nn.Parameter(torch.empty(r, base.in_features))
        self.b = torch.nn.Parameter(torch.zeros(base.out_features, r))
        torch.nn.init.kaiming_uniform_(self.a, a=math.sqrt(5))
        self.scale = alpha / r

    def forward(self, x):
        return self.base(x) + (x @ self.a.t() @ self.b.t()) * self.scale


class Layer(torch.nn.Module):
    def __init__(self, hidden, heads, inner):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (torch.nn.Linear(hidden, hidden) for _ in range(3))
        self.attn_out = torch.nn.Linear(hidden, hidden)
        self.attn_norm = torch.nn.LayerNorm(hidden, eps=1e-12)
        self.ffn_in, self.ffn_out = torch.nn.Linear(hidden, inner), torch.nn.Linear(inner, hidden)
        self.out_norm = torch.nn.LayerNorm(hidden, eps=1e-12)
        self.dropout = torch.nn.Dropout(0.1)

    def forward(self, x, mask):
        b, t, h = x.shape
        d = h // self.heads
        split = lambda y: y.view(b, t, self.heads, d).transpose(1, 2)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + mask
        probs = self.dropout(torch.softmax(scores, dim=-1))
        context = (probs @ v).transpose(1, 2).reshape(b, t, h)
        x = self.attn_norm(x + self.dropout(self.attn_out(context)))
        return self.out_norm(x + self.dropout(self.ffn_out(F.gelu(self.ffn_in(x)))))


class Classifier(torch.nn.Module):
    def __init__(self, layers, hidden, vocab=30522):
        super().__init__()
        self.words = torch.nn.Embedding(vocab, hidden)
        self.positions = torch.nn.Embedding(512, hidden)
        self.types = torch.nn.Embedding(2, hidden)
        self.norm = torch.nn.LayerNorm(hidden, eps=1e-12)
        self.dropout = torch.nn.Dropout(0.1)
        self.layers = torch.nn.ModuleList(Layer(hidden, hidden // 64, 4 * hidden) for _ in range(layers))
        self.pooler = torch.nn.Linear(hidden, hidden)
        self.classifier = torch.nn.Linear(hidden, 2)

    def forward(self, ids, mask, types):
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.dropout(self.norm(self.words(ids) + self.positions(positions) + self.types(types)))
        additive = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, additive)
        return self.classifier(self.dropout(torch.tanh(self.pooler(x[:, 0]))))


def infer(model, ids, mask, types, a):
    model.eval()
    times = []
    for step in range(a.warmup + a.steps):
        start = time.perf_counter()
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            model(ids, mask, types).float()
        if step >= a.warmup:
            times.append(time.perf_counter() - start)
    times.sort()
    print(json.dumps({"engine": "pytorch", "mode": "infer", "layers": a.layers, "hidden": a.hidden,
                      "precision": a.precision, "batch": a.batch, "seq": a.seq, "threads": torch.get_num_threads(),
                      "tokens_per_s": a.batch * a.seq / times[len(times) // 2]}))


def main():
    ap = argparse.ArgumentParser()
    for name, default in [("layers", 4), ("hidden", 256), ("batch", 16), ("seq", 128), ("steps", 8),
                          ("warmup", 2), ("threads", 0)]:
        ap.add_argument("--" + name, type=int, default=default)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--strategy", default="full")
    ap.add_argument("--profile", default="")
    ap.add_argument("--mode", default="train")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Classifier(a.layers, a.hidden)
    if a.strategy == "lora":
        for p in model.parameters():
            p.requires_grad_(False)
        for layer in model.layers:
            layer.query, layer.value = LoraLinear(layer.query), LoraLinear(layer.value)
        for p in model.classifier.parameters():
            p.requires_grad_(True)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=2e-5, weight_decay=0.01)
    ids = torch.randint(1000, 30000, (a.batch, a.seq))
    mask = torch.ones(a.batch, a.seq, dtype=torch.long)
    types = torch.zeros(a.batch, a.seq, dtype=torch.long)
    labels = torch.randint(0, 2, (a.batch,))
    if a.mode == "infer":
        return infer(model, ids, mask, types, a)
    model.train()
    times, phases = [], []
    total = a.warmup + a.steps + (1 if a.profile else 0)
    for step in range(total):
        if step == a.warmup + a.steps:  # --profile FILE: one more step under the (legacy) profiler
            recording = torch.autograd.profiler.profile(use_kineto=False)
            recording.__enter__()
        start = time.perf_counter()
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            loss = F.cross_entropy(model(ids, mask, types).float(), labels)
        forward = time.perf_counter()
        loss.backward()
        backward = time.perf_counter()
        optimizer.step()
        if step == a.warmup + a.steps:
            recording.__exit__(None, None, None)
            recording.export_chrome_trace(a.profile)
        elif step >= a.warmup:
            times.append(time.perf_counter() - start)
            phases.append((forward - start, backward - forward, time.perf_counter() - backward))
    times.sort()
    median = times[len(times) // 2]
    phase = [sorted(p[i] for p in phases)[len(phases) // 2] for i in range(3)]
    print(json.dumps({"engine": "pytorch", "layers": a.layers, "hidden": a.hidden, "precision": a.precision,
                      "strategy": a.strategy, "batch": a.batch, "seq": a.seq, "threads": torch.get_num_threads(),
                      "step_s": median, "tokens_per_s": a.batch * a.seq / median,
                      "forward_s": phase[0], "backward_s": phase[1], "optimizer_s": phase[2],
                      "trainable": sum(p.numel() for p in params)}))


if __name__ == "__main__":
    main()
