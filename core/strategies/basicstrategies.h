#pragma once

#include "core/strategies/strategy.h"

#include <optional>
#include <set>

namespace tunebench {

// Every parameter trains.
class FullFineTuning final : public Strategy
{
public:
  std::string name() const override { return "full"; }
  void apply(torch::nn::Module &model) override;
};

struct PartialOptions
{
  bool freezeEmbeddings = true;
  int freezeBottomLayers = 0;      // layers 0 .. k-1 frozen
  std::set<int> freezeLayers;      // or explicit layer indices
  double layerDecay = 1.0;         // layer-wise LR decay: LR × decay^(depth from the top)
  std::optional<double> headLearningRateScale; // the head's LR relative to the base LR
};

// Freeze the embeddings and/or the bottom layers; smaller learning rates lower down.
class PartialFineTuning final : public Strategy
{
public:
  explicit PartialFineTuning(PartialOptions options) : m_options(std::move(options)) {}
  std::string name() const override { return "partial"; }
  void apply(torch::nn::Module &model) override;
  std::vector<ParameterGroup> parameterGroups(torch::nn::Module &model) const override;

private:
  PartialOptions m_options;
};

// Linear probe: the pre-trained network frozen, only the task head trains.
class LinearProbe final : public Strategy
{
public:
  std::string name() const override { return "linear_probe"; }
  void apply(torch::nn::Module &model) override;
};

// BitFit: only the bias terms (and the task head) train.
class BitFit final : public Strategy
{
public:
  std::string name() const override { return "bitfit"; }
  void apply(torch::nn::Module &model) override;
};

} // namespace tunebench
