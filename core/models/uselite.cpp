#include "core/models/uselite.h"

#include "core/models/checkpointing.h"
#include "core/models/linear.h"
#include "core/util/error.h"
#include "core/util/jsonfile.h"

#include <torch/torch.h>

#include <cmath>
#include <regex>

namespace tunebench {

namespace {

Linear linear(int in, int out) { return Linear(in, out); }

// The one weight whose TF name ends with `suffix`.
const torch::Tensor &weightEndingWith(const TfjsModel &model, const std::string &suffix, const std::string &source)
{
  const torch::Tensor *found = nullptr;
  for (const auto &[name, t] : model.weights)
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      if (found)
        throw Error(source + ": more than one weight ends with \"" + suffix + "\"");
      found = &t;
    }
  if (!found)
    throw Error(source + ": the graph has no weight \"…" + suffix + "\" (is this the USE-Lite model?)");
  return *found;
}

int scalarInt(const torch::Tensor &t) { return static_cast<int>(t.to(torch::kInt64).item<std::int64_t>()); }

} // namespace

nlohmann::json UseLiteConfig::toJson() const
{
  return {{"model_type", "use-lite"}, {"vocab_size", vocabSize}, {"embedding_size", embeddingSize},
          {"hidden_size", hiddenSize}, {"ffn_size", ffnSize}, {"num_heads", numHeads},
          {"num_layers", numLayers}, {"max_length", maxLength}, {"layer_norm_eps", layerNormEps},
          {"dropout", dropout}};
}

UseLiteConfig UseLiteConfig::fromJson(const nlohmann::json &j, const std::string &source)
{
  if (j.value("model_type", std::string()) != "use-lite")
    throw Error(source + ": field \"model_type\" is not \"use-lite\"");
  UseLiteConfig c;
  try {
    c.vocabSize = j.at("vocab_size");
    c.embeddingSize = j.at("embedding_size");
    c.hiddenSize = j.at("hidden_size");
    c.ffnSize = j.at("ffn_size");
    c.numHeads = j.at("num_heads");
    c.numLayers = j.at("num_layers");
    c.maxLength = j.value("max_length", 128);
    c.layerNormEps = j.value("layer_norm_eps", 1e-6);
    c.dropout = j.value("dropout", 0.1);
  } catch (const nlohmann::json::exception &e) {
    throw Error(source + ": " + jsonErrorReason(e));
  }
  return c;
}

UseLiteLayerImpl::UseLiteLayerImpl(const UseLiteConfig &c, int in) : m_heads(c.numHeads)
{
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({in}).eps(c.layerNormEps)));
  qkv = register_module("qkv", linear(in, 3 * in));
  out = register_module("out", linear(in, c.hiddenSize));
  if (in != c.hiddenSize)
    residual = register_module("residual", linear(in, c.hiddenSize));
  ffnNorm = register_module("ffn_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hiddenSize}).eps(c.layerNormEps)));
  fc1 = register_module("fc1", linear(c.hiddenSize, c.ffnSize));
  fc2 = register_module("fc2", linear(c.ffnSize, c.hiddenSize));
  m_dropout = register_module("dropout", Dropout(c.dropout));
}

torch::Tensor UseLiteLayerImpl::forward(const torch::Tensor &x, const torch::Tensor &additiveMask)
{
  const auto batch = x.size(0), time = x.size(1), width = x.size(2), headSize = width / m_heads;
  const std::vector<torch::Tensor> parts = qkv(norm(x)).split(width, -1);
  auto heads = [&](const torch::Tensor &t) { return t.view({batch, time, m_heads, headSize}).transpose(1, 2); };
  const torch::Tensor q = heads(parts[0]) * (1.0 / std::sqrt(static_cast<double>(headSize)));
  torch::Tensor k = heads(parts[1]), v = heads(parts[2]), mask = additiveMask;
  applyPrefix(prefix, k, v, mask);
  torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2)) + mask.to(q.scalar_type());
  const torch::Tensor context = torch::matmul(torch::softmax(scores, -1), v).transpose(1, 2).reshape({batch, time, width});
  // The residual stream stays in x's dtype (fp32) under bf16 autocast: LayerNorm needs its input in
  // its weights' dtype.
  const torch::Tensor y = (m_dropout(out(context)) + (residual ? residual(x) : x)).to(x.scalar_type());
  return (y + m_dropout(fc2(torch::relu(fc1(ffnNorm(y)))))).to(x.scalar_type());
}

UseLiteEncoderImpl::UseLiteEncoderImpl(const UseLiteConfig &c) : m_config(c)
{
  embeddings = register_module("embeddings", makeEmbedding(c.vocabSize, c.embeddingSize));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < c.numLayers; ++i)
    layers->push_back(UseLiteLayer(c, i == 0 ? c.embeddingSize : c.hiddenSize));
  pooler = register_module("pooler", linear(c.hiddenSize, c.hiddenSize));
  // The timing signal's inverse timescales (log-spaced from 1 to 1e-4), as tensor2tensor makes them.
  const int half = c.embeddingSize / 2;
  const double logIncrement = std::log(1.0e4) / std::max(half - 1, 1);
  invTimescales = register_buffer("inv_timescales",
                                  torch::exp(torch::arange(half, torch::kFloat64) * -logIncrement).to(torch::kFloat32));
}

std::shared_ptr<UseLiteEncoderImpl> UseLiteEncoderImpl::fromTfjs(const std::filesystem::path &folder)
{
  const TfjsModel tf = readTfjsModel(folder);
  const std::string source = (folder / "model.json").string();
  auto w = [&](const std::string &suffix) -> const torch::Tensor & { return weightEndingWith(tf, suffix, source); };
  // Read the architecture off the graph's weights and constants.
  UseLiteConfig c;
  const torch::Tensor &embedding = w("module/Embeddings_en");
  c.vocabSize = static_cast<int>(embedding.size(0));
  c.embeddingSize = static_cast<int>(embedding.size(1));
  const std::regex layerName(".*/Encode/Layer_(\\d+)/TransformerLayer/layer_prepostprocess/layer_norm/layer_norm_scale/.*");
  int layers = 0;
  for (const auto &[name, t] : tf.weights) {
    std::smatch m;
    if (std::regex_match(name, m, layerName))
      layers = std::max(layers, std::stoi(m[1]) + 1);
  }
  c.numLayers = layers;
  if (layers == 0)
    throw Error(source + ": no transformer layers found in the graph");
  const std::string stack = "Encode/TransformerStack/Layer_1/TransformerLayer/";
  c.numHeads = scalarInt(w(stack + "MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/2"));
  c.layerNormEps = w(stack + "FFN/layer_prepostprocess/layer_norm/Cast/x").item<float>();
  c.maxLength = scalarInt(w("ClipToMaxLength/Less/y"));
  c.hiddenSize = static_cast<int>(w("hidden_layers/tanh_layer_0/weights").size(0));
  c.ffnSize = static_cast<int>(w("Encode/TransformerStack/Layer_0/TransformerLayer/FFN/conv1/Tensordot/Reshape_1").size(1));

  auto model = std::make_shared<UseLiteEncoderImpl>(c);
  torch::NoGradGuard noGrad;
  // TF kernels are [in, out] (1×1 convolutions [1, 1, in, out]); torch's Linear holds [out, in].
  auto set = [&](Linear &l, const torch::Tensor &kernel, const torch::Tensor &bias) {
    const torch::Tensor k = kernel.reshape({kernel.size(-2), kernel.size(-1)}).t();
    if (k.sizes() != l->weight.sizes())
      throw Error(source + ": a kernel of shape " + std::to_string(kernel.size(-2)) + "×" +
                  std::to_string(kernel.size(-1)) + " does not fit the layer it belongs to");
    l->weight.copy_(k);
    l->bias.copy_(bias);
  };
  model->embeddings->weight.copy_(embedding);
  model->invTimescales.copy_(w("Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1").reshape({-1}));
  for (int i = 0; i < c.numLayers; ++i) {
    auto *layer = model->layers[static_cast<std::size_t>(i)]->as<UseLiteLayerImpl>();
    const std::string L = "Encode/Layer_" + std::to_string(i) + "/TransformerLayer/";
    const std::string S = "Encode/TransformerStack/Layer_" + std::to_string(i) + "/TransformerLayer/";
    layer->norm->weight.copy_(w(L + "layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat"));
    layer->norm->bias.copy_(w(L + "layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat"));
    set(layer->qkv, w(L + "MultiheadAttention/qkv_transform_single/kernel/part_0"),
        w(L + "MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat"));
    set(layer->out, w(L + "MultiheadAttention/output_transform_single/kernel/part_0"),
        w(L + "MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat"));
    if (layer->residual)
      set(layer->residual, w(L + "dense/kernel/ConcatPartitions/concat"), w(L + "dense/bias/ConcatPartitions/concat"));
    layer->ffnNorm->weight.copy_(w(L + "FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat"));
    layer->ffnNorm->bias.copy_(w(L + "FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat"));
    set(layer->fc1, w(S + "FFN/conv1/Tensordot/Reshape_1"), w(L + "FFN/conv1/bias/ConcatPartitions/concat"));
    set(layer->fc2, w(S + "FFN/conv2/Tensordot/Reshape_1"), w(L + "FFN/conv2/bias/ConcatPartitions/concat"));
  }
  set(model->pooler, w("hidden_layers/tanh_layer_0/weights"), w("hidden_layers/tanh_layer_0/bias"));
  return model;
}

namespace {

torch::Tensor additiveMaskOf(const torch::Tensor &mask) // mask: [batch, time, 1] float
{
  return (1.0 - mask.squeeze(-1)).mul(-1e9).view({mask.size(0), 1, 1, mask.size(1)});
}

torch::Tensor runLayers(torch::nn::ModuleList &layers, int from, int to, torch::Tensor x, const torch::Tensor &additive)
{
  for (int i = from; i < to; ++i)
    x = runEncoderLayer(i, layers[static_cast<std::size_t>(i)]->as<UseLiteLayerImpl>(), x, additive);
  return x;
}

} // namespace

torch::Tensor UseLiteEncoderImpl::embed(const torch::Tensor &ids, torch::Tensor &mask, std::int64_t &p)
{
  torch::Tensor e = embeddings(ids.clamp_min(0));
  p = 0;
  if (prompt) { // soft prompt first: it gets timing positions and is always attended
    const torch::Tensor soft = prompt->embeddings();
    p = soft.size(0);
    e = torch::cat({soft.to(e.scalar_type()).unsqueeze(0).expand({ids.size(0), p, soft.size(1)}), e}, 1);
    mask = torch::cat({torch::ones({ids.size(0), p, 1}, mask.options()), mask}, 1);
  }
  const std::int64_t total = ids.size(1) + p;
  // As the graph computes it: the embedding plus (the embedding plus the timing signal).
  const torch::Tensor angles = torch::arange(total, torch::kFloat32).unsqueeze(1) * invTimescales.unsqueeze(0);
  const torch::Tensor timing = torch::cat({torch::sin(angles), torch::cos(angles)}, 1).unsqueeze(0);
  return (2.0 * e + timing) * mask;
}

UseLiteEncoderImpl::Output UseLiteEncoderImpl::finish(const torch::Tensor &x, const torch::Tensor &mask, std::int64_t p,
                                                      std::int64_t time)
{
  Output out;
  out.hidden = p ? x.narrow(1, p, time) : x; // the real positions
  out.pooled = (x * mask).sum(1) / mask.sum(1).clamp_min(1.0);
  const torch::Tensor t = torch::tanh(pooler(out.pooled));
  out.embedding = t * torch::rsqrt(t.pow(2).sum(-1, true).clamp_min(1e-12));
  return out;
}

UseLiteEncoderImpl::Output UseLiteEncoderImpl::forward(const torch::Tensor &idsIn, const torch::Tensor &maskIn)
{
  const std::int64_t time = std::min<std::int64_t>(idsIn.size(1), m_config.maxLength);
  torch::Tensor mask = maskIn.narrow(1, 0, time).to(torch::kFloat32).unsqueeze(-1);
  std::int64_t p = 0;
  torch::Tensor x = embed(idsIn.narrow(1, 0, time), mask, p);
  x = runLayers(layers, 0, static_cast<int>(layers->size()), x, additiveMaskOf(mask));
  return finish(x, mask, p, time);
}

torch::Tensor UseLiteEncoderImpl::forwardBottom(int k, const torch::Tensor &idsIn, const torch::Tensor &maskIn)
{
  if (prompt)
    throw Error("USE-Lite's bottom layers cannot be cached with a soft prompt");
  const std::int64_t time = std::min<std::int64_t>(idsIn.size(1), m_config.maxLength);
  torch::Tensor mask = maskIn.narrow(1, 0, time).to(torch::kFloat32).unsqueeze(-1);
  std::int64_t p = 0;
  const torch::Tensor x = embed(idsIn.narrow(1, 0, time), mask, p);
  return runLayers(layers, 0, k, x, additiveMaskOf(mask));
}

UseLiteEncoderImpl::Output UseLiteEncoderImpl::forwardTop(int k, const torch::Tensor &hidden, const torch::Tensor &maskIn)
{
  const torch::Tensor mask = maskIn.to(torch::kFloat32).unsqueeze(-1);
  const torch::Tensor x = runLayers(layers, k, static_cast<int>(layers->size()), hidden, additiveMaskOf(mask));
  return finish(x, mask, 0, hidden.size(1));
}

} // namespace tunebench
