#!/usr/bin/python3
"""Golden fixtures for tunebench's model zoo, made with Debian's python3-torch (1.13, the same
LibTorch as tunebench). Each family is built here from reference building blocks, not from
tunebench's code:
  - BERT: torch.nn.TransformerEncoderLayer(norm_first=False, gelu, eps 1e-12) blocks, plus the
    embeddings (word + position + token type, LayerNorm) and pooler written out below;
  - RoBERTa: the same blocks, position ids counted from padding_idx + 1;
  - DistilBERT: the same blocks, no token types, no pooler, its own key names.
Weights are random (seeded), saved under Hugging Face state-dict names in model.safetensors (and
pytorch_model.bin for one family) with config.json; a padded batch and the expected hidden states,
pooled output and classification logits go beside them in expected.safetensors.
Run: /usr/bin/python3 tests/golden/models/make_golden.py
"""
import json
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1234)


def save_safetensors(path, tensors, metadata=None):
    """The safetensors layout: u64 header length, JSON header, raw little-endian data."""
    header, blobs, offset = {}, [], 0
    dtypes = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
    for name, t in sorted(tensors.items()):
        t = t.detach().contiguous().cpu()
        data = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


class Encoder(torch.nn.Module):
    """Embeddings + post-LN blocks + pooler + classifier, the BERT family's computation."""

    def __init__(self, kind, vocab, hidden, layers, heads, inner, max_pos, type_vocab, labels, pad):
        super().__init__()
        self.kind, self.pad = kind, pad
        self.word = torch.nn.Embedding(vocab, hidden, padding_idx=pad if kind != "bert" else None)
        self.pos = torch.nn.Embedding(max_pos, hidden)
        self.types = torch.nn.Embedding(type_vocab, hidden) if kind != "distilbert" else None
        self.norm = torch.nn.LayerNorm(hidden, eps=1e-12)
        self.blocks = torch.nn.ModuleList([
            torch.nn.TransformerEncoderLayer(hidden, heads, inner, dropout=0.0, activation="gelu",
                                             layer_norm_eps=1e-12, batch_first=True, norm_first=False)
            for _ in range(layers)])
        self.pooler = torch.nn.Linear(hidden, hidden) if kind == "bert" else None
        if kind == "roberta":
            self.head_dense, self.head_out = torch.nn.Linear(hidden, hidden), torch.nn.Linear(hidden, labels)
        elif kind == "distilbert":
            self.pre, self.cls = torch.nn.Linear(hidden, hidden), torch.nn.Linear(hidden, labels)
        else:
            self.cls = torch.nn.Linear(hidden, labels)
        for p in self.parameters():  # larger than default init so that differences show
            torch.nn.init.normal_(p, std=0.2)
        for m in self.modules():  # LayerNorm scales near 1, or every layer squashes the signal
            if isinstance(m, torch.nn.LayerNorm):
                torch.nn.init.normal_(m.weight, mean=1.0, std=0.1)

    def forward(self, ids, mask, types):
        if self.kind == "roberta":  # positions count real tokens from padding_idx + 1
            positions = torch.cumsum(mask, dim=1) * mask + self.pad
        else:
            positions = torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids)
        x = self.word(ids) + self.pos(positions)
        if self.types is not None:
            x = x + self.types(types)
        x = self.norm(x)
        hidden = [x]
        for block in self.blocks:
            x = block(x, src_key_padding_mask=(mask == 0))
            hidden.append(x)
        first = x[:, 0]
        if self.kind == "bert":
            pooled = torch.tanh(self.pooler(first))
            logits = self.cls(pooled)
        elif self.kind == "roberta":
            pooled = first
            logits = self.head_out(torch.tanh(self.head_dense(first)))
        else:
            pooled = first
            logits = self.cls(torch.relu(self.pre(first)))
        return hidden, pooled, logits

    def hf_state_dict(self):
        """The weights under Hugging Face's names for *ForSequenceClassification."""
        sd, kind = {}, self.kind
        prefix = {"bert": "bert.", "roberta": "roberta.", "distilbert": "distilbert."}[kind]
        emb = prefix + "embeddings."
        sd[emb + "word_embeddings.weight"] = self.word.weight
        sd[emb + "position_embeddings.weight"] = self.pos.weight
        if self.types is not None:
            sd[emb + "token_type_embeddings.weight"] = self.types.weight
        sd[emb + "LayerNorm.weight"], sd[emb + "LayerNorm.bias"] = self.norm.weight, self.norm.bias
        for i, b in enumerate(self.blocks):
            q, k, v = b.self_attn.in_proj_weight.chunk(3)
            qb, kb, vb = b.self_attn.in_proj_bias.chunk(3)
            if kind == "distilbert":
                L = f"{prefix}transformer.layer.{i}."
                names = {"q": "attention.q_lin", "k": "attention.k_lin", "v": "attention.v_lin",
                         "o": "attention.out_lin", "n1": "sa_layer_norm", "f1": "ffn.lin1", "f2": "ffn.lin2",
                         "n2": "output_layer_norm"}
            else:
                L = f"{prefix}encoder.layer.{i}."
                names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                         "o": "attention.output.dense", "n1": "attention.output.LayerNorm",
                         "f1": "intermediate.dense", "f2": "output.dense", "n2": "output.LayerNorm"}
            for key, w, bias in (("q", q, qb), ("k", k, kb), ("v", v, vb),
                                 ("o", b.self_attn.out_proj.weight, b.self_attn.out_proj.bias),
                                 ("n1", b.norm1.weight, b.norm1.bias), ("f1", b.linear1.weight, b.linear1.bias),
                                 ("f2", b.linear2.weight, b.linear2.bias), ("n2", b.norm2.weight, b.norm2.bias)):
                sd[L + names[key] + ".weight"], sd[L + names[key] + ".bias"] = w, bias
        if kind == "bert":
            sd["bert.pooler.dense.weight"], sd["bert.pooler.dense.bias"] = self.pooler.weight, self.pooler.bias
            sd["classifier.weight"], sd["classifier.bias"] = self.cls.weight, self.cls.bias
        elif kind == "roberta":
            sd["classifier.dense.weight"], sd["classifier.dense.bias"] = self.head_dense.weight, self.head_dense.bias
            sd["classifier.out_proj.weight"], sd["classifier.out_proj.bias"] = self.head_out.weight, self.head_out.bias
        else:
            sd["pre_classifier.weight"], sd["pre_classifier.bias"] = self.pre.weight, self.pre.bias
            sd["classifier.weight"], sd["classifier.bias"] = self.cls.weight, self.cls.bias
        return {k: v.detach().clone() for k, v in sd.items()}


def config_for(kind, vocab, hidden, layers, heads, inner, max_pos, type_vocab, labels, pad):
    if kind == "distilbert":
        return {"model_type": "distilbert", "architectures": ["DistilBertForSequenceClassification"],
                "vocab_size": vocab, "dim": hidden, "n_layers": layers, "n_heads": heads, "hidden_dim": inner,
                "max_position_embeddings": max_pos, "activation": "gelu", "pad_token_id": pad,
                "id2label": {str(i): f"LABEL_{i}" for i in range(labels)}}
    arch = {"bert": "BertForSequenceClassification", "roberta": "RobertaForSequenceClassification"}[kind]
    return {"model_type": kind, "architectures": [arch], "vocab_size": vocab, "hidden_size": hidden,
            "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": inner,
            "hidden_act": "gelu", "max_position_embeddings": max_pos, "type_vocab_size": type_vocab,
            "layer_norm_eps": 1e-12, "pad_token_id": pad,
            "id2label": {str(i): f"LABEL_{i}" for i in range(labels)}}


def make(kind, bin_too=False):
    vocab, hidden, layers, heads, inner, labels = 97, 32, 2, 4, 64, 3
    pad = 1 if kind == "roberta" else 0
    max_pos, type_vocab = (40, 1) if kind == "roberta" else (32, 2)
    model = Encoder(kind, vocab, hidden, layers, heads, inner, max_pos, type_vocab, labels, pad)
    model.eval()  # dropout off; autograd stays on so the fast path (which zeroes padding) is not taken
    # A padded batch: lengths 9, 5 and 1, right padding.
    lengths = [9, 5, 1]
    ids = torch.full((3, 9), pad, dtype=torch.long)
    mask = torch.zeros((3, 9), dtype=torch.long)
    types = torch.zeros((3, 9), dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(3, vocab, (n,))
        mask[row, :n] = 1
        if kind == "bert" and n > 3:
            types[row, n // 2:n] = 1
    hidden, pooled, logits = model(ids, mask, types if kind != "distilbert" else None)
    folder = os.path.join(HERE, kind)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config_for(kind, vocab, model.norm.normalized_shape[0], layers, heads, inner, max_pos,
                             type_vocab, labels, pad), f, indent=2)
    sd = model.hf_state_dict()
    save_safetensors(os.path.join(folder, "model.safetensors"), sd, {"format": "pt"})
    if bin_too:
        torch.save(sd, os.path.join(folder, "pytorch_model.bin"))
    expected = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "pooled": pooled,
                "logits": logits, "last_hidden_state": hidden[-1]}
    for i, h in enumerate(hidden):
        expected[f"hidden_states.{i}"] = h
    save_safetensors(os.path.join(folder, "expected.safetensors"), {k: v.detach() for k, v in expected.items()})
    with open(os.path.join(folder, "keys.txt"), "w") as f:
        f.write("\n".join(sorted(sd)) + "\n")
    print(kind, "logits", logits.detach().numpy().round(4).tolist())




class Gpt2(torch.nn.Module):
    """GPT-2 from reference blocks: TransformerEncoderLayer(norm_first=True, tanh GELU) with a
    causal mask, learned positions, a final LayerNorm and an LM head tied to the embeddings."""

    def __init__(self, vocab=101, hidden=32, layers=2, heads=4, positions=48):
        super().__init__()
        gelu = lambda x: torch.nn.functional.gelu(x, approximate="tanh")
        self.wte, self.wpe = torch.nn.Embedding(vocab, hidden), torch.nn.Embedding(positions, hidden)
        self.blocks = torch.nn.ModuleList([
            torch.nn.TransformerEncoderLayer(hidden, heads, 4 * hidden, dropout=0.0, activation=gelu,
                                             layer_norm_eps=1e-5, batch_first=True, norm_first=True)
            for _ in range(layers)])
        self.ln_f = torch.nn.LayerNorm(hidden, eps=1e-5)
        for p in self.parameters():
            torch.nn.init.normal_(p, std=0.2)
        for m in self.modules():
            if isinstance(m, torch.nn.LayerNorm):
                torch.nn.init.normal_(m.weight, mean=1.0, std=0.1)
        self.config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": vocab,
                       "n_embd": hidden, "n_layer": layers, "n_head": heads, "n_positions": positions,
                       "n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
                       "bos_token_id": vocab - 1, "eos_token_id": vocab - 1, "tie_word_embeddings": True}

    def forward(self, ids, mask):
        t = ids.shape[1]
        causal = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        x = self.wte(ids) + self.wpe(torch.arange(t).unsqueeze(0))
        hidden = [x]
        for block in self.blocks:
            x = block(x, src_mask=causal, src_key_padding_mask=(mask == 0))
            hidden.append(x)
        x = self.ln_f(x)
        return hidden, x, x @ self.wte.weight.t()

    def hf_state_dict(self):
        sd = {"transformer.wte.weight": self.wte.weight, "transformer.wpe.weight": self.wpe.weight,
              "transformer.ln_f.weight": self.ln_f.weight, "transformer.ln_f.bias": self.ln_f.bias}
        for i, b in enumerate(self.blocks):
            h = f"transformer.h.{i}."
            # GPT-2's Conv1D stores weights [in, out]: the transpose of nn.Linear's.
            sd[h + "ln_1.weight"], sd[h + "ln_1.bias"] = b.norm1.weight, b.norm1.bias
            sd[h + "attn.c_attn.weight"], sd[h + "attn.c_attn.bias"] = b.self_attn.in_proj_weight.t(), b.self_attn.in_proj_bias
            sd[h + "attn.c_proj.weight"], sd[h + "attn.c_proj.bias"] = b.self_attn.out_proj.weight.t(), b.self_attn.out_proj.bias
            sd[h + "ln_2.weight"], sd[h + "ln_2.bias"] = b.norm2.weight, b.norm2.bias
            sd[h + "mlp.c_fc.weight"], sd[h + "mlp.c_fc.bias"] = b.linear1.weight.t(), b.linear1.bias
            sd[h + "mlp.c_proj.weight"], sd[h + "mlp.c_proj.bias"] = b.linear2.weight.t(), b.linear2.bias
        return {k: v.detach().clone().contiguous() for k, v in sd.items()}


def make_gpt2():
    model = Gpt2()
    model.eval()
    lengths = [7, 4, 1]
    ids = torch.zeros((3, 7), dtype=torch.long)
    mask = torch.zeros((3, 7), dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(0, 100, (n,))
        mask[row, :n] = 1
    hidden, final, logits = model(ids, mask)
    folder = os.path.join(HERE, "gpt2")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(model.config, f, indent=2)
    sd = model.hf_state_dict()
    save_safetensors(os.path.join(folder, "model.safetensors"), sd, {"format": "pt"})
    expected = {"input_ids": ids, "attention_mask": mask, "logits": logits, "final_hidden": final}
    for i, h in enumerate(hidden):
        expected[f"hidden_states.{i}"] = h
    # Greedy continuation of the first prompt, 12 tokens, without cache (the reference recomputes all).
    prompt = ids[:1, :7]
    generated = prompt
    for _ in range(12):
        _, _, step = model(generated, torch.ones_like(generated))
        generated = torch.cat([generated, step[:, -1].argmax(-1, keepdim=True)], dim=1)
    expected["greedy"] = generated[0, 7:]
    save_safetensors(os.path.join(folder, "expected.safetensors"), {k: v.detach() for k, v in expected.items()})
    print("gpt2 greedy", generated[0, 7:].tolist())




def load_torchtext_t5():
    """torchtext 0.14's T5 (Debian python3-torchtext): its package __init__ fails to import (a broken
    C extension), but the model files need only torch, so they are loaded by path."""
    import importlib.util
    import sys
    import types
    folder = "/usr/lib/python3/dist-packages/torchtext/prototype/models/t5"
    pkg = types.ModuleType("t5ref")
    pkg.__path__ = [folder]
    sys.modules["t5ref"] = pkg
    for name in ("modules", "model"):
        spec = importlib.util.spec_from_file_location(f"t5ref.{name}", f"{folder}/{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"t5ref.{name}"] = module
        spec.loader.exec_module(module)
    return sys.modules["t5ref.model"]


def make_t5(version):
    ref = load_torchtext_t5()
    gated = version == "v1_1"
    conf = ref.T5Conf(encoder_only=False, linear_head=not gated, embedding_dim=32, qkv_dim=8, num_attention_heads=4,
                      num_encoder_layers=2, num_decoder_layers=2, ffn_dimension=64, dropout=0.0,
                      relative_attention_num_buckets=8, relative_attention_max_distance=20, vocab_size=60,
                      padding_idx=0, training=False)
    model = ref.T5Model(conf)
    # torchtext 0.14 builds the decoder's self-attention with is_decoder=False (T5EncoderLayer's
    # constructor hard-codes it), so its relative-position buckets are bidirectional there. T5 (Mesh
    # TensorFlow, Hugging Face) buckets the decoder causally; the flag only chooses the buckets.
    for layer in model.decoder.layers:
        layer.self_attn.is_decoder = True
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    for m in model.modules():
        if type(m).__name__ == "T5LayerNorm":
            torch.nn.init.normal_(m.weight, mean=1.0, std=0.1)
    untied = None
    if gated:  # T5 v1.1: gated GELU (tanh) feed-forward, untied LM head without rescaling
        gelu = lambda x: torch.nn.functional.gelu(x, approximate="tanh")
        for layer in list(model.encoder.layers) + list(model.decoder.layers):
            layer.wi_1 = torch.nn.Linear(32, 64, bias=False)
            torch.nn.init.normal_(layer.wi_1.weight, std=0.3)
            layer._ff_block = (lambda l: lambda x: l.linear2(gelu(l.linear1(x)) * l.wi_1(x)))(layer)
        untied = torch.randn(60, 32) * 0.3
    else:
        model.lm_head.weight = model.token_embeddings.weight  # tied, as t5-small
    model.eval()
    enc = torch.zeros((2, 7), dtype=torch.long)
    enc[0, :7] = torch.randint(1, 60, (7,))
    enc[1, :4] = torch.randint(1, 60, (4,))
    dec = torch.cat([torch.zeros((2, 1), dtype=torch.long), torch.randint(1, 60, (2, 4))], dim=1)
    with torch.no_grad():
        out = model(enc, dec)
        logits = out["decoder_output"] if not gated else out["decoder_output"] @ untied.t()
        # Greedy decoding of the first input, 10 tokens, recomputing everything each step.
        generated = torch.zeros((1, 1), dtype=torch.long)
        for _ in range(10):
            step = model(enc[:1], generated)["decoder_output"]
            step = step if not gated else step @ untied.t()
            generated = torch.cat([generated, step[:, -1].argmax(-1, keepdim=True)], dim=1)
    sd = {"shared.weight": model.token_embeddings.weight,
          "encoder.final_layer_norm.weight": model.norm1.weight, "decoder.final_layer_norm.weight": model.norm2.weight}
    if gated:
        sd["lm_head.weight"] = untied
    for side, layers in (("encoder", model.encoder.layers), ("decoder", model.decoder.layers)):
        for i, l in enumerate(layers):
            b = f"{side}.block.{i}.layer."
            a = l.self_attn
            sd[b + "0.SelfAttention.q.weight"], sd[b + "0.SelfAttention.k.weight"] = a.q_proj_weight, a.k_proj_weight
            sd[b + "0.SelfAttention.v.weight"], sd[b + "0.SelfAttention.o.weight"] = a.v_proj_weight, a.out_proj.weight
            if a.relative_attention_bias is not None:
                sd[b + "0.SelfAttention.relative_attention_bias.weight"] = a.relative_attention_bias.weight
            sd[b + "0.layer_norm.weight"] = l.norm1.weight
            ff = "2" if side == "decoder" else "1"
            if side == "decoder":
                c = l.cross_attn
                sd[b + "1.EncDecAttention.q.weight"], sd[b + "1.EncDecAttention.k.weight"] = c.q_proj_weight, c.k_proj_weight
                sd[b + "1.EncDecAttention.v.weight"], sd[b + "1.EncDecAttention.o.weight"] = c.v_proj_weight, c.out_proj.weight
                sd[b + "1.layer_norm.weight"] = l.norm3.weight
            if gated:
                sd[b + ff + ".DenseReluDense.wi_0.weight"], sd[b + ff + ".DenseReluDense.wi_1.weight"] = l.linear1.weight, l.wi_1.weight
            else:
                sd[b + ff + ".DenseReluDense.wi.weight"] = l.linear1.weight
            sd[b + ff + ".DenseReluDense.wo.weight"] = l.linear2.weight
            sd[b + ff + ".layer_norm.weight"] = l.norm2.weight
    folder = os.path.join(HERE, f"t5_{version}")
    os.makedirs(folder, exist_ok=True)
    config = {"model_type": "t5", "architectures": ["T5ForConditionalGeneration"], "vocab_size": 60, "d_model": 32,
              "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_decoder_layers": 2, "num_heads": 4,
              "relative_attention_num_buckets": 8, "relative_attention_max_distance": 20,
              "layer_norm_epsilon": 1e-6, "feed_forward_proj": "gated-gelu" if gated else "relu",
              "tie_word_embeddings": not gated, "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    save_safetensors(os.path.join(folder, "model.safetensors"), {k: v.detach().clone().contiguous() for k, v in sd.items()})
    save_safetensors(os.path.join(folder, "expected.safetensors"),
                     {"encoder_ids": enc, "decoder_ids": dec, "encoder_output": out["encoder_output"],
                      "logits": logits, "greedy": generated[0, 1:]})
    print(f"t5 {version} greedy", generated[0, 1:].tolist())


if __name__ == "__main__":  # in this order: the seeded generator is shared
    make("bert", bin_too=True)
    make("roberta")
    make("distilbert")
    make_gpt2()
    make_t5("v1_0")
    make_t5("v1_1")
