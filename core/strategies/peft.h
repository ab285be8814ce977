#pragma once

#include "core/strategies/strategy.h"

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace tunebench {

// A model's parameter name under the names of the base model PEFT wraps ("backbone.encoder.layer.0…"
// → "bert.encoder.layer.0…"); empty for a tensor that has no place there.
using PeftNames = std::function<std::string(const std::string &)>;

// What the adapter is for: PEFT's task_type, the base model and what modules_to_save lists.
struct PeftTarget
{
  std::string taskType;      // SEQ_CLS, TOKEN_CLS, CAUSAL_LM, SEQ_2_SEQ_LM, FEATURE_EXTRACTION
  std::string baseModel;     // base_model_name_or_path
  int transformerLayers = 0; // num_layers (prefix, prompt)
  int attentionHeads = 0;    // num_attention_heads (prefix, prompt)
  int hiddenSize = 0;        // token_dim (prefix, prompt)
  bool conv1d = false;       // GPT-2's Conv1D weights ([in, out]): fan_in_fan_out
};

// Whether PEFT has a layout for this strategy (lora, ia3, prefix, prompt).
bool hasPeftLayout(const std::string &strategy);

// Writes PEFT's layout of what the strategy trained — adapter_config.json and
// adapter_model.safetensors — for LoRA (lora_A/lora_B, trained biases), IA3 (ia3_l as PEFT shapes
// it: [out, 1], or [1, in] on feed-forward inputs), prompt tuning and prefix tuning
// ("prompt_embeddings": the soft prompt, or every layer's keys and values side by side, as PEFT's
// prefix encoder gives them). Trained head tensors go under their base-model names and their
// modules in modules_to_save, as PEFT saves them. Error for strategies PEFT has no layout for.
void writePeftAdapter(const torch::nn::Module &model, const Strategy &strategy, const PeftNames &names,
                      const PeftTarget &target, const std::filesystem::path &folder);

// The strategy an adapter folder's adapter_config.json describes (LORA, IA3, PROMPT_TUNING,
// PREFIX_TUNING), ready to apply to the base model. Error naming the file and field otherwise.
std::unique_ptr<Strategy> strategyFromPeft(const std::filesystem::path &folder, std::uint64_t seed);

// Loads adapter_model.safetensors into a model the folder's strategy was applied to. Error naming
// the file and tensor when one has no place or another shape.
void loadPeftAdapter(torch::nn::Module &model, const PeftNames &names, const std::filesystem::path &folder);

} // namespace tunebench
