#include "core/models/encoder.h"

#include "core/models/bf16linear.h"
#include "core/models/checkpointing.h"
#include "core/models/linear.h"
#include "core/models/moduletree.h"
#include "core/util/error.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace tunebench {

namespace {

torch::Tensor activate(const torch::Tensor &x, const std::string &activation)
{
  if (activation == "relu")
    return torch::relu(x);
  if (activation == "gelu_new" || activation == "gelu_pytorch_tanh")
    return torch::gelu(x, "tanh");
  return torch::gelu(x);
}

Linear linear(int in, int out) { return Linear(in, out); }

torch::nn::LayerNorm layerNorm(const EncoderConfig &c)
{
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hiddenSize}).eps(c.layerNormEps));
}

// x·[Wq; Wk; Wv]ᵀ + [bq; bk; bv] as one product, as torch::linear over the concatenated weight
// computes it, without keeping that concatenation for the backward pass (autograd would: 3·h²
// numbers a layer, 7 MiB for BERT-base, with frozen weights too): it is made again there. x is
// kept only when a weight trains.
class StackedLinear : public torch::autograd::Function<StackedLinear>
{
public:
  static torch::Tensor forward(torch::autograd::AutogradContext *ctx, const torch::Tensor &x,
                               const torch::Tensor &wq, const torch::Tensor &wk, const torch::Tensor &wv,
                               const torch::Tensor &bq, const torch::Tensor &bk, const torch::Tensor &bv)
  {
    const bool weightsTrain = wq.requires_grad() || wk.requires_grad() || wv.requires_grad();
    ctx->save_for_backward({weightsTrain ? x : torch::Tensor(), wq, wk, wv});
    ctx->saved_data["in"] = x.size(-1);
    return torch::linear(x, torch::cat({wq, wk, wv}, 0), torch::cat({bq, bk, bv}, 0));
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads)
  {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const std::vector<torch::Tensor> weights{saved[1], saved[2], saved[3]};
    const std::int64_t in = ctx->saved_data["in"].toInt();
    const torch::Tensor g = grads[0].reshape({-1, grads[0].size(-1)});
    torch::autograd::variable_list out(7);
    if (ctx->needs_input_grad(0)) {
      std::vector<std::int64_t> shape = grads[0].sizes().vec();
      shape.back() = in;
      out[0] = g.mm(torch::cat(weights, 0)).view(shape);
    }
    std::vector<std::int64_t> rows;
    for (const torch::Tensor &w : weights)
      rows.push_back(w.size(0));
    if (saved[0].defined()) {
      const std::vector<torch::Tensor> dw = g.t().mm(saved[0].reshape({-1, in})).split_with_sizes(rows, 0);
      for (std::size_t i = 0; i < 3; ++i)
        out[1 + i] = dw[i];
    }
    const std::vector<torch::Tensor> db = g.sum(0).split_with_sizes(rows, 0);
    for (std::size_t i = 0; i < 3; ++i)
      out[4 + i] = db[i];
    return out;
  }
};

} // namespace

EncoderLayerImpl::EncoderLayerImpl(const EncoderConfig &c) : m_heads(c.numHeads), m_activation(c.activation)
{
  const bool distil = c.modelType == "distilbert";
  query = registerAt(*this, distil ? "attention.q_lin" : "attention.self.query", linear(c.hiddenSize, c.hiddenSize));
  key = registerAt(*this, distil ? "attention.k_lin" : "attention.self.key", linear(c.hiddenSize, c.hiddenSize));
  value = registerAt(*this, distil ? "attention.v_lin" : "attention.self.value", linear(c.hiddenSize, c.hiddenSize));
  attentionOut = registerAt(*this, distil ? "attention.out_lin" : "attention.output.dense", linear(c.hiddenSize, c.hiddenSize));
  attentionNorm = registerAt(*this, distil ? "sa_layer_norm" : "attention.output.LayerNorm", layerNorm(c));
  feedForwardIn = registerAt(*this, distil ? "ffn.lin1" : "intermediate.dense", linear(c.hiddenSize, c.intermediateSize));
  feedForwardOut = registerAt(*this, distil ? "ffn.lin2" : "output.dense", linear(c.intermediateSize, c.hiddenSize));
  outputNorm = registerAt(*this, distil ? "output_layer_norm" : "output.LayerNorm", layerNorm(c));
  // Dropouts hold no parameters (no state-dict keys); registered so that train()/eval() reach them.
  m_dropout = register_module("dropout", Dropout(c.hiddenDropout));
  m_attentionDropout = register_module("attention_dropout", Dropout(c.attentionDropout));
}

std::vector<torch::Tensor> EncoderLayerImpl::projectQkv(const torch::Tensor &x)
{
  if (!query->bias.defined() || !key->bias.defined() || !value->bias.defined() || query->int8)
    return {query(x), key(x), value(x)};
  std::vector<torch::Tensor> parts;
  if (bf16LinearApplies(query->weight, query->bias, x) && bf16LinearApplies(key->weight, key->bias, x) &&
      bf16LinearApplies(value->weight, value->bias, x)) {
    // The three weights' bf16 copies are kept stacked: no concatenation or cast per step.
    parts = bf16Linear(x, {query->weight, key->weight, value->weight}, {query->bias, key->bias, value->bias}).chunk(3, -1);
  } else if (at::autocast::is_cpu_enabled()) { // autocast casts the concatenation (and keeps the cast)
    const torch::Tensor weight = torch::cat({query->weight, key->weight, value->weight}, 0);
    const torch::Tensor bias = torch::cat({query->bias, key->bias, value->bias}, 0);
    parts = torch::linear(x, weight, bias).chunk(3, -1);
  } else {
    parts = StackedLinear::apply(x, query->weight, key->weight, value->weight, query->bias, key->bias,
                                 value->bias)
                .split_with_sizes({query->weight.size(0), key->weight.size(0), value->weight.size(0)}, -1);
  }
  const Linear *maps[] = {&query, &key, &value};
  for (std::size_t i = 0; i < 3; ++i)
    for (const auto &hook : (*maps[i])->hooks())
      parts[i] = hook->apply(x, parts[i]);
  return parts;
}

torch::Tensor EncoderLayerImpl::attend(const torch::Tensor &x, const torch::Tensor &additiveMask)
{
  const auto batch = x.size(0), time = x.size(1), hidden = x.size(2);
  const auto headSize = hidden / m_heads;
  auto split = [&](const torch::Tensor &t) { return t.view({batch, time, m_heads, headSize}).transpose(1, 2); };
  const std::vector<torch::Tensor> qkv = projectQkv(x);
  const torch::Tensor q = split(qkv[0]);
  torch::Tensor k = split(qkv[1]), v = split(qkv[2]), mask = additiveMask;
  applyPrefix(prefix, k, v, mask);
  torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(headSize));
  scores = scores + mask.to(scores.scalar_type());
  return droppedProduct(m_attentionDropout, torch::softmax(scores, -1), v)
      .transpose(1, 2)
      .reshape({batch, time, hidden});
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor &x, const torch::Tensor &additiveMask)
{
  // Frozen blocks keep their own input only (which a strategy's maps reading it, LoRA's, share;
  // the norm before the feed-forward block keeps its input anyway): what is inside them — q, k, v
  // and the attention weights; the norm's output and the activation's input — is computed again in
  // the backward pass (recomputesFrozen). Prefix tuning's keys come from outside the layer.
  const torch::Tensor context =
      !prefix && recomputesFrozen({query->weight, key->weight, value->weight})
          ? recomputedPiece([this](const std::vector<torch::Tensor> &in) { return attend(in[0], in[1]); },
                            {x, additiveMask}, layerParameters({query.get(), key.get(), value.get()}))
          : attend(x, additiveMask);
  const torch::Tensor residual = x + m_dropout(attentionOut(context));
  const torch::Tensor attended = attentionNorm(residual);
  const torch::Tensor activated =
      recomputesFrozen({feedForwardIn->weight})
          ? recomputedPiece(
                [this](const std::vector<torch::Tensor> &in) {
                  return activate(feedForwardIn(attentionNorm(in[0])), m_activation);
                },
                {residual}, layerParameters({attentionNorm.get(), feedForwardIn.get()}))
          : activate(feedForwardIn(attended), m_activation);
  return outputNorm(attended + m_dropout(feedForwardOut(activated)));
}

EmbeddingsImpl::EmbeddingsImpl(const EncoderConfig &c) : m_roberta(c.modelType == "roberta"), m_pad(c.padTokenId)
{
  words = register_module("word_embeddings", makeEmbedding(c.vocabSize, c.hiddenSize));
  positions = register_module("position_embeddings", makeEmbedding(c.maxPositions, c.hiddenSize));
  if (c.typeVocabSize > 0)
    tokenTypes = register_module("token_type_embeddings", makeEmbedding(c.typeVocabSize, c.hiddenSize));
  norm = register_module("LayerNorm", layerNorm(c));
  m_dropout = register_module("dropout", Dropout(c.hiddenDropout));
}

torch::Tensor EmbeddingsImpl::forward(const torch::Tensor &ids, const torch::Tensor &typeIds)
{
  torch::Tensor w = words(ids);
  torch::Tensor types = typeIds.defined() ? typeIds : torch::zeros_like(ids);
  torch::Tensor real = m_roberta ? ids.ne(m_pad).to(torch::kLong) : torch::ones_like(ids);
  m_promptLength = 0;
  if (prompt) { // soft prompt first: positions count it, its type is 0
    const torch::Tensor p = prompt->embeddings();
    m_promptLength = p.size(0);
    w = torch::cat({p.to(w.scalar_type()).unsqueeze(0).expand({ids.size(0), p.size(0), p.size(1)}), w}, 1);
    types = torch::cat({torch::zeros({ids.size(0), m_promptLength}, ids.options()), types}, 1);
    real = torch::cat({torch::ones({ids.size(0), m_promptLength}, ids.options()), real}, 1);
  }
  torch::Tensor positionIds;
  if (m_roberta)
    positionIds = torch::cumsum(real, 1) * real + m_pad;
  else
    positionIds = torch::arange(w.size(1), ids.options()).unsqueeze(0).expand({ids.size(0), w.size(1)});
  torch::Tensor x = w + positions(positionIds);
  if (tokenTypes)
    x = x + tokenTypes(types);
  return m_dropout(norm(x));
}

TransformerEncoderImpl::TransformerEncoderImpl(const EncoderConfig &c, bool withPooler) : m_config(c)
{
  embeddings = register_module("embeddings", Embeddings(c));
  layers = torch::nn::ModuleList();
  for (int i = 0; i < c.numLayers; ++i)
    layers->push_back(EncoderLayer(c));
  registerAt(*this, c.modelType == "distilbert" ? "transformer.layer" : "encoder.layer", layers);
  if (withPooler && c.modelType == "bert")
    pooler = registerAt(*this, "pooler.dense", linear(c.hiddenSize, c.hiddenSize));
}

namespace {

// 0 where attended, the lowest float where masked: softmax gives those keys exactly 0.
torch::Tensor additiveMaskOf(const torch::Tensor &keys)
{
  return (1.0 - keys.to(torch::kFloat32)).mul(std::numeric_limits<float>::lowest()).view({keys.size(0), 1, 1, keys.size(1)});
}

} // namespace

torch::Tensor TransformerEncoderImpl::runLayers(int from, int to, torch::Tensor x, const torch::Tensor &additive,
                                                EncoderOutput *out)
{
  for (int i = from; i < to; ++i) {
    x = runEncoderLayer(i, layers[static_cast<std::size_t>(i)]->as<EncoderLayerImpl>(), x, additive);
    if (out)
      out->hidden.push_back(x);
  }
  return x;
}

EncoderOutput TransformerEncoderImpl::finish(torch::Tensor x, EncoderOutput out)
{
  out.lastHidden = x;
  const torch::Tensor first = x.select(1, 0);
  out.pooled = pooler ? torch::tanh(pooler(first)) : first;
  return out;
}

EncoderOutput TransformerEncoderImpl::forward(const torch::Tensor &ids, const torch::Tensor &mask,
                                              const torch::Tensor &typeIds, bool allHidden)
{
  EncoderOutput out;
  torch::Tensor x = embeddings(ids, typeIds);
  // A soft prompt in front is always attended.
  const std::int64_t p = embeddings->promptLength();
  const torch::Tensor keys = p ? torch::cat({torch::ones({mask.size(0), p}, mask.options()), mask}, 1) : mask;
  if (allHidden)
    out.hidden.push_back(x);
  x = runLayers(0, static_cast<int>(layers->size()), x, additiveMaskOf(keys), allHidden ? &out : nullptr);
  return finish(x, std::move(out));
}

torch::Tensor TransformerEncoderImpl::forwardBottom(int k, const torch::Tensor &ids, const torch::Tensor &mask,
                                                    const torch::Tensor &typeIds)
{
  if (embeddings->prompt)
    throw Error("the encoder's bottom layers cannot be cached with a soft prompt");
  return runLayers(0, k, embeddings(ids, typeIds), additiveMaskOf(mask), nullptr);
}

EncoderOutput TransformerEncoderImpl::forwardTop(int k, const torch::Tensor &hidden, const torch::Tensor &mask)
{
  const torch::Tensor x = runLayers(k, static_cast<int>(layers->size()), hidden, additiveMaskOf(mask), nullptr);
  return finish(x, {});
}

SequenceClassifierImpl::SequenceClassifierImpl(const EncoderConfig &c, int numLabels) : m_config(c)
{
  encoder = register_module(c.modelType, TransformerEncoder(c));
  m_dropout = register_module("dropout", Dropout(c.classifierDropout));
  if (c.modelType == "roberta") {
    m_dense = registerAt(*this, "classifier.dense", linear(c.hiddenSize, c.hiddenSize));
    m_out = registerAt(*this, "classifier.out_proj", linear(c.hiddenSize, numLabels));
  } else if (c.modelType == "distilbert") {
    m_dense = register_module("pre_classifier", linear(c.hiddenSize, c.hiddenSize));
    m_out = register_module("classifier", linear(c.hiddenSize, numLabels));
  } else {
    m_out = register_module("classifier", linear(c.hiddenSize, numLabels));
  }
}

ClassifierOutput SequenceClassifierImpl::forward(const torch::Tensor &ids, const torch::Tensor &mask,
                                                 const torch::Tensor &typeIds, bool allHidden)
{
  ClassifierOutput out;
  out.encoder = encoder(ids, mask, typeIds, allHidden);
  const torch::Tensor &pooled = out.encoder.pooled;
  if (m_config.modelType == "roberta")
    out.logits = m_out(m_dropout(torch::tanh(m_dense(m_dropout(pooled)))));
  else if (m_config.modelType == "distilbert")
    out.logits = m_out(m_dropout(torch::relu(m_dense(pooled))));
  else
    out.logits = m_out(m_dropout(pooled));
  return out;
}

} // namespace tunebench
