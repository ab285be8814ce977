#include "core/strategies/lora.h"

#include "core/models/checkpointing.h"
#include "core/models/dropout.h"
#include "core/models/safetensors.h"
#include "core/runtime/generator.h"
#include "core/strategies/hookable.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

namespace tunebench {

namespace {

class LoraHook final : public OutputHook
{
public:
  LoraHook(Linear a, Linear b, double dropout, double scale, bool transposed)
    : m_a(std::move(a)), m_b(std::move(b)), m_dropout(dropout), m_scale(scale), m_transposed(transposed)
  {
  }
  torch::Tensor apply(const torch::Tensor &x, const torch::Tensor &y) override
  {
    if (merged)
      return y;
    if (m_dropout <= 0 || !m_a->is_training())
      return y + m_b(m_a(x)) * m_scale;
    // The dropped input is drawn again in the backward pass: only x is kept (one tensor for all the
    // maps of a layer that read x), not a dropped copy per map.
    const std::shared_ptr<LinearImpl> a = m_a.ptr();
    const double p = m_dropout;
    std::vector<torch::Tensor> trainable;
    if (a->weight.requires_grad())
      trainable.push_back(a->weight);
    const torch::Tensor low = recomputedPiece(
        [a, p](const std::vector<torch::Tensor> &in) { return a->forward(applyDropout(in[0], p, true)); },
        {x}, trainable);
    return y + m_b(low) * m_scale;
  }
  // The update in the base weight's own layout ([in, out] for GPT-2's Conv1D).
  torch::Tensor delta() const
  {
    const torch::Tensor d = torch::matmul(m_b->weight, m_a->weight) * m_scale;
    return m_transposed ? d.t() : d;
  }
  bool merged = false;

private:
  Linear m_a, m_b;
  double m_dropout, m_scale;
  bool m_transposed;
};

bool endsWith(const std::string &s, const std::string &suffix)
{
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A parameter name split into its module and leaf ("classifier.weight" → "classifier", "weight").

template <typename F>
void forEachLora(torch::nn::Module &model, F &&f)
{
  for (const auto &item : model.named_modules()) {
    const auto target = hookable(item.value());
    if (!target)
      continue;
    for (const auto &hook : *target->hooks)
      if (auto *lora = dynamic_cast<LoraHook *>(hook.get()))
        f(target->weight, *lora);
  }
}

} // namespace

LoraStrategy::LoraStrategy(LoraOptions options) : m_options(std::move(options))
{
  if (m_options.r < 1)
    throw Error("lora.r must be at least 1, got " + std::to_string(m_options.r));
  if (m_options.bias != "none" && m_options.bias != "all" && m_options.bias != "lora_only")
    throw Error("lora.bias must be none, all or lora_only, got \"" + m_options.bias + "\"");
}

double LoraStrategy::scaling() const
{
  return m_options.rsLora ? m_options.alpha / std::sqrt(static_cast<double>(m_options.r)) : m_options.alpha / m_options.r;
}

bool LoraStrategy::targeted(const std::string &name) const
{
  if (isHeadParameter(name + "."))
    return false;
  for (const std::string &t : m_options.targets)
    if (t == "all-linear" || name == t || endsWith(name, "." + t))
      return true;
  return false;
}

void LoraStrategy::apply(torch::nn::Module &model)
{
  GeneratorScope seeded(seededGenerator(m_options.seed)); // the LoRA matrices' own draws
  for (auto &p : model.parameters())
    p.set_requires_grad(false);
  m_adapted.clear();
  for (const auto &item : model.named_modules()) {
    const auto target = hookable(item.value());
    if (!target || !targeted(item.key()))
      continue;
    Linear a(target->in, m_options.r, false), b(m_options.r, target->out, false);
    torch::NoGradGuard noGrad;
    b->weight.zero_();
    target->module->register_module("lora_A", a);
    target->module->register_module("lora_B", b);
    target->add(std::make_shared<LoraHook>(a, b, m_options.dropout, scaling(), target->transposed));
    m_adapted.push_back(item.key());
    m_fanInFanOut = m_fanInFanOut || target->transposed;
    if (m_options.bias == "lora_only" && target->bias.defined())
      target->bias.set_requires_grad(true);
  }
  if (m_adapted.empty())
    throw Error("lora.target_modules matched no linear layer (targets: " + [this] {
      std::string s;
      for (const auto &t : m_options.targets)
        s += (s.empty() ? "" : ", ") + t;
      return s;
    }() + ")");
  for (auto &p : model.named_parameters()) {
    const std::string &n = p.key();
    bool trains = n.find(".lora_A.") != std::string::npos || n.find(".lora_B.") != std::string::npos ||
                  isHeadParameter(n) || (m_options.bias == "all" && endsWith(n, ".bias"));
    for (const std::string &m : m_options.modulesToSave)
      trains = trains || n.rfind(m + ".", 0) == 0 || n.find("." + m + ".") != std::string::npos;
    if (trains)
      p.value().set_requires_grad(true);
  }
}

void LoraStrategy::merge(torch::nn::Module &model)
{
  torch::NoGradGuard noGrad;
  forEachLora(model, [](const torch::Tensor &weight, LoraHook &lora) {
    if (!lora.merged) {
      weight.add_(lora.delta());
      lora.merged = true;
    }
  });
}

void LoraStrategy::unmerge(torch::nn::Module &model)
{
  torch::NoGradGuard noGrad;
  forEachLora(model, [](const torch::Tensor &weight, LoraHook &lora) {
    if (lora.merged) {
      weight.sub_(lora.delta());
      lora.merged = false;
    }
  });
}

LoraOptions LoraStrategy::readConfig(const std::filesystem::path &folder)
{
  const auto path = folder / "adapter_config.json";
  std::ifstream in(path);
  if (!in)
    throw Error(path.string() + ": cannot open (a PEFT LoRA folder holds adapter_config.json)");
  try {
    const nlohmann::json j = readJsonFile(path);
    if (j.value("peft_type", std::string()) != "LORA")
      throw Error(path.string() + ": field \"peft_type\" is \"" + j.value("peft_type", std::string()) + "\", not LORA");
    LoraOptions o;
    o.r = j.value("r", 8);
    o.alpha = j.value("lora_alpha", 8.0);
    o.dropout = j.value("lora_dropout", 0.0);
    if (j.contains("target_modules") && j["target_modules"].is_string())
      o.targets = {j["target_modules"].get<std::string>()};
    else
      o.targets = j.value("target_modules", o.targets);
    o.rsLora = j.value("use_rslora", false);
    o.bias = j.value("bias", std::string("none"));
    if (j.contains("modules_to_save") && j["modules_to_save"].is_array())
      o.modulesToSave = j["modules_to_save"].get<std::vector<std::string>>();
    return o;
  } catch (const nlohmann::json::exception &e) {
    throw Error(path.string() + ": " + jsonErrorReason(e));
  }
}

} // namespace tunebench
