#pragma once

#include "core/strategies/strategy.h"

#include <vector>

namespace tunebench {

class LinearImpl;

struct LoraOptions
{
  int r = 8;
  double alpha = 8;
  double dropout = 0.0;
  // Module name endings to adapt ("query", "value", "c_attn", "q", "v", "attention.output.dense")
  // or {"all-linear"} for every linear map outside the head.
  std::vector<std::string> targets = {"query", "value"};
  bool rsLora = false;          // scale alpha/sqrt(r) instead of alpha/r
  std::string bias = "none";    // none, all, lora_only
  std::vector<std::string> modulesToSave = {}; // trained in full and saved (default: the task head)
  std::uint64_t seed = 0;
};

// LoRA (Hu et al., 2021): y = W·x + (alpha/r)·B·A·x on the targeted linear maps, A Kaiming-uniform,
// B zero (so the model starts unchanged), everything else frozen but the head; merges into the
// base weights and unmerges. PEFT's layout: core/strategies/peft.h.
class LoraStrategy final : public Strategy
{
public:
  explicit LoraStrategy(LoraOptions options);
  std::string name() const override { return "lora"; }
  void apply(torch::nn::Module &model) override;
  bool canMerge() const override { return true; }
  void merge(torch::nn::Module &model) override;
  void unmerge(torch::nn::Module &model) override;
  double scaling() const;
  const LoraOptions &options() const { return m_options; }
  bool fanInFanOut() const { return m_fanInFanOut; } // after apply()
  // The names of the adapted linear maps, after apply().
  const std::vector<std::string> &adapted() const { return m_adapted; }

  // Reads adapter_config.json (r, lora_alpha, lora_dropout, target_modules, use_rslora, bias,
  // modules_to_save); throws tunebench::Error naming the file and field.
  static LoraOptions readConfig(const std::filesystem::path &folder);

private:
  bool targeted(const std::string &moduleName) const;
  LoraOptions m_options;
  std::vector<std::string> m_adapted;
  bool m_fanInFanOut = false; // GPT-2's Conv1D stores [in, out] (PEFT's fan_in_fan_out)
};

} // namespace tunebench
