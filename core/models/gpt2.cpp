#include "core/models/gpt2.h"

#include "core/models/bf16linear.h"
#include "core/models/checkpointing.h"
#include "core/models/estimate.h"
#include "core/models/int8linear.h"
#include "core/models/linear.h"
#include "core/runtime/generator.h"
#include "core/util/error.h"
#include "core/util/jsonfile.h"

#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <limits>

namespace tunebench {

Conv1DImpl::Conv1DImpl(int in, int out)
{
  weight = register_parameter("weight", torch::randn({in, out}, currentGenerator()) * 0.02);
  bias = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor Conv1DImpl::forward(const torch::Tensor &x)
{
  auto shape = x.sizes().vec();
  shape.back() = weight.size(1);
  torch::Tensor y = int8 ? int8->forward(x)
                    : bf16LinearApplies(weight, bias, x)
                        ? bf16Linear(x, {weight}, {bias}, /*weightsInputMajor=*/true)
                        : torch::addmm(bias, x.reshape({-1, x.size(-1)}), weight).view(shape);
  for (const auto &hook : m_hooks)
    y = hook->apply(x, y);
  return y;
}

namespace {

torch::nn::LayerNorm layerNorm(const Gpt2Config &c)
{
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hiddenSize}).eps(c.layerNormEps));
}

} // namespace

Gpt2BlockImpl::Gpt2BlockImpl(const Gpt2Config &c) : m_heads(c.numHeads), m_activation(c.activation)
{
  ln1 = register_module("ln_1", layerNorm(c));
  auto attn = register_module("attn", std::make_shared<torch::nn::Module>());
  attention = attn->register_module("c_attn", Conv1D(c.hiddenSize, 3 * c.hiddenSize));
  attentionProjection = attn->register_module("c_proj", Conv1D(c.hiddenSize, c.hiddenSize));
  ln2 = register_module("ln_2", layerNorm(c));
  auto mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
  feedForwardIn = mlp->register_module("c_fc", Conv1D(c.hiddenSize, c.innerSize));
  feedForwardOut = mlp->register_module("c_proj", Conv1D(c.innerSize, c.hiddenSize));
  m_residDropout = register_module("resid_dropout", Dropout(c.residDropout));
  m_attnDropout = register_module("attn_dropout", Dropout(c.attnDropout));
}

torch::Tensor Gpt2BlockImpl::attend(const torch::Tensor &x, const torch::Tensor &additiveMask,
                                    torch::Tensor *pastKey, torch::Tensor *pastValue)
{
  const auto batch = x.size(0), time = x.size(1), hidden = x.size(2), headSize = hidden / m_heads;
  const std::vector<torch::Tensor> qkv = attention(ln1(x)).split(hidden, -1);
  auto heads = [&](const torch::Tensor &t) { return t.view({batch, time, m_heads, headSize}).transpose(1, 2); };
  torch::Tensor q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]);
  if (pastKey) {
    if (pastKey->defined()) {
      k = torch::cat({*pastKey, k}, 2);
      v = torch::cat({*pastValue, v}, 2);
    }
    *pastKey = k;
    *pastValue = v;
  }
  torch::Tensor mask = additiveMask;
  applyPrefix(prefix, k, v, mask);
  torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(headSize));
  scores = scores + mask.to(scores.scalar_type());
  return droppedProduct(m_attnDropout, torch::softmax(scores, -1), v)
      .transpose(1, 2)
      .reshape({batch, time, hidden});
}

torch::Tensor Gpt2BlockImpl::forward(const torch::Tensor &x, const torch::Tensor &additiveMask,
                                     torch::Tensor *pastKey, torch::Tensor *pastValue)
{
  // Frozen blocks keep their input only, the residual stream (which their LayerNorms keep anyway):
  // norm, product and what follows are computed again in the backward pass (recomputesFrozen).
  const torch::Tensor context = !pastKey && !prefix && recomputesFrozen({attention->weight})
                                    ? recomputedPiece(
                                          [this](const std::vector<torch::Tensor> &in) {
                                            return attend(in[0], in[1], nullptr, nullptr);
                                          },
                                          {x, additiveMask}, layerParameters({ln1.get(), attention.get()}))
                                    : attend(x, additiveMask, pastKey, pastValue);
  const torch::Tensor h = x + m_residDropout(attentionProjection(context));
  const auto inner = [this](const std::vector<torch::Tensor> &in) {
    const torch::Tensor u = feedForwardIn(ln2(in[0]));
    return m_activation == "relu"   ? torch::relu(u)
           : m_activation == "gelu" ? torch::gelu(u)
                                    : torch::gelu(u, "tanh");
  };
  const torch::Tensor activated =
      recomputesFrozen({feedForwardIn->weight})
          ? recomputedPiece(inner, {h}, layerParameters({ln2.get(), feedForwardIn.get()}))
          : inner({h});
  return h + m_residDropout(feedForwardOut(activated));
}

Gpt2LMHeadModelImpl::Gpt2LMHeadModelImpl(const Gpt2Config &c) : m_config(c)
{
  auto transformer = register_module("transformer", std::make_shared<torch::nn::Module>());
  wte = transformer->register_module("wte", makeEmbedding(c.vocabSize, c.hiddenSize));
  wpe = transformer->register_module("wpe", makeEmbedding(c.maxPositions, c.hiddenSize));
  blocks = torch::nn::ModuleList();
  for (int i = 0; i < c.numLayers; ++i)
    blocks->push_back(Gpt2Block(c));
  transformer->register_module("h", blocks);
  lnF = transformer->register_module("ln_f", layerNorm(c));
  m_dropout = register_module("dropout", Dropout(c.embdDropout));
}

void Gpt2LMHeadModelImpl::initialiseWeights()
{
  torch::NoGradGuard noGrad;
  const double std = 0.02;
  const double residualStd = std / std::sqrt(2.0 * m_config.numLayers);
  for (auto &p : named_parameters()) {
    const std::string &name = p.key();
    torch::Tensor &t = p.value();
    const bool isBias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
    if (name.find("ln_") != std::string::npos) {
      isBias ? t.zero_() : t.fill_(1.0);
    } else if (isBias) {
      t.zero_();
    } else if (name.find("c_proj.weight") != std::string::npos) {
      t.normal_(0.0, residualStd, currentGenerator());
    } else {
      t.normal_(0.0, std, currentGenerator());
    }
  }
}

torch::Tensor Gpt2LMHeadModelImpl::forward(const torch::Tensor &ids, const torch::Tensor &mask, KVCache *cache,
                                           std::vector<torch::Tensor> *hidden)
{
  const std::int64_t past = cache ? cache->length() : 0;
  // A soft prompt goes in front of the first call's tokens; later calls find it in the cache.
  const torch::Tensor soft = prompt && past == 0 ? prompt->embeddings() : torch::Tensor();
  const std::int64_t p = soft.defined() ? soft.size(0) : 0;
  const std::int64_t virtualPast = prompt && cache ? cache->virtualTokens : 0;
  const std::int64_t time = ids.size(1) + p, total = past + time;
  if (total > m_config.maxPositions)
    throw Error("GPT-2 takes at most " + std::to_string(m_config.maxPositions) + " positions, asked for " +
                std::to_string(total));
  const torch::Tensor positions = torch::arange(past, total, ids.options()).unsqueeze(0);
  torch::Tensor tokens = wte(ids);
  if (p)
    tokens = torch::cat({soft.to(tokens.scalar_type()).unsqueeze(0).expand({ids.size(0), p, soft.size(1)}), tokens}, 1);
  torch::Tensor x = m_dropout(tokens + wpe(positions));
  // Causal over absolute positions, and padded keys masked (the soft prompt is always attended).
  const float lowest = std::numeric_limits<float>::lowest();
  const torch::Tensor causal =
      torch::ones({time, total}, torch::kBool).triu(past + 1).to(torch::kFloat32).mul(lowest).view({1, 1, time, total});
  torch::Tensor keyMask = mask.defined() ? mask : torch::ones({ids.size(0), total - p - virtualPast}, ids.options());
  if (p + virtualPast > 0)
    keyMask = torch::cat({torch::ones({ids.size(0), p + virtualPast}, keyMask.options()), keyMask}, 1);
  const torch::Tensor padding =
      (1.0 - keyMask.to(torch::kFloat32)).mul(lowest).view({keyMask.size(0), 1, 1, total});
  const torch::Tensor additive = torch::clamp_min(causal + padding, lowest);
  if (cache && cache->keys.empty()) {
    cache->keys.resize(static_cast<std::size_t>(m_config.numLayers));
    cache->values.resize(static_cast<std::size_t>(m_config.numLayers));
  }
  if (cache && p)
    cache->virtualTokens = p;
  auto real = [&](const torch::Tensor &t) { return p ? t.narrow(1, p, time - p) : t; };
  if (hidden)
    hidden->push_back(real(x));
  std::size_t layer = 0;
  for (const auto &module : *blocks) {
    Gpt2BlockImpl *block = module->as<Gpt2BlockImpl>();
    if (!cache && checkpointsLayer(static_cast<int>(layer), *block))
      x = checkpointed(
          [block](const std::vector<torch::Tensor> &in) {
            return block->forward(in[0], in[1], nullptr, nullptr);
          },
          {x, additive}, layerParameters(*block, block->prefix));
    else
      x = block->forward(x, additive, cache ? &cache->keys[layer] : nullptr,
                         cache ? &cache->values[layer] : nullptr);
    ++layer;
    if (hidden)
      hidden->push_back(real(x));
  }
  x = real(lnF(x));
  if (hidden)
    hidden->push_back(x);
  return torch::matmul(x, wte->weight.t()); // the LM head is tied to the embeddings
}

} // namespace tunebench
