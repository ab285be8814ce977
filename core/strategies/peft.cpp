#include "core/strategies/peft.h"

#include "core/models/safetensors.h"
#include "core/strategies/adapters.h"
#include "core/strategies/lora.h"
#include "core/strategies/prefix.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <torch/torch.h>

#include <map>
#include <set>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kTuner = "base_model.model."; // LoRA, IA3: the base model inside the tuner
const std::string kPromptBase = "base_model.";  // prompt learning: the base model itself

std::string stripSuffix(const std::string &name, const std::string &suffix)
{
  return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0
             ? name.substr(0, name.size() - suffix.size())
             : name;
}

std::string named(const PeftNames &names, const std::string &name)
{
  const std::string n = names(name);
  if (n.empty())
    throw Error("PEFT's layout has no place for the model's tensor \"" + name + "\"");
  return n;
}

// Trained head tensors under their base-model names (PEFT saves modules_to_save without the
// wrapper's "modules_to_save.default"); returns the modules.
std::vector<std::string> addHeads(const torch::nn::Module &model, const PeftNames &names,
                                  const std::string &prefix, TensorMap &out)
{
  std::set<std::string> modules;
  for (const auto &p : model.named_parameters())
    if (p.value().requires_grad() && isHeadParameter(p.key())) {
      const std::string n = named(names, p.key());
      out.emplace(prefix + n, p.value());
      modules.insert(n.substr(0, n.find('.')));
    }
  return {modules.begin(), modules.end()};
}

json commonConfig(const PeftTarget &target, const std::vector<std::string> &heads)
{
  return {{"base_model_name_or_path", target.baseModel},
          {"task_type", target.taskType},
          {"inference_mode", true},
          {"revision", nullptr},
          {"modules_to_save", heads.empty() ? json(nullptr) : json(heads)}};
}

json writeLora(const torch::nn::Module &model, const LoraStrategy &lora, const PeftNames &names,
               const PeftTarget &target, TensorMap &out)
{
  for (const auto &p : model.named_parameters()) {
    const std::string &n = p.key();
    const bool adapter = n.find(".lora_A.") != std::string::npos || n.find(".lora_B.") != std::string::npos;
    if (!adapter &&
        !(p.value().requires_grad() && !isHeadParameter(n))) // else trained biases (bias: all / lora_only)
      continue;
    if (const std::string hf = names(n); !hf.empty()) // not a part the export leaves out (T5's decoder)
      out.emplace(kTuner + hf, p.value());
  }
  const LoraOptions &o = lora.options();
  json c = commonConfig(target, addHeads(model, names, kTuner, out));
  c.update({{"peft_type", "LORA"},
            {"r", o.r},
            {"lora_alpha", o.alpha},
            {"lora_dropout", o.dropout},
            {"target_modules",
             o.targets.size() == 1 && o.targets[0] == "all-linear" ? json("all-linear") : json(o.targets)},
            {"bias", o.bias},
            {"use_rslora", o.rsLora},
            {"fan_in_fan_out", lora.fanInFanOut()},
            {"init_lora_weights", true},
            {"use_dora", false}});
  return c;
}

json writeIa3(const torch::nn::Module &model, const PeftNames &names, const PeftTarget &target,
              TensorMap &out)
{
  std::vector<std::string> targets, feedForward;
  for (const auto &p : model.named_parameters()) {
    const std::string &n = p.key();
    if (n.size() < 6 || n.compare(n.size() - 6, 6, ".ia3_l") != 0)
      continue;
    const std::string module = stripSuffix(n, ".ia3_l");
    const std::string hf = stripSuffix(names(n), ".ia3_l");
    if (hf.empty())
      continue;
    // PEFT's shapes: [1, in] where the input is scaled (feed-forward), else [out, 1].
    const bool onInput = isFeedForwardOutput(module);
    out.emplace(kTuner + hf + ".ia3_l", onInput ? p.value().reshape({1, -1}) : p.value().reshape({-1, 1}));
    targets.push_back(hf);
    if (onInput)
      feedForward.push_back(hf);
  }
  json c = commonConfig(target, addHeads(model, names, kTuner, out));
  c.update({{"peft_type", "IA3"},
            {"target_modules", targets},
            {"feedforward_modules", feedForward},
            {"fan_in_fan_out", target.conv1d},
            {"init_ia3_weights", true}});
  return c;
}

// Prompt learning: the soft prompt, or every layer's [keys | values] side by side per virtual
// token (PEFT's prefix encoder output, which it splits per layer into key and value).
json writePromptLearning(const torch::nn::Module &model, const std::string &strategy, const PeftNames &names,
                         const PeftTarget &target, TensorMap &out)
{
  const auto params = model.named_parameters();
  torch::NoGradGuard noGrad;
  torch::Tensor table;
  if (strategy == "prompt") {
    table = params["prompt_encoder.embedding.weight"];
  } else {
    const torch::Tensor e = params["prefix_encoder.embedding.weight"];
    if (const torch::Tensor *down = params.find("prefix_encoder.transform.0.weight")) {
      const torch::Tensor h = torch::tanh(torch::linear(e, *down, params["prefix_encoder.transform.0.bias"]));
      table = torch::linear(h, params["prefix_encoder.transform.2.weight"],
                            params["prefix_encoder.transform.2.bias"]);
    } else {
      table = e;
    }
    if (table.size(1) != 2LL * target.transformerLayers * target.hiddenSize)
      throw Error(
          "PEFT's prefix layout needs every layer's keys as wide as the hidden size; this model's are not "
          "(export --format tunebench)");
  }
  out.emplace("prompt_embeddings", table.detach().clone());
  json c = commonConfig(target, addHeads(model, names, kPromptBase, out));
  c.update({{"peft_type", strategy == "prompt" ? "PROMPT_TUNING" : "PREFIX_TUNING"},
            {"num_virtual_tokens", table.size(0)},
            {"token_dim", target.hiddenSize},
            {"num_transformer_submodules", 1},
            {"num_attention_heads", target.attentionHeads},
            {"num_layers", target.transformerLayers}});
  if (strategy == "prompt")
    c.update({{"prompt_tuning_init", "RANDOM"}});
  else
    c.update({{"encoder_hidden_size", target.hiddenSize}, {"prefix_projection", false}});
  return c;
}

} // namespace

bool hasPeftLayout(const std::string &strategy)
{
  return strategy == "lora" || strategy == "ia3" || strategy == "prefix" || strategy == "prompt";
}

void writePeftAdapter(const torch::nn::Module &model, const Strategy &strategy, const PeftNames &names,
                      const PeftTarget &target, const fs::path &folder)
{
  TensorMap out;
  json config;
  const std::string name = strategy.name();
  if (const auto *lora = dynamic_cast<const LoraStrategy *>(&strategy))
    config = writeLora(model, *lora, names, target, out);
  else if (name == "ia3")
    config = writeIa3(model, names, target, out);
  else if (name == "prompt" || name == "prefix")
    config = writePromptLearning(model, name, names, target, out);
  else
    throw Error(
        "PEFT has no layout for the " + name +
        " strategy (LoRA, IA3, prefix and prompt tuning have one): export --format tunebench" +
        (name == "full" || name == "partial" || name == "bitfit" || name == "linear_probe" ? " or hf" : ""));
  fs::create_directories(folder);
  writeSafetensors(folder / "adapter_model.safetensors", out);
  writeJsonFile(folder / "adapter_config.json", config);
}

std::unique_ptr<Strategy> strategyFromPeft(const fs::path &folder, std::uint64_t seed)
{
  const fs::path file = folder / "adapter_config.json";
  if (!fileExists(file))
    throw Error(file.string() + ": no such file (strategy.adapter names a PEFT adapter folder)");
  const json j = readJsonFile(file);
  return withJsonTypeErrors(file.string(), [&]() -> std::unique_ptr<Strategy> {
    const std::string type = j.value("peft_type", std::string());
    if (type == "LORA") {
      LoraOptions o = LoraStrategy::readConfig(folder);
      o.seed = seed;
      return std::make_unique<LoraStrategy>(o);
    }
    if (type == "IA3")
      return std::make_unique<Ia3Strategy>();
    const int tokens = j.value("num_virtual_tokens", 0);
    if ((type == "PROMPT_TUNING" || type == "PREFIX_TUNING") && tokens < 1)
      throw Error(file.string() + ": field \"num_virtual_tokens\" must be at least 1");
    if (type == "PROMPT_TUNING")
      return std::make_unique<PromptTuning>(PromptOptions{tokens, {}});
    if (type == "PREFIX_TUNING")
      return std::make_unique<PrefixTuning>(PrefixOptions{tokens, false, 0});
    throw Error(file.string() + ": field \"peft_type\": \"" + type +
                "\" is not one tunebench loads (LORA, IA3, PROMPT_TUNING, PREFIX_TUNING)");
  });
}

void loadPeftAdapter(torch::nn::Module &model, const PeftNames &names, const fs::path &folder)
{
  const fs::path file = folder / "adapter_model.safetensors";
  const TensorMap tensors = readSafetensors(file);
  auto params = model.named_parameters();
  std::map<std::string, std::string> own; // the base model's name → the model's
  for (const auto &p : params)
    if (const std::string n = names(p.key()); !n.empty())
      own.emplace(n, p.key());
  torch::NoGradGuard noGrad;
  for (const auto &[key, tensor] : tensors) {
    torch::Tensor *target = nullptr;
    if (key == "prompt_embeddings") {
      target = params.find("prompt_encoder.embedding.weight");
      if (!target)
        target = params.find("prefix_encoder.embedding.weight");
    } else {
      std::string name = key.rfind(kTuner, 0) == 0        ? key.substr(kTuner.size())
                         : key.rfind(kPromptBase, 0) == 0 ? key.substr(kPromptBase.size())
                                                          : key;
      for (const char *wrapper : {".modules_to_save.default", ".modules_to_save", ".default"})
        if (const auto at = name.find(wrapper); at != std::string::npos)
          name.erase(at, std::string(wrapper).size());
      const auto it = own.find(name);
      target = it != own.end() ? params.find(it->second) : params.find(name);
    }
    if (!target)
      throw Error(file.string() + ": tensor \"" + key +
                  "\" has no place in this model (is it the same base model, task and strategy?)");
    if (target->numel() != tensor.numel())
      throw Error(file.string() + ": tensor \"" + key + "\" has another shape than the model's");
    target->copy_(tensor.reshape(target->sizes()).to(target->scalar_type()));
  }
}

} // namespace tunebench
