#pragma once

#include "core/config/experiment.h"

#include <torch/optim/optimizer.h>

#include <memory>
#include <vector>

namespace torch::nn {
class Module;
}

namespace tunebench {

class Strategy;

// A run's optimizer over the strategy's parameter groups and the base learning rate of each group,
// which the schedule scales every step.
struct Optimization
{
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::vector<double> groupLr; // base LR of each optimizer group (before the schedule)

  // Every group's LR set to its base × factor; returns the first group's (what the charts show).
  double setLearningRate(double factor);
  // The gradient norm of every parameter that has a gradient, clipped to maxNorm when maxNorm > 0
  // (then the norm before clipping is returned, as torch.nn.utils.clip_grad_norm_ does).
  double gradientNorm(double maxNorm);
};

// AdamW (fused), Adam (fused) or SGD (momentum, Nesterov) as training.optimizer names them, with
// the options of `training`; each strategy group split into decayed weights and parameters that
// take no weight decay (biases, norms); the linear scaling rule when scale_lr_with_batch.
Optimization buildOptimizer(const ExperimentConfig::Training &training, torch::nn::Module &model,
                            Strategy &strategy);

} // namespace tunebench
