#pragma once

#include "core/models/dropout.h"
#include "core/models/generation.h"
#include "core/models/linear.h"
#include "core/models/modelconfig.h"
#include "core/models/prefix.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include <filesystem>
#include <nlohmann/json.hpp>

namespace tunebench {

// GPT-2's Conv1D: y = x·W + b with W stored [in, out], as the checkpoints store it. Strategies
// attach output hooks as on tunebench::Linear.
class Conv1DImpl : public torch::nn::Module
{
public:
  Conv1DImpl(int in, int out);
  torch::Tensor forward(const torch::Tensor &x);
  void addHook(std::shared_ptr<OutputHook> hook) { m_hooks.push_back(std::move(hook)); }
  const std::vector<std::shared_ptr<OutputHook>> &hooks() const { return m_hooks; }
  int inFeatures() const { return static_cast<int>(weight.size(0)); }
  int outFeatures() const { return static_cast<int>(weight.size(1)); }
  torch::Tensor weight, bias;
  std::shared_ptr<Int8Linear> int8; // inference in int8 (quantizeLinearMaps)

private:
  std::vector<std::shared_ptr<OutputHook>> m_hooks;
};
TORCH_MODULE(Conv1D);

// One pre-LN block: ln_1, attn.{c_attn, c_proj}, ln_2, mlp.{c_fc, c_proj}.
class Gpt2BlockImpl : public torch::nn::Module
{
public:
  explicit Gpt2BlockImpl(const Gpt2Config &config);
  // additiveMask: [batch, 1, time, pastAndTime]. cache, when given, holds this layer's past keys
  // and values and receives the new ones.
  torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &additiveMask, torch::Tensor *pastKey,
                        torch::Tensor *pastValue);

  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  Conv1D attention{nullptr}, attentionProjection{nullptr}, feedForwardIn{nullptr}, feedForwardOut{nullptr};
  PrefixSlot prefix; // prefix tuning: in front of the past and new keys, never stored in the cache

private:
  // ln_1, then multi-head causal self-attention: the context before c_proj.
  torch::Tensor attend(const torch::Tensor &x, const torch::Tensor &additiveMask, torch::Tensor *pastKey,
                       torch::Tensor *pastValue);

  Dropout m_residDropout{nullptr}, m_attnDropout{nullptr};
  int m_heads = 1;
  std::string m_activation;
};
TORCH_MODULE(Gpt2Block);

// GPT2LMHeadModel: transformer.{wte, wpe, h.N, ln_f}; the LM head is tied to wte.
class Gpt2LMHeadModelImpl : public torch::nn::Module, public CausalLanguageModel
{
public:
  explicit Gpt2LMHeadModelImpl(const Gpt2Config &config);
  // ids, mask: [batch, time]; mask covers past + new positions when a cache is given. Returns
  // logits [batch, time, vocab]; the cache (if any) grows by `time`.
  torch::Tensor forward(const torch::Tensor &ids, const torch::Tensor &mask, KVCache *cache = nullptr,
                        std::vector<torch::Tensor> *hidden = nullptr);
  torch::Tensor logits(const torch::Tensor &ids, const torch::Tensor &mask, KVCache *cache) override
  {
    return forward(ids, mask, cache);
  }
  int layerCount() const override { return m_config.numLayers; }
  const Gpt2Config &config() const { return m_config; }
  // GPT-2's own initialisation for training from scratch (torch's defaults start the tied head at
  // a loss far above ln(vocabulary)): weights N(0, 0.02), the residual projections (attn.c_proj,
  // mlp.c_proj) N(0, 0.02 / sqrt(2 · layers)), biases 0, layer norms 1 and 0. Uses torch's RNG.
  void initialiseWeights();

  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  // Prompt tuning: in front of the first call's tokens (and of the cache); logits and hidden states
  // are returned for the real tokens only.
  std::shared_ptr<SoftPrompt> prompt;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm lnF{nullptr};

private:
  Gpt2Config m_config;
  Dropout m_dropout{nullptr};
};
TORCH_MODULE(Gpt2LMHeadModel);

} // namespace tunebench
