#include "core/train/optimizers.h"

#include "core/runtime/kernels.h"
#include "core/strategies/strategy.h"
#include "core/train/builtmodel.h"
#include "core/train/fusedadam.h"

#include <torch/nn/module.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <cmath>
#include <map>

namespace tunebench {

namespace {

std::unique_ptr<torch::optim::OptimizerOptions> groupOptions(const ExperimentConfig::Training &t, double lr,
                                                             double decay)
{
  if (t.optimizer == "sgd")
    return std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(lr)
                                                          .momentum(t.momentum)
                                                          .nesterov(t.nesterov && t.momentum > 0)
                                                          .weight_decay(decay));
  if (t.optimizer == "adam")
    return std::make_unique<torch::optim::AdamOptions>(
        torch::optim::AdamOptions(lr).betas({t.beta1, t.beta2}).eps(t.eps).weight_decay(decay));
  return std::make_unique<torch::optim::AdamWOptions>(
      torch::optim::AdamWOptions(lr).betas({t.beta1, t.beta2}).eps(t.eps).weight_decay(decay));
}

} // namespace

Optimization buildOptimizer(const ExperimentConfig::Training &t, torch::nn::Module &model, Strategy &strategy)
{
  double lr = t.learningRate;
  if (t.scaleLrWithBatch)
    lr *= static_cast<double>(t.batchSize * t.gradientAccumulation) / 32.0;
  std::map<const void *, std::string> names;
  for (const auto &p : model.named_parameters())
    names[p.value().unsafeGetTensorImpl()] = p.key();
  Optimization o;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (const ParameterGroup &g : strategy.parameterGroups(model)) {
    std::vector<torch::Tensor> decayed, plain;
    for (const torch::Tensor &p : g.parameters)
      (excludedFromWeightDecay(names[p.unsafeGetTensorImpl()]) ? plain : decayed).push_back(p);
    for (auto *list : {&decayed, &plain}) {
      if (list->empty())
        continue;
      const double groupLr = lr * g.learningRateScale;
      groups.emplace_back(*list, groupOptions(t, groupLr, list == &decayed ? t.weightDecay : 0.0));
      o.groupLr.push_back(groupLr);
    }
  }
  if (t.optimizer == "sgd")
    o.optimizer = std::make_unique<torch::optim::SGD>(groups, torch::optim::SGDOptions(lr));
  else if (t.optimizer == "adam" && atenKernels())
    o.optimizer = std::make_unique<torch::optim::Adam>(groups, torch::optim::AdamOptions(lr));
  else if (t.optimizer == "adam")
    o.optimizer = std::make_unique<FusedAdam>(groups, torch::optim::AdamOptions(lr));
  else if (atenKernels())
    o.optimizer = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(lr));
  else
    o.optimizer = std::make_unique<FusedAdamW>(groups, torch::optim::AdamWOptions(lr));
  return o;
}

double Optimization::setLearningRate(double factor)
{
  auto &groups = optimizer->param_groups();
  for (std::size_t i = 0; i < groups.size(); ++i)
    groups[i].options().set_lr(groupLr[i] * factor);
  return groupLr.empty() ? 0.0 : groupLr.front() * factor;
}

double Optimization::gradientNorm(double maxNorm)
{
  std::vector<torch::Tensor> params;
  for (const auto &g : optimizer->param_groups())
    for (const auto &p : g.params())
      if (p.grad().defined())
        params.push_back(p);
  if (maxNorm > 0)
    return torch::nn::utils::clip_grad_norm_(params, maxNorm);
  double sum = 0;
  for (const auto &p : params)
    sum += p.grad().pow(2).sum().item<double>();
  return std::sqrt(sum);
}

} // namespace tunebench
