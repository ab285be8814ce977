#include "core/models/linear.h"

#include "core/models/bf16linear.h"

#include <torch/torch.h>

#include <cmath>

namespace tunebench {

LinearImpl::LinearImpl(int in, int out, bool withBias)
{
  // torch::nn::Linear's initialisation: Kaiming-uniform weights, uniform bias in ±1/sqrt(in).
  weight = register_parameter("weight", torch::empty({out, in}));
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (withBias) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    bias = register_parameter("bias", torch::empty({out}).uniform_(-bound, bound));
  }
}

torch::Tensor LinearImpl::forward(const torch::Tensor &x)
{
  torch::Tensor y =
      bf16LinearApplies(weight, bias, x) ? bf16Linear(x, {weight}, {bias}) : torch::linear(x, weight, bias);
  for (const auto &hook : m_hooks)
    y = hook->apply(x, y);
  return y;
}

} // namespace tunebench
