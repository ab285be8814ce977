#pragma once

#include <torch/types.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

namespace tunebench {

class TrainedRun;
struct Batch;

// The run's model as ONNX (model.onnx, opset 17): encoder classifiers and taggers (BERT, RoBERTa,
// DistilBERT, USE-Lite, GPT-2) and GPT-2 language models without a cache; inputs input_ids and
// attention_mask (int64 [batch, sequence], dynamic), output logits ([batch, labels],
// [batch, sequence, labels] or [batch, sequence, vocabulary]); token type ids are taken as 0 (single
// texts). LoRA/IA3 are merged in; T5, multi-task models and prefix/prompt/adapter runs are refused
// with the reason. The tokenizer's files, config.json (as the hf export writes it), labels.json
// and tunebench.yaml go beside it. Returns what the card says of it.
// int8: linear maps and embedding tables quantised (OnnxGraph::setInt8), activations quantised as they come.
nlohmann::json writeOnnxFolder(TrainedRun &run, const std::filesystem::path &folder, bool int8 = false);

// Runs model.onnx in onnxruntime (the onnxruntime-node npm package under $TUNEBENCH_ASSETS/npm,
// through packaging's onnx-verify.cjs; nothing of it is linked into tunebench) on the batches and
// returns its logits, one tensor per batch. Error naming what is missing (node, the package, the
// script) or what onnxruntime said.
std::vector<torch::Tensor> runOnnxRuntime(const std::filesystem::path &model,
                                          const std::vector<Batch> &batches);

} // namespace tunebench
