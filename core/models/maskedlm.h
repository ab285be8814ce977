#pragma once

#include "core/models/encoder.h"

namespace tunebench {

// *ForMaskedLM: the encoder under the family's prefix ("bert.", "roberta.", "distilbert.", no
// pooler) and the family's prediction head with Hugging Face's names, its decoder tied to the word
// embeddings:
//   BERT:       cls.predictions.transform.{dense,LayerNorm}, cls.predictions.bias
//   RoBERTa:    lm_head.{dense,layer_norm}, lm_head.bias
//   DistilBERT: vocab_transform, vocab_layer_norm, vocab_projector.bias
// logits = LayerNorm(act(dense(h))) · Eᵀ + bias, over every position: [batch, time, vocab].
// The checkpoint names of those heads (loadStateDict's headPrefixes).
inline const std::vector<std::string> &maskedLmHeadPrefixes()
{
  static const std::vector<std::string> prefixes = {"cls.", "lm_head.", "vocab_transform.",
                                                    "vocab_layer_norm.", "vocab_projector."};
  return prefixes;
}

class MaskedLanguageModelImpl : public torch::nn::Module
{
public:
  explicit MaskedLanguageModelImpl(const EncoderConfig &config);
  // positions (bool [batch, time], optional): the head runs on these positions only and the
  // logits are [selected, vocab] — training needs the masked positions alone.
  torch::Tensor forward(const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &typeIds = {},
                        const torch::Tensor &positions = {});
  const EncoderConfig &config() const { return m_config; }
  // Small-normal weights (σ = 0.02), zero biases, unit norms: a model trained from scratch.
  void initialiseWeights();

  TransformerEncoder encoder{nullptr};

private:
  EncoderConfig m_config;
  Linear m_dense{nullptr};
  torch::nn::LayerNorm m_norm{nullptr};
  torch::Tensor m_bias;
};
TORCH_MODULE(MaskedLanguageModel);

} // namespace tunebench
