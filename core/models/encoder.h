#pragma once

#include "core/models/dropout.h"
#include "core/models/linear.h"
#include "core/models/prefix.h"
#include "core/models/modelconfig.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include <vector>

namespace tunebench {

// A post-LN transformer layer (BERT, RoBERTa, DistilBERT compute the same thing). Its parameters
// are registered under the family's Hugging Face names, so state-dict keys map one to one:
//   BERT/RoBERTa: attention.self.{query,key,value}, attention.output.{dense,LayerNorm},
//                 intermediate.dense, output.{dense,LayerNorm}
//   DistilBERT:   attention.{q_lin,k_lin,v_lin,out_lin}, sa_layer_norm, ffn.{lin1,lin2},
//                 output_layer_norm
class EncoderLayerImpl : public torch::nn::Module
{
public:
  explicit EncoderLayerImpl(const EncoderConfig &config);
  // x: [batch, time, hidden]; additiveMask: [batch, 1, 1, time] (0 keep, very negative drop).
  torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &additiveMask);

  Linear query{nullptr}, key{nullptr}, value{nullptr}, attentionOut{nullptr};
  Linear feedForwardIn{nullptr}, feedForwardOut{nullptr};
  torch::nn::LayerNorm attentionNorm{nullptr}, outputNorm{nullptr};
  PrefixSlot prefix; // prefix tuning

private:
  // Query, key and value in one GEMM over the three weights side by side (then each map's hooks:
  // LoRA, IA3), which is cheaper than three GEMMs forward and backward; separate maps when one
  // has no bias.
  std::vector<torch::Tensor> projectQkv(const torch::Tensor &x);
  // Multi-head self-attention over x: the context before the output map.
  torch::Tensor attend(const torch::Tensor &x, const torch::Tensor &additiveMask);

  Dropout m_dropout{nullptr}, m_attentionDropout{nullptr};
  int m_heads = 1;
  std::string m_activation;
};
TORCH_MODULE(EncoderLayer);

// Word + position (+ token type) embeddings, LayerNorm, dropout. RoBERTa counts positions from
// padding_idx + 1 over the non-padding tokens.
class EmbeddingsImpl : public torch::nn::Module
{
public:
  explicit EmbeddingsImpl(const EncoderConfig &config);
  torch::Tensor forward(const torch::Tensor &ids, const torch::Tensor &typeIds);

  torch::nn::Embedding words{nullptr}, positions{nullptr}, tokenTypes{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  std::shared_ptr<SoftPrompt> prompt; // prompt tuning: prepended to the word embeddings
  std::int64_t promptLength() const { return m_promptLength; }

private:
  Dropout m_dropout{nullptr};
  bool m_roberta = false;
  int m_pad = 0;
  std::int64_t m_promptLength = 0;
};
TORCH_MODULE(Embeddings);

struct EncoderOutput
{
  torch::Tensor lastHidden;          // [batch, time, hidden] (a soft prompt's positions first, when there is one)
  std::vector<torch::Tensor> hidden; // embeddings output, then every layer's (when asked for)
  torch::Tensor pooled;              // BERT: tanh(dense(h[CLS])); others: h[first token]
};

// BertModel / RobertaModel / DistilBertModel: embeddings, the layers (encoder.layer.N or
// transformer.layer.N) and, for BERT, the pooler.
class TransformerEncoderImpl : public torch::nn::Module
{
public:
  explicit TransformerEncoderImpl(const EncoderConfig &config, bool withPooler = true);
  // ids, mask: [batch, time] int64; typeIds may be undefined (all zeros).
  EncoderOutput forward(const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &typeIds = {},
                        bool allHidden = false);
  // The same computation in two parts, for caching frozen bottom layers (no soft prompt): the
  // embeddings and layers [0, k) → [batch, time, hidden]; then layers [k, n) and the pooler.
  torch::Tensor forwardBottom(int k, const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &typeIds);
  EncoderOutput forwardTop(int k, const torch::Tensor &hidden, const torch::Tensor &mask);
  const EncoderConfig &config() const { return m_config; }

  Embeddings embeddings{nullptr};
  torch::nn::ModuleList layers{nullptr};
  Linear pooler{nullptr}; // BERT only

private:
  EncoderConfig m_config;
  torch::Tensor runLayers(int from, int to, torch::Tensor x, const torch::Tensor &additive, EncoderOutput *out);
  EncoderOutput finish(torch::Tensor x, EncoderOutput out);
};
TORCH_MODULE(TransformerEncoder);

struct ClassifierOutput
{
  torch::Tensor logits;
  EncoderOutput encoder;
};

// *ForSequenceClassification with Hugging Face's names: the encoder under "bert." / "roberta." /
// "distilbert.", and the family's head: BERT classifier on the pooler; RoBERTa classifier.dense +
// classifier.out_proj on <s>; DistilBERT pre_classifier + classifier on [CLS].
class SequenceClassifierImpl : public torch::nn::Module
{
public:
  SequenceClassifierImpl(const EncoderConfig &config, int numLabels);
  ClassifierOutput forward(const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &typeIds = {},
                           bool allHidden = false);
  // The prefix of the encoder's keys ("bert.", ...).
  std::string encoderPrefix() const { return m_config.modelType + "."; }
  const EncoderConfig &config() const { return m_config; }

  TransformerEncoder encoder{nullptr};

private:
  EncoderConfig m_config;
  Linear m_dense{nullptr}, m_out{nullptr};
  Dropout m_dropout{nullptr};
};
TORCH_MODULE(SequenceClassifier);

} // namespace tunebench
