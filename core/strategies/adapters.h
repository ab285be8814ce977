#pragma once

#include "core/strategies/strategy.h"

namespace tunebench {

struct AdapterOptions
{
  std::string kind = "houlsby"; // houlsby: after attention and after the FFN; pfeiffer: after the FFN
  int reductionFactor = 16;     // bottleneck = hidden / reduction
  std::string activation = "relu"; // relu, gelu, tanh
};

// Bottleneck adapters (Houlsby et al., 2019; Pfeiffer et al., 2020) on the sub-layer outputs:
// y + up(act(down(y))), with the up projection zero-initialised so the model starts unchanged.
// Parameters "adapter_down.*" and "adapter_up.*" sit on the adapted layer.
class AdapterStrategy final : public Strategy
{
public:
  explicit AdapterStrategy(AdapterOptions options);
  std::string name() const override { return "adapters"; }
  void apply(torch::nn::Module &model) override;

private:
  AdapterOptions m_options;
};

// IA3 (Liu et al., 2022): learned vectors scale the keys and values and the input of the FFN's output
// layer ("ia3_l", initialised to ones). Merges into the base weights.
class Ia3Strategy final : public Strategy
{
public:
  std::string name() const override { return "ia3"; }
  void apply(torch::nn::Module &model) override;
  bool canMerge() const override { return true; }
  void merge(torch::nn::Module &model) override;
  void unmerge(torch::nn::Module &model) override;
};

// Sub-layer roles by the names every family uses.
bool isAttentionOutput(const std::string &module);
bool isFeedForwardOutput(const std::string &module);
bool isKeyOrValue(const std::string &module);

} // namespace tunebench
