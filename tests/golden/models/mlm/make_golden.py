#!/usr/bin/python3
"""Golden fixtures for the masked-LM heads (BertForMaskedLM, RobertaForMaskedLM,
DistilBertForMaskedLM), made with Debian's python3-torch 1.13 from the textbook formula, not from
tunebench's code: logits = LayerNorm(gelu(h · Wᵀ + b)) · Eᵀ + bias, where h is the encoder's last
hidden state that ../make_golden.py computed with reference blocks, and E the family's word
embeddings. The head weights are random (seeded) and saved under Hugging Face's names, with the
tied decoder weights as real checkpoints carry them.
Run: /usr/bin/python3 tests/golden/models/mlm/make_golden.py
"""
import json
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from make_golden import save_safetensors  # noqa: E402

torch.manual_seed(4321)


def load_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    dtypes = {"F32": torch.float32, "I64": torch.int64}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtypes[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out


NAMES = {  # dense, norm, bias, decoder weight (tied), family prefix
    "bert": ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm", "cls.predictions.bias",
             "cls.predictions.decoder.weight", "bert."),
    "roberta": ("lm_head.dense", "lm_head.layer_norm", "lm_head.bias", "lm_head.decoder.weight", "roberta."),
    "distilbert": ("vocab_transform", "vocab_layer_norm", "vocab_projector.bias", "vocab_projector.weight",
                   "distilbert."),
}

for family, (dense, norm, bias, decoder, prefix) in NAMES.items():
    folder = os.path.join(os.path.dirname(HERE), family)
    weights = load_safetensors(os.path.join(folder, "model.safetensors"))
    expected = load_safetensors(os.path.join(folder, "expected.safetensors"))
    embeddings = weights[prefix + "embeddings.word_embeddings.weight"]
    vocab, hidden = embeddings.shape
    eps = 1e-12
    head = {
        dense + ".weight": torch.randn(hidden, hidden) * 0.2,
        dense + ".bias": torch.randn(hidden) * 0.2,
        norm + ".weight": 1.0 + torch.randn(hidden) * 0.1,
        norm + ".bias": torch.randn(hidden) * 0.1,
        bias: torch.randn(vocab) * 0.5,
        decoder: embeddings.clone(),
    }
    h = expected["last_hidden_state"]
    x = torch.nn.functional.linear(h, head[dense + ".weight"], head[dense + ".bias"])
    x = torch.nn.functional.gelu(x)
    x = torch.nn.functional.layer_norm(x, (hidden,), head[norm + ".weight"], head[norm + ".bias"], eps)
    logits = x @ embeddings.t() + head[bias]
    save_safetensors(os.path.join(HERE, family + "_head.safetensors"), head)
    save_safetensors(os.path.join(HERE, family + "_expected.safetensors"), {"logits": logits})
    print(family, tuple(logits.shape))
