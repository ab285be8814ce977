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

#include <filesystem>
#include <nlohmann/json.hpp>

namespace tunebench {

// RMS LayerNorm: scale only, no mean subtraction, no bias.
class T5LayerNormImpl : public torch::nn::Module
{
public:
  T5LayerNormImpl(int size, double eps);
  torch::Tensor forward(const torch::Tensor &x);
  torch::Tensor weight;

private:
  double m_eps;
};
TORCH_MODULE(T5LayerNorm);

// Multi-head attention without score scaling; layer 0 of each stack owns the relative position
// bias (bidirectional buckets in the encoder, causal in the decoder).
class T5AttentionImpl : public torch::nn::Module
{
public:
  T5AttentionImpl(const T5Config &config, bool relativeBias, bool causal);
  // keyValues: the sequence attended to (x itself for self-attention); mask: additive
  // [batch, 1, queries|1, keys]; positionBias: computed here when undefined and this layer owns the
  // table, reused otherwise. pastKey/pastValue: self-attention cache (may be null).
  torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &keyValues, const torch::Tensor &mask,
                        torch::Tensor &positionBias, std::int64_t queryOffset, torch::Tensor *pastKey,
                        torch::Tensor *pastValue);
  torch::Tensor computeBias(std::int64_t queryLength, std::int64_t keyLength, std::int64_t queryOffset) const;
  // The position bias forward() computes when given none: computeBias() where this layer owns the
  // table, zeros otherwise.
  torch::Tensor defaultBias(std::int64_t queryLength, std::int64_t keyLength, std::int64_t queryOffset) const;

  Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  torch::nn::Embedding relativeAttentionBias{nullptr};
  // Prefix tuning: keys/values in front of this layer's own (never stored in the cache). The
  // prefix has no position: its columns get no relative-position bias.
  PrefixSlot prefix;

private:
  int m_heads, m_dKv, m_buckets, m_maxDistance;
  bool m_causal;
};
TORCH_MODULE(T5Attention);

// T5ForConditionalGeneration with Hugging Face's names (shared, encoder.block.N.layer.M...,
// decoder..., lm_head for v1.1).
class T5ModelImpl : public torch::nn::Module
{
public:
  explicit T5ModelImpl(const T5Config &config);
  // Encoder output [batch, P + T, dModel]: with a soft prompt (prompt tuning) its P positions come
  // first, and the decoder attends to them too; memoryMask() widens the input mask to match.
  torch::Tensor encode(const torch::Tensor &ids, const torch::Tensor &mask);
  torch::Tensor memoryMask(const torch::Tensor &mask) const;
  // Mesh TensorFlow's initialisation (as Hugging Face's _init_weights): a model from scratch.
  void initialiseWeights();
  // Decoder logits [batch, new, vocab]; decoderMask covers past + new positions.
  torch::Tensor decode(const torch::Tensor &decoderIds, const torch::Tensor &decoderMask,
                       const torch::Tensor &encoderOutput, const torch::Tensor &encoderMask, KVCache *cache = nullptr);
  const T5Config &config() const { return m_config; }

  torch::nn::Embedding shared{nullptr};
  std::shared_ptr<SoftPrompt> prompt; // prompt tuning: vectors in front of the encoder's input

private:
  struct Block
  {
    std::shared_ptr<torch::nn::Module> root;
    T5Attention selfAttention{nullptr}, crossAttention{nullptr};
    T5LayerNorm selfNorm{nullptr}, crossNorm{nullptr}, ffnNorm{nullptr};
    Linear wi{nullptr}, wi1{nullptr}, wo{nullptr};
  };
  Block makeBlock(torch::nn::ModuleList &list, bool decoder, bool first);
  torch::Tensor feedForward(Block &b, const torch::Tensor &x);
  // One encoder or decoder block (biases computed into the references when undefined, as the
  // attention layers do).
  torch::Tensor encoderBlock(Block &b, const torch::Tensor &x, const torch::Tensor &additive,
                             torch::Tensor &bias);
  torch::Tensor decoderBlock(Block &b, const torch::Tensor &x, const torch::Tensor &selfMask,
                             torch::Tensor &selfBias, const torch::Tensor &memory,
                             const torch::Tensor &crossMask, torch::Tensor &crossBias, torch::Tensor *pastKey,
                             torch::Tensor *pastValue, std::int64_t past);

  T5Config m_config;
  std::vector<Block> m_encoder, m_decoder;
  T5LayerNorm m_encoderNorm{nullptr}, m_decoderNorm{nullptr};
  Linear m_lmHead{nullptr};
  Dropout m_dropout{nullptr};
};
TORCH_MODULE(T5Model);

// The decoder of a T5 model bound to one encoded input, for generate().
class T5Decoding final : public CausalLanguageModel
{
public:
  T5Decoding(T5Model model, const torch::Tensor &encoderIds, const torch::Tensor &encoderMask);
  torch::Tensor logits(const torch::Tensor &ids, const torch::Tensor &mask, KVCache *cache) override;
  int layerCount() const override { return m_model->config().numDecoderLayers; }

private:
  T5Model m_model;
  torch::Tensor m_encoderOutput, m_encoderMask;
};

// Text-to-text generation: encodes `source` (cut to maxLength - 1 ids, the end id appended) and
// decodes from startId with generate(); returns the new ids below vocabularyLimit (sentinels and
// other ids past the tokenizer's vocabulary left out), the end id dropped.
std::vector<int> generateFromSource(const T5Model &model, std::vector<int> source,
                                    const GenerationOptions &options, int endId, int startId, int maxLength,
                                    int vocabularyLimit);

} // namespace tunebench
