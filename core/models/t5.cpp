#include "core/models/t5.h"

#include "core/models/checkpointing.h"
#include "core/models/estimate.h"
#include "core/models/linear.h"
#include "core/models/moduletree.h"
#include "core/runtime/generator.h"
#include "core/util/error.h"
#include "core/util/jsonfile.h"

#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <limits>

namespace tunebench {

T5LayerNormImpl::T5LayerNormImpl(int size, double eps) : m_eps(eps)
{
  weight = register_parameter("weight", torch::ones({size}));
}

torch::Tensor T5LayerNormImpl::forward(const torch::Tensor &x)
{
  const torch::Tensor variance = x.to(torch::kFloat32).pow(2).mean(-1, true);
  return weight * (x * torch::rsqrt(variance + m_eps)).to(weight.scalar_type());
}

namespace {

Linear noBias(int in, int out) { return Linear(in, out, false); }

// Mesh TensorFlow's buckets: exact for small distances, logarithmic up to maxDistance.
torch::Tensor relativeBucket(const torch::Tensor &relative, bool bidirectional, int buckets, int maxDistance)
{
  torch::Tensor result = torch::zeros_like(relative);
  torch::Tensor distance = relative;
  if (bidirectional) {
    buckets /= 2;
    result = result + (relative > 0).to(torch::kLong) * buckets;
    distance = relative.abs();
  } else {
    distance = -torch::min(relative, torch::zeros_like(relative));
  }
  const int maxExact = buckets / 2;
  const torch::Tensor small = distance < maxExact;
  torch::Tensor large = maxExact + (torch::log(distance.to(torch::kFloat32) / maxExact) /
                                    std::log(static_cast<double>(maxDistance) / maxExact) * (buckets - maxExact))
                                       .to(torch::kLong);
  large = torch::min(large, torch::full_like(large, buckets - 1));
  return result + torch::where(small, distance, large);
}

} // namespace

T5AttentionImpl::T5AttentionImpl(const T5Config &c, bool relativeBias, bool causal)
  : m_heads(c.numHeads), m_dKv(c.dKv), m_buckets(c.buckets), m_maxDistance(c.maxDistance), m_causal(causal)
{
  const int inner = c.numHeads * c.dKv;
  q = register_module("q", noBias(c.dModel, inner));
  k = register_module("k", noBias(c.dModel, inner));
  v = register_module("v", noBias(c.dModel, inner));
  o = register_module("o", noBias(inner, c.dModel));
  if (relativeBias)
    relativeAttentionBias = register_module("relative_attention_bias", makeEmbedding(c.buckets, c.numHeads));
}

torch::Tensor T5AttentionImpl::computeBias(std::int64_t queryLength, std::int64_t keyLength, std::int64_t offset) const
{
  const torch::Tensor context = torch::arange(offset, offset + queryLength, torch::kLong).unsqueeze(1);
  const torch::Tensor memory = torch::arange(keyLength, torch::kLong).unsqueeze(0);
  const torch::Tensor buckets = relativeBucket(memory - context, !m_causal, m_buckets, m_maxDistance);
  return torch::embedding(relativeAttentionBias->weight, buckets).permute({2, 0, 1}).unsqueeze(0); // [1, heads, q, k]
}

torch::Tensor T5AttentionImpl::defaultBias(std::int64_t queryLength, std::int64_t keyLength,
                                           std::int64_t offset) const
{
  return relativeAttentionBias ? computeBias(queryLength, keyLength, offset)
                               : torch::zeros({1, m_heads, queryLength, keyLength});
}

torch::Tensor T5AttentionImpl::forward(const torch::Tensor &x, const torch::Tensor &keyValues, const torch::Tensor &mask,
                                       torch::Tensor &positionBias, std::int64_t queryOffset, torch::Tensor *pastKey,
                                       torch::Tensor *pastValue)
{
  const auto batch = x.size(0), time = x.size(1);
  auto heads = [&](const torch::Tensor &t) { return t.view({t.size(0), t.size(1), m_heads, m_dKv}).transpose(1, 2); };
  const torch::Tensor query = heads(q(x));
  torch::Tensor key = heads(k(keyValues)), value = heads(v(keyValues));
  if (pastKey) {
    if (pastKey->defined()) {
      key = torch::cat({*pastKey, key}, 2);
      value = torch::cat({*pastValue, value}, 2);
    }
    *pastKey = key;
    *pastValue = value;
  }
  if (!positionBias.defined())
    positionBias = defaultBias(time, key.size(2), queryOffset);
  torch::Tensor bias = positionBias, additive = mask;
  if (prefix) {
    applyPrefix(prefix, key, value, additive);
    bias = maskWithPrefix(bias, key.size(2) - bias.size(-1));
  }
  // T5 does not scale the scores: the scaling is folded into the initialisation.
  const torch::Tensor scores = torch::matmul(query, key.transpose(-1, -2)) + bias + additive;
  const torch::Tensor context = torch::matmul(torch::softmax(scores.to(torch::kFloat32), -1).to(query.scalar_type()), value);
  return o(context.transpose(1, 2).reshape({batch, time, m_heads * m_dKv}));
}

T5ModelImpl::T5ModelImpl(const T5Config &c) : m_config(c)
{
  shared = register_module("shared", makeEmbedding(c.vocabSize, c.dModel));
  auto encoderBlocks = registerAt(*this, "encoder.block", torch::nn::ModuleList());
  for (int i = 0; i < c.numLayers; ++i)
    m_encoder.push_back(makeBlock(encoderBlocks, false, i == 0));
  m_encoderNorm = registerAt(*this, "encoder.final_layer_norm", T5LayerNorm(c.dModel, c.layerNormEps));
  auto decoderBlocks = registerAt(*this, "decoder.block", torch::nn::ModuleList());
  for (int i = 0; i < c.numDecoderLayers; ++i)
    m_decoder.push_back(makeBlock(decoderBlocks, true, i == 0));
  m_decoderNorm = registerAt(*this, "decoder.final_layer_norm", T5LayerNorm(c.dModel, c.layerNormEps));
  if (!c.tieEmbeddings)
    m_lmHead = register_module("lm_head", noBias(c.dModel, c.vocabSize));
  m_dropout = register_module("dropout", Dropout(c.dropout));
}

void T5ModelImpl::initialiseWeights()
{
  const T5Config &c = m_config;
  const double model = c.dModel, inner = static_cast<double>(c.numHeads) * c.dKv;
  auto endsWith = [](const std::string &s, const std::string &tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  torch::NoGradGuard noGrad;
  for (auto &p : named_parameters()) {
    const std::string &n = p.key();
    double std = std::pow(model, -0.5); // k, v, wi, relative bias, lm_head
    if (n == "shared.weight")
      std = 1.0;
    else if (endsWith(n, ".q.weight"))
      std = std::pow(model * c.dKv, -0.5);
    else if (endsWith(n, ".o.weight"))
      std = std::pow(inner, -0.5);
    else if (endsWith(n, ".wo.weight"))
      std = std::pow(static_cast<double>(c.dFf), -0.5);
    if (n.find("layer_norm") != std::string::npos)
      p.value().fill_(1.0);
    else
      p.value().normal_(0.0, std, currentGenerator());
  }
}

T5ModelImpl::Block T5ModelImpl::makeBlock(torch::nn::ModuleList &list, bool decoder, bool first)
{
  const T5Config &c = m_config;
  Block b;
  b.root = std::make_shared<torch::nn::Module>();
  auto layers = b.root->register_module("layer", torch::nn::ModuleList());
  auto self = std::make_shared<torch::nn::Module>();
  b.selfAttention = self->register_module("SelfAttention", T5Attention(c, first, decoder));
  b.selfNorm = self->register_module("layer_norm", T5LayerNorm(c.dModel, c.layerNormEps));
  layers->push_back(self);
  if (decoder) {
    auto cross = std::make_shared<torch::nn::Module>();
    b.crossAttention = cross->register_module("EncDecAttention", T5Attention(c, false, false));
    b.crossNorm = cross->register_module("layer_norm", T5LayerNorm(c.dModel, c.layerNormEps));
    layers->push_back(cross);
  }
  auto ff = std::make_shared<torch::nn::Module>();
  if (c.gated) {
    b.wi = registerAt(*ff, "DenseReluDense.wi_0", noBias(c.dModel, c.dFf));
    b.wi1 = registerAt(*ff, "DenseReluDense.wi_1", noBias(c.dModel, c.dFf));
  } else {
    b.wi = registerAt(*ff, "DenseReluDense.wi", noBias(c.dModel, c.dFf));
  }
  b.wo = registerAt(*ff, "DenseReluDense.wo", noBias(c.dFf, c.dModel));
  b.ffnNorm = ff->register_module("layer_norm", T5LayerNorm(c.dModel, c.layerNormEps));
  layers->push_back(ff);
  list->push_back(b.root);
  return b;
}

torch::Tensor T5ModelImpl::feedForward(Block &b, const torch::Tensor &x)
{
  const torch::Tensor h = b.ffnNorm(x);
  torch::Tensor inner = b.wi(h);
  const std::string &a = m_config.activation;
  inner = a == "relu" ? torch::relu(inner) : a == "gelu" ? torch::gelu(inner) : torch::gelu(inner, "tanh");
  if (b.wi1)
    inner = inner * b.wi1(h);
  return x + m_dropout(b.wo(m_dropout(inner)));
}

torch::Tensor T5ModelImpl::encoderBlock(Block &b, const torch::Tensor &x, const torch::Tensor &additive,
                                        torch::Tensor &bias)
{
  const torch::Tensor h =
      x + m_dropout(b.selfAttention(b.selfNorm(x), b.selfNorm(x), additive, bias, 0, nullptr, nullptr));
  return feedForward(b, h);
}

torch::Tensor T5ModelImpl::decoderBlock(Block &b, const torch::Tensor &x, const torch::Tensor &selfMask,
                                        torch::Tensor &selfBias, const torch::Tensor &memory,
                                        const torch::Tensor &crossMask, torch::Tensor &crossBias,
                                        torch::Tensor *pastKey, torch::Tensor *pastValue, std::int64_t past)
{
  const torch::Tensor h = b.selfNorm(x);
  torch::Tensor y = x + m_dropout(b.selfAttention(h, h, selfMask, selfBias, past, pastKey, pastValue));
  y = y + m_dropout(b.crossAttention(b.crossNorm(y), memory, crossMask, crossBias, 0, nullptr, nullptr));
  return feedForward(b, y);
}

namespace {

torch::Tensor additivePadding(const torch::Tensor &mask)
{
  return (1.0 - mask.to(torch::kFloat32)).mul(std::numeric_limits<float>::lowest()).view({mask.size(0), 1, 1, mask.size(1)});
}

} // namespace

torch::Tensor T5ModelImpl::memoryMask(const torch::Tensor &mask) const
{
  if (!prompt)
    return mask;
  const auto p = prompt->embeddings().size(0);
  return torch::cat({torch::ones({mask.size(0), p}, mask.options()), mask}, 1);
}

torch::Tensor T5ModelImpl::encode(const torch::Tensor &ids, const torch::Tensor &inputMask)
{
  torch::Tensor x = shared(ids);
  if (prompt) {
    const torch::Tensor soft = prompt->embeddings().to(x.scalar_type());
    x = torch::cat({soft.unsqueeze(0).expand({x.size(0), soft.size(0), soft.size(1)}), x}, 1);
  }
  x = m_dropout(x);
  const torch::Tensor additive = additivePadding(memoryMask(inputMask));
  torch::Tensor bias;
  int index = 0;
  for (Block &b : m_encoder) {
    if (checkpointsLayer(index++, *b.root)) {
      if (!bias.defined()) // what the first layer computes: every checkpointed layer gets it as an input
        bias = m_encoder.front().selfAttention->defaultBias(x.size(1), x.size(1), 0);
      x = checkpointed(
          [this, &b](const std::vector<torch::Tensor> &in) {
            torch::Tensor positionBias = in[2];
            return encoderBlock(b, in[0], in[1], positionBias);
          },
          {x, additive, bias}, layerParameters(*b.root, b.selfAttention->prefix));
    } else {
      x = encoderBlock(b, x, additive, bias);
    }
  }
  return m_dropout(m_encoderNorm(x));
}

torch::Tensor T5ModelImpl::decode(const torch::Tensor &ids, const torch::Tensor &decoderMask, const torch::Tensor &memory,
                                  const torch::Tensor &encoderMask, KVCache *cache)
{
  const std::int64_t past = cache ? cache->length() : 0, time = ids.size(1), total = past + time;
  if (cache && cache->keys.empty()) {
    cache->keys.resize(m_decoder.size());
    cache->values.resize(m_decoder.size());
  }
  const float lowest = std::numeric_limits<float>::lowest();
  const torch::Tensor causal =
      torch::ones({time, total}, torch::kBool).triu(past + 1).to(torch::kFloat32).mul(lowest).view({1, 1, time, total});
  const torch::Tensor selfMask = torch::clamp_min(causal + additivePadding(decoderMask), lowest);
  const torch::Tensor crossMask = additivePadding(encoderMask);
  torch::Tensor x = m_dropout(shared(ids));
  torch::Tensor selfBias, crossBias;
  std::size_t layer = 0;
  for (Block &b : m_decoder) {
    if (!cache && checkpointsLayer(static_cast<int>(layer), *b.root)) {
      if (!selfBias.defined()) { // what the first layer computes, as inputs of every checkpointed layer
        selfBias = m_decoder.front().selfAttention->defaultBias(time, total, past);
        crossBias = m_decoder.front().crossAttention->defaultBias(time, memory.size(1), 0);
      }
      x = checkpointed(
          [this, &b](const std::vector<torch::Tensor> &in) {
            torch::Tensor self = in[2], cross = in[5];
            return decoderBlock(b, in[0], in[1], self, in[3], in[4], cross, nullptr, nullptr, 0);
          },
          {x, selfMask, selfBias, memory, crossMask, crossBias},
          layerParameters(*b.root, b.selfAttention->prefix));
    } else {
      x = decoderBlock(b, x, selfMask, selfBias, memory, crossMask, crossBias,
                       cache ? &cache->keys[layer] : nullptr, cache ? &cache->values[layer] : nullptr, past);
    }
    ++layer;
  }
  x = m_dropout(m_decoderNorm(x));
  if (m_lmHead)
    return m_lmHead(x);
  return torch::matmul(x * std::pow(m_config.dModel, -0.5), shared->weight.t()); // tied, rescaled
}

T5Decoding::T5Decoding(T5Model model, const torch::Tensor &ids, const torch::Tensor &mask)
  : m_model(std::move(model)), m_encoderMask(m_model->memoryMask(mask))
{
  torch::NoGradGuard noGrad;
  m_encoderOutput = m_model->encode(ids, mask);
}

torch::Tensor T5Decoding::logits(const torch::Tensor &ids, const torch::Tensor &mask, KVCache *cache)
{
  return m_model->decode(ids, mask, m_encoderOutput, m_encoderMask, cache);
}

std::vector<int> generateFromSource(const T5Model &model, std::vector<int> source,
                                    const GenerationOptions &options, int endId, int startId, int maxLength,
                                    int vocabularyLimit)
{
  torch::NoGradGuard noGrad;
  if (maxLength > 1 && source.size() >= static_cast<std::size_t>(maxLength))
    source.resize(static_cast<std::size_t>(maxLength - 1));
  if (endId >= 0)
    source.push_back(endId);
  if (source.empty())
    source.push_back(startId);
  const torch::Tensor ids = torch::tensor(std::vector<long>(source.begin(), source.end())).unsqueeze(0);
  T5Decoding decoding(model, ids, torch::ones_like(ids));
  std::vector<int> out;
  for (int id : generate(decoding, {startId}, options))
    if (id < vocabularyLimit && id != endId)
      out.push_back(id);
  return out;
}

} // namespace tunebench
