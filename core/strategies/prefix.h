#pragma once

#include "core/strategies/strategy.h"

namespace tunebench {

struct PrefixOptions
{
  int virtualTokens = 20;       // P: prefix keys/values per layer
  bool reparameterize = false;  // an MLP (width → projection → all prefixes) over P embeddings, as PEFT's prefix_projection
  int projectionHidden = 512;
};

// Prefix tuning (Li & Liang, 2021): trainable keys and values in front of every self-attention
// layer's own (BERT, RoBERTa, DistilBERT, GPT-2, USE-Lite; T5's encoder self-attention and its
// decoder's self- and cross-attention); the attention masks widen to match and
// padding stays where it was. Parameters live in "prefix_encoder.*" on the model; everything else
// but the task head is frozen. Layers of different widths (USE-Lite's first layer) get their own.
class PrefixTuning final : public Strategy
{
public:
  explicit PrefixTuning(PrefixOptions options) : m_options(options) {}
  std::string name() const override { return "prefix"; }
  void apply(torch::nn::Module &model) override;
  // Attention layers found by apply() and the width of each.
  const std::vector<int> &layerWidths() const { return m_widths; }

private:
  PrefixOptions m_options;
  std::vector<int> m_widths;
};

struct PromptOptions
{
  int virtualTokens = 20;
  // Text initialisation: the soft prompt starts as the embeddings of these token ids (repeated to
  // fill P); empty: random, N(0, σ) with σ the spread of the vocabulary's embeddings.
  std::vector<int> initIds;
};

// Prompt tuning (Lester et al., 2021): P trainable vectors in front of the input embeddings
// (BERT/RoBERTa/DistilBERT, GPT-2 incl. generation with the KV cache, USE-Lite, T5's encoder);
// masks widen, the model returns its real positions only (T5's decoder attends to all of them). Parameters in "prompt_encoder.*"; all else but the head is
// frozen.
class PromptTuning final : public Strategy
{
public:
  explicit PromptTuning(PromptOptions options) : m_options(std::move(options)) {}
  std::string name() const override { return "prompt"; }
  void apply(torch::nn::Module &model) override;

private:
  PromptOptions m_options;
};

} // namespace tunebench
