#!/usr/bin/python3
"""Reference key names of the Hugging Face classes tunebench's exports claim (export_keys.json),
from the reference modules of make_golden.py (Debian python3-torch): each class's state-dict names
for 2-layer models, as transformers names them —
  *ForSequenceClassification: the family's encoder under its prefix and its own head
    (make_golden.Encoder.hf_state_dict);
  *ForTokenClassification: the encoder without a pooler (transformers builds it with
    add_pooling_layer=False) and one linear "classifier";
  GPT2ForSequenceClassification: "transformer." and a bias-free "score"; GPT2ForTokenClassification:
    "transformer." and "classifier"; GPT2LMHeadModel: "transformer." (the head is tied);
  T5ForTokenClassification: T5EncoderModel ("shared", "encoder.*") under "transformer." and
    "classifier", the encoder names read from the reference T5's model.safetensors (t5_v1_0).
Run: /usr/bin/python3 tests/golden/models/make_export_keys.py
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_golden  # noqa: E402  (the reference modules; its __main__ block does not run)


def encoder_keys(kind):
    model = make_golden.Encoder(kind, 97, 32, 2, 4, 64, 40, 2 if kind == "bert" else 1, 3, 0)
    return sorted(model.hf_state_dict())


def token_keys(kind):
    head = {"bert": ("classifier.",), "roberta": ("classifier.",), "distilbert": ("pre_classifier.", "classifier.")}[kind]
    keys = [k for k in encoder_keys(kind) if not k.startswith(head) and ".pooler." not in k]
    return sorted(keys + ["classifier.weight", "classifier.bias"])


def safetensors_names(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return [k for k in header if k != "__metadata__"]


def main():
    keys = {}
    for kind, stem in (("bert", "Bert"), ("roberta", "Roberta"), ("distilbert", "DistilBert")):
        keys[stem + "ForSequenceClassification"] = encoder_keys(kind)
        keys[stem + "ForTokenClassification"] = token_keys(kind)
    gpt2 = sorted(make_golden.Gpt2(vocab=101, hidden=32, layers=2, heads=4, positions=48).hf_state_dict())
    keys["GPT2LMHeadModel"] = gpt2
    keys["GPT2ForSequenceClassification"] = sorted(gpt2 + ["score.weight"])
    keys["GPT2ForTokenClassification"] = sorted(gpt2 + ["classifier.weight", "classifier.bias"])
    t5 = safetensors_names(os.path.join(HERE, "t5_v1_0", "model.safetensors"))
    encoder = [k for k in t5 if k == "shared.weight" or k.startswith("encoder.")]
    keys["T5ForTokenClassification"] = sorted(["transformer." + k for k in encoder] + ["classifier.weight", "classifier.bias"])
    keys["T5ForConditionalGeneration"] = sorted(t5)
    with open(os.path.join(HERE, "export_keys.json"), "w") as f:
        json.dump(keys, f, indent=1, sort_keys=True)
        f.write("\n")
    print({k: len(v) for k, v in keys.items()})


if __name__ == "__main__":
    main()
