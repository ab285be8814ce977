#pragma once

#include "core/models/dropout.h"
#include "core/models/linear.h"
#include "core/models/prefix.h"
#include "core/models/tfjs.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include <filesystem>

namespace tunebench {

// The architecture of the Universal Sentence Encoder Lite, as read off its TF.js graph.
struct UseLiteConfig
{
  int vocabSize = 8002;
  int embeddingSize = 256; // token embeddings and layer 0's attention width
  int hiddenSize = 512;
  int ffnSize = 1536;
  int numHeads = 4;
  int numLayers = 2;
  int maxLength = 128;     // tokens past this are dropped (ClipToMaxLength)
  double layerNormEps = 1e-6;
  double dropout = 0.1;    // for fine-tuning; the graph has none
  nlohmann::json toJson() const;
  static UseLiteConfig fromJson(const nlohmann::json &json, const std::string &source);
};

// One Kona transformer layer: pre-LN multi-head attention (fused qkv) and a ReLU FFN; layer 0
// also projects its residual from the embedding width to the hidden width.
class UseLiteLayerImpl : public torch::nn::Module
{
public:
  UseLiteLayerImpl(const UseLiteConfig &config, int inputSize);
  torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &additiveMask);

  torch::nn::LayerNorm norm{nullptr}, ffnNorm{nullptr};
  Linear qkv{nullptr}, out{nullptr}, residual{nullptr}, fc1{nullptr}, fc2{nullptr};
  PrefixSlot prefix; // prefix tuning

private:
  Dropout m_dropout{nullptr};
  int m_heads = 4;
};
TORCH_MODULE(UseLiteLayer);

// USE-Lite: embeddings (twice the token embedding plus a sinusoidal timing signal, as the graph
// computes), the layers, masked mean pooling, a tanh dense layer and L2 normalisation → 512-d.
// Parameter names are tunebench's own (embeddings.weight, layers.N.*, pooler.*): no Hugging Face
// checkpoint of this model exists.
class UseLiteEncoderImpl : public torch::nn::Module
{
public:
  explicit UseLiteEncoderImpl(const UseLiteConfig &config);
  // Reads the architecture and weights of a TF.js USE-Lite folder (model.json + shards).
  static std::shared_ptr<UseLiteEncoderImpl> fromTfjs(const std::filesystem::path &folder);

  struct Output
  {
    torch::Tensor hidden;    // [batch, time, hidden], last layer
    torch::Tensor pooled;    // masked mean of hidden
    torch::Tensor embedding; // tanh layer, L2-normalised
  };
  // ids, mask: [batch, time] int64 (ids of the USE-Lite tokenizer, right-padded).
  Output forward(const torch::Tensor &ids, const torch::Tensor &mask);
  // The same computation in two parts, for caching frozen bottom layers (no soft prompt): the
  // embeddings and layers [0, k) → [batch, min(time, max length), hidden]; then the rest, on a
  // mask as wide as those hidden states.
  torch::Tensor forwardBottom(int k, const torch::Tensor &ids, const torch::Tensor &mask);
  Output forwardTop(int k, const torch::Tensor &hidden, const torch::Tensor &mask);
  const UseLiteConfig &config() const { return m_config; }

  torch::nn::Embedding embeddings{nullptr};
  std::shared_ptr<SoftPrompt> prompt; // prompt tuning: in front of the token embeddings
  torch::nn::ModuleList layers{nullptr};
  Linear pooler{nullptr};
  torch::Tensor invTimescales;

private:
  UseLiteConfig m_config;
  // Embeddings with the timing signal, masked; a soft prompt (p positions) in front widens mask.
  torch::Tensor embed(const torch::Tensor &ids, torch::Tensor &mask, std::int64_t &p);
  Output finish(const torch::Tensor &x, const torch::Tensor &mask, std::int64_t p, std::int64_t time);
};
TORCH_MODULE(UseLiteEncoder);

} // namespace tunebench
