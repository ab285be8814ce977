#include "core/strategies/adapters.h"

#include "core/strategies/hookable.h"
#include "core/util/error.h"

#include <torch/torch.h>

#include <regex>

namespace tunebench {

namespace {

bool matches(const std::string &name, const char *pattern)
{
  return std::regex_search(name, std::regex(pattern));
}

class AdapterHook final : public OutputHook
{
public:
  AdapterHook(Linear down, Linear up, std::string activation)
    : m_down(std::move(down)), m_up(std::move(up)), m_activation(std::move(activation))
  {
  }
  torch::Tensor apply(const torch::Tensor &, const torch::Tensor &y) override
  {
    torch::Tensor h = m_down(y);
    h = m_activation == "gelu" ? torch::gelu(h) : m_activation == "tanh" ? torch::tanh(h) : torch::relu(h);
    return y + m_up(h);
  }

private:
  Linear m_down, m_up;
  std::string m_activation;
};

// Scales the output (keys, values) or the input (the FFN's output layer) by a learned vector.
class Ia3Hook final : public OutputHook
{
public:
  Ia3Hook(torch::Tensor scale, bool onInput, torch::Tensor weight, torch::Tensor bias, bool transposed)
    : vector(std::move(scale)), m_onInput(onInput), m_weight(std::move(weight)), m_bias(std::move(bias)),
      m_transposed(transposed)
  {
  }
  torch::Tensor apply(const torch::Tensor &x, const torch::Tensor &y) override
  {
    if (merged)
      return y;
    if (!m_onInput)
      return y * vector;
    const torch::Tensor scaled = x * vector;
    return m_transposed ? torch::matmul(scaled, m_weight) + m_bias : torch::linear(scaled, m_weight, m_bias);
  }
  // Folds the vector into the weight (or takes it out again).
  void fold(bool in)
  {
    torch::NoGradGuard noGrad;
    const torch::Tensor v = in ? vector : vector.reciprocal();
    // Linear weight [out, in]; Conv1D weight [in, out].
    const int64_t outDim = m_transposed ? 1 : 0, inDim = m_transposed ? 0 : 1;
    m_weight.mul_(m_onInput ? v.unsqueeze(outDim == 0 ? 0 : 1) : v.unsqueeze(inDim == 0 ? 0 : 1));
    if (!m_onInput && m_bias.defined())
      m_bias.mul_(v);
    merged = in;
  }
  torch::Tensor vector;
  bool merged = false;

private:
  bool m_onInput;
  torch::Tensor m_weight, m_bias;
  bool m_transposed;
};

} // namespace

bool isAttentionOutput(const std::string &m)
{
  return matches(m, R"((attention\.output\.dense|attention\.out_lin|attn\.c_proj|SelfAttention\.o|layers\.\d+\.out)$)");
}

bool isFeedForwardOutput(const std::string &m)
{
  return matches(m, R"(((layer\.\d+\.output\.dense)|ffn\.lin2|mlp\.c_proj|DenseReluDense\.wo|layers\.\d+\.fc2)$)");
}

bool isKeyOrValue(const std::string &m)
{
  return matches(m, R"((self\.key|self\.value|k_lin|v_lin|attn\.c_attn|SelfAttention\.k|SelfAttention\.v|layers\.\d+\.qkv)$)");
}

AdapterStrategy::AdapterStrategy(AdapterOptions options) : m_options(std::move(options))
{
  if (m_options.kind != "houlsby" && m_options.kind != "pfeiffer")
    throw Error("adapters.kind must be houlsby or pfeiffer, got \"" + m_options.kind + "\"");
  if (m_options.reductionFactor < 1)
    throw Error("adapters.reduction_factor must be at least 1");
}

void AdapterStrategy::apply(torch::nn::Module &model)
{
  for (auto &p : model.parameters())
    p.set_requires_grad(false);
  int added = 0;
  for (const auto &item : model.named_modules()) {
    const std::string &name = item.key();
    const bool wanted = isFeedForwardOutput(name) || (m_options.kind == "houlsby" && isAttentionOutput(name));
    const auto target = hookable(item.value());
    if (!wanted || !target || isHeadParameter(name + "."))
      continue;
    const int bottleneck = std::max(1, target->out / m_options.reductionFactor);
    Linear down(target->out, bottleneck), up(bottleneck, target->out);
    {
      torch::NoGradGuard noGrad;
      up->weight.zero_(); // near-identity: the adapter adds nothing at first
      up->bias.zero_();
    }
    target->module->register_module("adapter_down", down);
    target->module->register_module("adapter_up", up);
    target->add(std::make_shared<AdapterHook>(down, up, m_options.activation));
    ++added;
  }
  if (added == 0)
    throw Error("adapters: the model has no attention or feed-forward output layer tunebench knows");
  for (auto &p : model.named_parameters())
    if (p.key().find(".adapter_") != std::string::npos || isHeadParameter(p.key()))
      p.value().set_requires_grad(true);
}

void Ia3Strategy::apply(torch::nn::Module &model)
{
  for (auto &p : model.parameters())
    p.set_requires_grad(false);
  int added = 0;
  for (const auto &item : model.named_modules()) {
    const std::string &name = item.key();
    const bool onInput = isFeedForwardOutput(name);
    const auto target = hookable(item.value());
    if (!target || !(onInput || isKeyOrValue(name)) || isHeadParameter(name + "."))
      continue;
    torch::Tensor vector = target->module->register_parameter("ia3_l", torch::ones({onInput ? target->in : target->out}));
    torch::Tensor bias;
    for (const auto &p : target->module->named_parameters(false))
      if (p.key() == "bias")
        bias = p.value();
    target->add(std::make_shared<Ia3Hook>(vector, onInput, target->weight, bias, target->transposed));
    ++added;
  }
  if (added == 0)
    throw Error("ia3: the model has no key, value or feed-forward layer tunebench knows");
  for (auto &p : model.named_parameters())
    if (p.key().find(".ia3_l") != std::string::npos || isHeadParameter(p.key()))
      p.value().set_requires_grad(true);
}

namespace {

void foldAll(torch::nn::Module &model, bool in)
{
  for (const auto &item : model.named_modules())
    if (const auto target = hookable(item.value()))
      for (const auto &hook : *target->hooks)
        if (auto *ia3 = dynamic_cast<Ia3Hook *>(hook.get()); ia3 && ia3->merged != in)
          ia3->fold(in);
}

} // namespace

void Ia3Strategy::merge(torch::nn::Module &model) { foldAll(model, true); }
void Ia3Strategy::unmerge(torch::nn::Module &model) { foldAll(model, false); }

} // namespace tunebench
