#!/usr/bin/python3
"""Logits of an exported Hugging Face folder computed by the reference modules of make_golden.py
(Debian python3-torch) instead of tunebench: *ForSequenceClassification and *ForTokenClassification
of BERT, RoBERTa and DistilBERT, and GPT2LMHeadModel. The folder's weights are read under the
reference class's key names (the inverse of make_golden's hf_state_dict), so a key tunebench wrote
under a wrong name or a transposed weight shows as a KeyError or a different logit.
Usage: check_export.py FOLDER INPUTS.safetensors OUT.safetensors
  INPUTS: input_ids, attention_mask (int64 [batch, time]); OUT: logits (float32).
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden  # noqa: E402

DTYPES = {"F32": torch.float32, "I64": torch.int64, "F16": torch.float16, "BF16": torch.bfloat16}


def load_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        a, b = h["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=DTYPES[h["dtype"]]).reshape(h["shape"])
    return out


def put(param, value):
    with torch.no_grad():
        param.copy_(value.to(param.dtype))


def encoder(config, sd, token):
    kind = config["model_type"]
    if kind == "distilbert":
        hidden, layers, heads, inner, types = config["dim"], config["n_layers"], config["n_heads"], config["hidden_dim"], 1
    else:
        hidden, layers, heads = config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"]
        inner, types = config["intermediate_size"], config.get("type_vocab_size", 2)
    labels = len(config["id2label"])
    model = make_golden.Encoder(kind, config["vocab_size"], hidden, layers, heads, inner,
                                config["max_position_embeddings"], types, labels, config.get("pad_token_id", 0))
    p, e = kind + ".", kind + ".embeddings."
    put(model.word.weight, sd.pop(e + "word_embeddings.weight"))
    put(model.pos.weight, sd.pop(e + "position_embeddings.weight"))
    if model.types is not None:
        put(model.types.weight, sd.pop(e + "token_type_embeddings.weight"))
    put(model.norm.weight, sd.pop(e + "LayerNorm.weight"))
    put(model.norm.bias, sd.pop(e + "LayerNorm.bias"))
    for i, b in enumerate(model.blocks):
        if kind == "distilbert":
            L = f"{p}transformer.layer.{i}."
            n = {"q": "attention.q_lin", "k": "attention.k_lin", "v": "attention.v_lin", "o": "attention.out_lin",
                 "n1": "sa_layer_norm", "f1": "ffn.lin1", "f2": "ffn.lin2", "n2": "output_layer_norm"}
        else:
            L = f"{p}encoder.layer.{i}."
            n = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                 "o": "attention.output.dense", "n1": "attention.output.LayerNorm", "f1": "intermediate.dense",
                 "f2": "output.dense", "n2": "output.LayerNorm"}
        g = lambda key, leaf: sd.pop(L + n[key] + "." + leaf)  # noqa: E731
        put(b.self_attn.in_proj_weight, torch.cat([g("q", "weight"), g("k", "weight"), g("v", "weight")]))
        put(b.self_attn.in_proj_bias, torch.cat([g("q", "bias"), g("k", "bias"), g("v", "bias")]))
        for module, key in ((b.self_attn.out_proj, "o"), (b.norm1, "n1"), (b.linear1, "f1"), (b.linear2, "f2"),
                            (b.norm2, "n2")):
            put(module.weight, g(key, "weight"))
            put(module.bias, g(key, "bias"))
    head = None
    if token:
        head = (sd.pop("classifier.weight"), sd.pop("classifier.bias"))
    elif kind == "bert":
        for module, key in ((model.pooler, "bert.pooler.dense"), (model.cls, "classifier")):
            put(module.weight, sd.pop(key + ".weight"))
            put(module.bias, sd.pop(key + ".bias"))
    elif kind == "roberta":
        for module, key in ((model.head_dense, "classifier.dense"), (model.head_out, "classifier.out_proj")):
            put(module.weight, sd.pop(key + ".weight"))
            put(module.bias, sd.pop(key + ".bias"))
    else:
        for module, key in ((model.pre, "pre_classifier"), (model.cls, "classifier")):
            put(module.weight, sd.pop(key + ".weight"))
            put(module.bias, sd.pop(key + ".bias"))
    if sd:
        raise SystemExit(f"tensors the reference class has no place for: {sorted(sd)}")
    model.eval()

    def run(ids, mask):
        types = torch.zeros_like(ids) if model.types is not None else None
        hidden_states, _, logits = model(ids, mask, types)
        return hidden_states[-1] @ head[0].t() + head[1] if token else logits
    return run


def gpt2(config, sd):
    model = make_golden.Gpt2(vocab=config["vocab_size"], hidden=config["n_embd"], layers=config["n_layer"],
                             heads=config["n_head"], positions=config["n_positions"])
    put(model.wte.weight, sd.pop("transformer.wte.weight"))
    put(model.wpe.weight, sd.pop("transformer.wpe.weight"))
    put(model.ln_f.weight, sd.pop("transformer.ln_f.weight"))
    put(model.ln_f.bias, sd.pop("transformer.ln_f.bias"))
    for i, b in enumerate(model.blocks):
        h = f"transformer.h.{i}."
        put(b.norm1.weight, sd.pop(h + "ln_1.weight"))
        put(b.norm1.bias, sd.pop(h + "ln_1.bias"))
        put(b.norm2.weight, sd.pop(h + "ln_2.weight"))
        put(b.norm2.bias, sd.pop(h + "ln_2.bias"))
        # Conv1D stores [in, out]: the transpose of the reference's Linear weights.
        for module, key in ((b.self_attn, "attn.c_attn"), (b.self_attn.out_proj, "attn.c_proj"),
                            (b.linear1, "mlp.c_fc"), (b.linear2, "mlp.c_proj")):
            weight = sd.pop(h + key + ".weight").t()
            if module is b.self_attn:
                put(module.in_proj_weight, weight)
                put(module.in_proj_bias, sd.pop(h + key + ".bias"))
            else:
                put(module.weight, weight)
                put(module.bias, sd.pop(h + key + ".bias"))
    if sd:
        raise SystemExit(f"tensors the reference class has no place for: {sorted(sd)}")
    model.eval()
    return lambda ids, mask: model(ids, mask)[2]


def main():
    folder, inputs, out = sys.argv[1:4]
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    sd = load_safetensors(os.path.join(folder, "model.safetensors"))
    architecture = config["architectures"][0]
    if architecture == "GPT2LMHeadModel":
        run = gpt2(config, sd)
    elif architecture.endswith("ForSequenceClassification") or architecture.endswith("ForTokenClassification"):
        run = encoder(config, sd, architecture.endswith("ForTokenClassification"))
    else:
        raise SystemExit(f"{architecture}: not a class this reference computes")
    x = load_safetensors(inputs)
    # Autograd stays on, as in make_golden.py: PyTorch's inference fast path would zero the padding.
    logits = run(x["input_ids"], x["attention_mask"]).detach()
    make_golden.save_safetensors(out, {"logits": logits.float()})


if __name__ == "__main__":
    main()
