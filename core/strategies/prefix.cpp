#include "core/strategies/prefix.h"

#include "core/models/encoder.h"
#include "core/models/gpt2.h"
#include "core/models/linear.h"
#include "core/models/moduletree.h"
#include "core/models/t5.h"
#include "core/models/uselite.h"
#include "core/runtime/generator.h"
#include "core/util/error.h"

#include <torch/torch.h>

namespace tunebench {

namespace {

// The prefixes of every layer: a [P, Σ 2·width] table, or an MLP over P embeddings that makes it.
class PrefixEncoderImpl final : public torch::nn::Module, public KeyValuePrefix
{
public:
  PrefixEncoderImpl(std::vector<int> widths, const PrefixOptions &o) : m_widths(std::move(widths)), m_p(o.virtualTokens)
  {
    std::int64_t total = 0;
    for (int w : m_widths) {
      m_offsets.push_back(total);
      total += 2 * w;
    }
    // PEFT's names: embedding.weight, transform.0 / transform.2 (the MLP around a tanh).
    auto holder = register_module("embedding", std::make_shared<torch::nn::Module>());
    if (o.reparameterize) {
      embedding =
          holder->register_parameter("weight", torch::randn({m_p, m_widths.front()}, currentGenerator()));
      down = registerAt(*this, "transform.0", torch::nn::Linear(m_widths.front(), o.projectionHidden));
      up = registerAt(*this, "transform.2", torch::nn::Linear(o.projectionHidden, total));
      initLinearParameters(down->weight, down->bias);
      initLinearParameters(up->weight, up->bias);
    } else {
      embedding = holder->register_parameter("weight", torch::randn({m_p, total}, currentGenerator()));
    }
  }
  int length() const override { return static_cast<int>(m_p); }
  std::pair<torch::Tensor, torch::Tensor> keyValue(int layer) override
  {
    const torch::Tensor table = up ? up(torch::tanh(down(embedding))) : embedding;
    const auto w = m_widths[static_cast<std::size_t>(layer)];
    const auto at = m_offsets[static_cast<std::size_t>(layer)];
    return {table.narrow(1, at, w), table.narrow(1, at + w, w)};
  }
  torch::Tensor embedding;
  torch::nn::Linear down{nullptr}, up{nullptr};

private:
  std::vector<int> m_widths;
  std::vector<std::int64_t> m_offsets;
  std::int64_t m_p;
};

class PromptEncoderImpl final : public torch::nn::Module, public SoftPrompt
{
public:
  explicit PromptEncoderImpl(torch::Tensor initial)
  {
    auto holder = register_module("embedding", std::make_shared<torch::nn::Module>());
    weight = holder->register_parameter("weight", std::move(initial));
  }
  torch::Tensor embeddings() override { return weight; }
  torch::Tensor weight;
};

} // namespace

void PromptTuning::apply(torch::nn::Module &model)
{
  if (m_options.virtualTokens < 1)
    throw Error("prompt tuning needs at least one virtual token");
  std::shared_ptr<SoftPrompt> *slot = nullptr;
  torch::Tensor vocabulary;
  for (const auto &m : model.modules(/*include_self=*/true)) {
    if (auto *e = dynamic_cast<EmbeddingsImpl *>(m.get())) {
      slot = &e->prompt;
      vocabulary = e->words->weight;
    } else if (auto *u = dynamic_cast<UseLiteEncoderImpl *>(m.get())) {
      slot = &u->prompt;
      vocabulary = u->embeddings->weight;
    } else if (auto *g = dynamic_cast<Gpt2LMHeadModelImpl *>(m.get())) {
      slot = &g->prompt;
      vocabulary = g->wte->weight;
    } else if (auto *t = dynamic_cast<T5ModelImpl *>(m.get())) {
      slot = &t->prompt;
      vocabulary = t->shared->weight;
    }
    if (slot)
      break;
  }
  if (!slot)
    throw Error("prompt tuning: the model has no input embeddings it supports (BERT, RoBERTa, DistilBERT, GPT-2, "
                "T5, USE-Lite)");
  torch::NoGradGuard noGrad;
  const auto p = static_cast<std::int64_t>(m_options.virtualTokens);
  torch::Tensor initial;
  if (!m_options.initIds.empty()) {
    std::vector<std::int64_t> ids;
    for (std::int64_t i = 0; i < p; ++i) {
      const int id = m_options.initIds[static_cast<std::size_t>(i) % m_options.initIds.size()];
      if (id < 0 || id >= vocabulary.size(0))
        throw Error("prompt tuning: init token id " + std::to_string(id) + " is outside the vocabulary");
      ids.push_back(id);
    }
    initial = vocabulary.index_select(0, torch::tensor(ids, torch::kLong)).detach().clone();
  } else {
    initial = torch::randn({p, vocabulary.size(1)}, currentGenerator()) * vocabulary.std().item<double>();
  }
  auto encoder = std::make_shared<PromptEncoderImpl>(initial.to(torch::kFloat32));
  for (auto &param : model.named_parameters())
    param.value().set_requires_grad(isHeadParameter(param.key()));
  model.register_module("prompt_encoder", encoder);
  *slot = encoder;
}

void PrefixTuning::apply(torch::nn::Module &model)
{
  if (m_options.virtualTokens < 1)
    throw Error("prefix tuning needs at least one virtual token");
  std::vector<PrefixSlot *> slots;
  m_widths.clear();
  for (const auto &m : model.modules(false)) {
    if (auto *l = dynamic_cast<EncoderLayerImpl *>(m.get())) {
      slots.push_back(&l->prefix);
      m_widths.push_back(static_cast<int>(l->key->weight.size(0)));
    } else if (auto *u = dynamic_cast<UseLiteLayerImpl *>(m.get())) {
      slots.push_back(&u->prefix);
      m_widths.push_back(static_cast<int>(u->qkv->weight.size(0) / 3));
    } else if (auto *g = dynamic_cast<Gpt2BlockImpl *>(m.get())) {
      slots.push_back(&g->prefix);
      m_widths.push_back(g->attention->outFeatures() / 3);
    } else if (auto *t = dynamic_cast<T5AttentionImpl *>(m.get())) {
      // T5: the encoder's self-attention, the decoder's self- and cross-attention.
      slots.push_back(&t->prefix);
      m_widths.push_back(static_cast<int>(t->k->weight.size(0)));
    }
  }
  if (slots.empty())
    throw Error("prefix tuning: the model has no attention layer it supports (BERT, RoBERTa, DistilBERT, GPT-2, "
                "T5, USE-Lite)");
  auto encoder = std::make_shared<PrefixEncoderImpl>(m_widths, m_options);
  for (auto &p : model.named_parameters())
    p.value().set_requires_grad(isHeadParameter(p.key()));
  model.register_module("prefix_encoder", encoder);
  for (std::size_t i = 0; i < slots.size(); ++i)
    *slots[i] = PrefixSlot{encoder, static_cast<int>(i)};
}

} // namespace tunebench
