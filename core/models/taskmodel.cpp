#include "core/models/taskmodel.h"

#include "core/models/checkpoint.h"
#include "core/models/gpt2.h"
#include "core/models/modelconfig.h"
#include "core/models/t5.h"
#include "core/models/uselite.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <torch/torch.h>

namespace tunebench {
namespace fs = std::filesystem;

int countFrozenBottomLayers(torch::nn::Module &embeddings, torch::nn::ModuleList &layers)
{
  const auto frozen = [](torch::nn::Module &m) {
    for (const torch::Tensor &p : m.parameters())
      if (p.requires_grad())
        return false;
    return true;
  };
  if (!frozen(embeddings))
    return 0;
  int k = 0;
  while (k < static_cast<int>(layers->size()) && frozen(*layers[static_cast<std::size_t>(k)]))
    ++k;
  return k;
}

torch::Tensor Backbone::forwardBottom(int, const torch::Tensor &, const torch::Tensor &, const torch::Tensor &)
{
  throw Error("the " + family() + " backbone cannot cache frozen layers");
}

BackboneOutput Backbone::forwardTop(int, const torch::Tensor &, const torch::Tensor &)
{
  throw Error("the " + family() + " backbone cannot cache frozen layers");
}

namespace {

torch::Tensor maskedMean(const torch::Tensor &hidden, const torch::Tensor &mask)
{
  const torch::Tensor m = mask.to(hidden.scalar_type()).unsqueeze(-1);
  return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0);
}

class EncoderBackbone final : public Backbone
{
public:
  explicit EncoderBackbone(const EncoderConfig &c) : m_model(c) {}
  std::string family() const override { return m_model->config().modelType; }
  int hiddenSize() const override { return m_model->config().hiddenSize; }
  std::shared_ptr<torch::nn::Module> module() override { return m_model.ptr(); }
  BackboneOutput forward(const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &types) override
  {
    const EncoderOutput out = m_model(ids, mask, types);
    // Token heads see the real positions only (a soft prompt's are dropped); pooled is the model's own.
    const std::int64_t p = m_model->embeddings->promptLength();
    return {p ? out.lastHidden.narrow(1, p, ids.size(1)) : out.lastHidden, out.pooled, mask};
  }
  int frozenBottomLayers() override
  {
    return m_model->embeddings->prompt ? 0 : countFrozenBottomLayers(*m_model->embeddings, m_model->layers);
  }
  torch::Tensor forwardBottom(int k, const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &types) override
  {
    return m_model->forwardBottom(k, ids, mask, types);
  }
  BackboneOutput forwardTop(int k, const torch::Tensor &hidden, const torch::Tensor &mask) override
  {
    const EncoderOutput out = m_model->forwardTop(k, hidden, mask);
    return {out.lastHidden, out.pooled, mask};
  }
  TransformerEncoder m_model;
};

class UseLiteBackbone final : public Backbone
{
public:
  explicit UseLiteBackbone(std::shared_ptr<UseLiteEncoderImpl> m) : m_model(std::move(m)) {}
  std::string family() const override { return "use-lite"; }
  int hiddenSize() const override { return m_model->config().hiddenSize; }
  std::shared_ptr<torch::nn::Module> module() override { return m_model.ptr(); }
  BackboneOutput forward(const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &) override
  {
    const auto out = m_model(ids, mask);
    const std::int64_t time = out.hidden.size(1);
    return {out.hidden, out.embedding, mask.narrow(1, 0, time)};
  }
  int frozenBottomLayers() override
  {
    return m_model->prompt ? 0 : countFrozenBottomLayers(*m_model->embeddings, m_model->layers);
  }
  std::int64_t cachedWidth(std::int64_t time) const override
  {
    return std::min<std::int64_t>(time, m_model->config().maxLength);
  }
  torch::Tensor forwardBottom(int k, const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &) override
  {
    return m_model->forwardBottom(k, ids, mask);
  }
  BackboneOutput forwardTop(int k, const torch::Tensor &hidden, const torch::Tensor &mask) override
  {
    const auto out = m_model->forwardTop(k, hidden, mask);
    return {out.hidden, out.embedding, mask};
  }
  UseLiteEncoder m_model;
};

class Gpt2Backbone final : public Backbone
{
public:
  explicit Gpt2Backbone(const Gpt2Config &c) : m_model(c) {}
  std::string family() const override { return "gpt2"; }
  int hiddenSize() const override { return m_model->config().hiddenSize; }
  std::shared_ptr<torch::nn::Module> module() override { return m_model.ptr(); }
  BackboneOutput forward(const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &) override
  {
    std::vector<torch::Tensor> hidden;
    m_model(ids, mask, nullptr, &hidden);
    // A decoder's summary of a sequence is its last real token (it has seen everything).
    const torch::Tensor last = (mask.sum(1) - 1).clamp_min(0);
    const torch::Tensor pooled = hidden.back().index({torch::arange(ids.size(0)), last});
    return {hidden.back(), pooled, mask};
  }
  Gpt2LMHeadModel m_model;
};

class T5EncoderBackbone final : public Backbone
{
public:
  explicit T5EncoderBackbone(const T5Config &c) : m_model(c) {}
  std::string family() const override { return "t5"; }
  int hiddenSize() const override { return m_model->config().dModel; }
  std::shared_ptr<torch::nn::Module> module() override { return m_model.ptr(); }
  BackboneOutput forward(const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &) override
  {
    // A soft prompt's positions come first: the task sees the real positions only.
    torch::Tensor hidden = m_model->encode(ids, mask);
    hidden = hidden.narrow(1, hidden.size(1) - ids.size(1), ids.size(1));
    return {hidden, maskedMean(hidden, mask), mask};
  }
  T5Model m_model;
};

std::unique_ptr<Backbone> makeBackbone(const fs::path &folder, bool pretrained, std::string *report,
                                       const TensorMap *weights)
{
  if (fileExists(folder / "model.json") && !fileExists(folder / "config.json")) {
    auto model = UseLiteEncoderImpl::fromTfjs(folder);
    if (!pretrained)
      model = std::make_shared<UseLiteEncoderImpl>(model->config());
    return std::make_unique<UseLiteBackbone>(model);
  }
  const fs::path config = folder / "config.json";
  if (!fileExists(config))
    throw Error(folder.string() + ": no config.json and no TF.js model.json: not a model folder");
  const std::string type = readModelType(config);
  std::unique_ptr<Backbone> backbone;
  std::string strip;
  if (type == "gpt2") {
    backbone = std::make_unique<Gpt2Backbone>(Gpt2Config::fromFile(config));
  } else if (type == "t5" || type == "mt5") {
    backbone = std::make_unique<T5EncoderBackbone>(T5Config::fromFile(config));
    strip = "transformer."; // T5ForTokenClassification keeps its T5EncoderModel there
  } else if (type == "use-lite") {
    // tunebench's own layout of an exported USE-Lite model (no Hugging Face architecture exists).
    auto model =
        std::make_shared<UseLiteEncoderImpl>(UseLiteConfig::fromJson(readJsonFile(config), config.string()));
    backbone = std::make_unique<UseLiteBackbone>(model);
    strip = "use_lite.";
  } else {
    backbone = std::make_unique<EncoderBackbone>(EncoderConfig::fromFile(config));
    strip = type + ".";
  }
  if (pretrained) {
    const LoadReport r = loadStateDict(*backbone->module(), weights ? *weights : readCheckpoint(folder),
                                       folder.string(), "", {}, strip);
    if (report)
      *report = r.summary();
  }
  return backbone;
}

} // namespace

std::unique_ptr<Backbone> loadBackbone(const fs::path &folder, std::string *report, const TensorMap *weights)
{
  return makeBackbone(folder, true, report, weights);
}

std::unique_ptr<Backbone> randomBackbone(const fs::path &folder)
{
  return makeBackbone(folder, false, nullptr, nullptr);
}

HeadStyle headStyleFor(const std::string &family, const HeadSpec &spec)
{
  if (spec.style != HeadStyle::Auto)
    return spec.style;
  if (spec.kind == HeadKind::TokenClassification || spec.pooling != Pooling::Native)
    return HeadStyle::Linear;
  if (family == "roberta")
    return HeadStyle::DenseTanh;
  if (family == "distilbert")
    return HeadStyle::DenseRelu;
  if (family == "gpt2")
    return HeadStyle::Score;
  return HeadStyle::Linear;
}

TaskHeadImpl::TaskHeadImpl(const HeadSpec &spec, int hiddenSize) : m_spec(spec)
{
  if (spec.outputs < 1)
    throw Error("head \"" + spec.name + "\" needs at least one output");
  if (spec.style == HeadStyle::DenseTanh || spec.style == HeadStyle::DenseRelu)
    dense = register_module("dense", Linear(hiddenSize, hiddenSize));
  linear = register_module("linear", Linear(hiddenSize, spec.outputs, spec.style != HeadStyle::Score));
  m_dropout = register_module("dropout", Dropout(spec.dropout));
}

torch::Tensor TaskHeadImpl::forward(const BackboneOutput &x)
{
  if (m_spec.kind == HeadKind::TokenClassification)
    return linear(m_dropout(x.hidden));
  torch::Tensor pooled;
  switch (m_spec.pooling) {
  case Pooling::Native: pooled = x.pooled; break;
  case Pooling::First: pooled = x.hidden.select(1, 0); break;
  case Pooling::Mean: pooled = maskedMean(x.hidden, x.mask); break;
  }
  switch (m_spec.style) {
  case HeadStyle::DenseTanh:
    return linear(m_dropout(torch::tanh(dense(m_dropout(pooled)))));
  case HeadStyle::DenseRelu:
    return linear(m_dropout(torch::relu(dense(pooled))));
  case HeadStyle::Score:
    return linear(pooled);
  default:
    return linear(m_dropout(pooled));
  }
}

TaskModelImpl::TaskModelImpl(std::unique_ptr<Backbone> backbone) : m_backbone(std::move(backbone))
{
  register_module("backbone", m_backbone->module());
  m_heads = register_module("heads", std::make_shared<torch::nn::Module>());
}

TaskHead TaskModelImpl::addHead(const HeadSpec &spec)
{
  if (m_byName.count(spec.name))
    throw Error("the model already has a head named \"" + spec.name + "\"");
  HeadSpec resolved = spec;
  resolved.style = headStyleFor(m_backbone->family(), spec);
  TaskHead head = m_heads->register_module(spec.name, TaskHead(resolved, m_backbone->hiddenSize()));
  m_byName.emplace(spec.name, head);
  m_order.push_back(spec.name);
  return head;
}

std::vector<HeadSpec> TaskModelImpl::headSpecs() const
{
  std::vector<HeadSpec> specs;
  for (const std::string &name : m_order)
    specs.push_back(m_byName.at(name)->spec());
  return specs;
}

TaskHead TaskModelImpl::head(const std::string &name) const
{
  const auto it = m_byName.find(name);
  if (it == m_byName.end())
    throw Error("the model has no head named \"" + name + "\"");
  return it->second;
}

BackboneOutput TaskModelImpl::encode(const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &types)
{
  return m_backbone->forward(ids, mask, types);
}

torch::Tensor TaskModelImpl::forward(const std::string &name, const torch::Tensor &ids, const torch::Tensor &mask,
                                     const torch::Tensor &types)
{
  return head(name)->forward(encode(ids, mask, types));
}

torch::Tensor TaskModelImpl::forward(const std::string &name, const BackboneOutput &encoded)
{
  return head(name)->forward(encoded);
}

} // namespace tunebench
