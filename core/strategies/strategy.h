#pragma once

#include <torch/nn/module.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace tunebench {

// Trainable parameters at a glance, as PEFT's print_trainable_parameters shows them, with a
// per-module breakdown (embeddings, each layer, the head ...).
struct TrainableReport
{
  std::int64_t trainable = 0;
  std::int64_t total = 0;
  struct Row
  {
    std::string module;
    std::int64_t trainable = 0;
    std::int64_t total = 0;
  };
  std::vector<Row> modules;
  double percent() const { return total ? 100.0 * static_cast<double>(trainable) / static_cast<double>(total) : 0; }
  // "trainable params: 294,912 || all params: 109,482,240 || trainable%: 0.2694"
  std::string summary() const;
};

TrainableReport trainableReport(const torch::nn::Module &model);

// Parameters that share a learning-rate factor (layer-wise decay, a separate head LR).
struct ParameterGroup
{
  std::string name;
  std::vector<torch::Tensor> parameters;
  double learningRateScale = 1.0;
};

// How a model is fine-tuned: which parameters train, what is added, how it is saved. apply() is
// called once on a freshly loaded model (with its task heads); the optimizer is then built from
// parameterGroups().
class Strategy
{
public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  virtual void apply(torch::nn::Module &model) = 0;
  virtual std::vector<ParameterGroup> parameterGroups(torch::nn::Module &model) const;
  virtual bool canMerge() const { return false; }
  virtual void merge(torch::nn::Module &) {}
  virtual void unmerge(torch::nn::Module &) {}
};

// Names that count as the task head (trained by every strategy): heads.*, classifier, pre_classifier,
// qa_outputs. A language model's lm_head is pre-trained, not a new head: PEFT strategies leave it
// frozen, as PEFT does for causal and seq2seq LMs.
bool isHeadParameter(const std::string &name);
// The transformer layer a parameter belongs to (layer.N, h.N, block.N, layers.N), or -1.
int layerIndexOf(const std::string &name);
bool isEmbeddingParameter(const std::string &name);

} // namespace tunebench
