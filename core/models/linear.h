#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <vector>

namespace tunebench {

class Int8Linear;

// Something a fine-tuning strategy attaches to a linear map: it sees the input and the base output
// and returns the new output (LoRA adds a low-rank update, IA3 scales, an adapter transforms).
// Its parameters are registered on the layer it is attached to, under the names PEFT uses
// ("lora_A", "lora_B", "ia3_l"), so checkpoints map one to one.
class OutputHook
{
public:
  virtual ~OutputHook() = default;
  virtual torch::Tensor apply(const torch::Tensor &input, const torch::Tensor &output) = 0;
};

// y = x·Wᵀ + b, like torch::nn::Linear (weight [out, in], bias [out]), plus the hooks strategies
// attach. Models use it for every projection a strategy may target.
class LinearImpl : public torch::nn::Module
{
public:
  LinearImpl(int in, int out, bool bias = true);
  torch::Tensor forward(const torch::Tensor &x);
  void addHook(std::shared_ptr<OutputHook> hook) { m_hooks.push_back(std::move(hook)); }
  void clearHooks() { m_hooks.clear(); }
  const std::vector<std::shared_ptr<OutputHook>> &hooks() const { return m_hooks; }
  int inFeatures() const { return static_cast<int>(weight.size(1)); }
  int outFeatures() const { return static_cast<int>(weight.size(0)); }

  torch::Tensor weight, bias;
  // Inference in int8 (core/models/int8linear.h, quantizeLinearMaps): forward() uses it when set.
  std::shared_ptr<Int8Linear> int8;

private:
  std::vector<std::shared_ptr<OutputHook>> m_hooks;
};
TORCH_MODULE(Linear);

// torch::nn::Linear's initialisation of (weight [out, in], bias or undefined), drawn from the
// run's generator (core/runtime/generator.h): weights and bias uniform in ±1/sqrt(in).
void initLinearParameters(torch::Tensor &weight, torch::Tensor &bias);

// A torch::nn::Embedding (count × dim) initialised N(0, 1) like LibTorch's, from the run's
// generator.
torch::nn::Embedding makeEmbedding(std::int64_t count, std::int64_t dim);

} // namespace tunebench
