#include "core/models/linear.h"

#include "core/models/bf16linear.h"
#include "core/models/int8linear.h"
#include "core/runtime/generator.h"

#include <torch/torch.h>

#include <cmath>

namespace tunebench {

LinearImpl::LinearImpl(int in, int out, bool withBias)
{
  // torch::nn::Linear's initialisation: Kaiming-uniform weights, uniform bias in ±1/sqrt(in).
  weight = register_parameter("weight", torch::empty({out, in}));
  if (withBias)
    bias = register_parameter("bias", torch::empty({out}));
  initLinearParameters(weight, bias);
}

void initLinearParameters(torch::Tensor &weight, torch::Tensor &bias)
{
  // kaiming_uniform_(a = sqrt(5)) draws from ±gain·sqrt(3 / in) with gain sqrt(2 / (1 + 5)):
  // ±1/sqrt(in), as the bias.
  torch::NoGradGuard noGrad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(weight.size(1)));
  weight.uniform_(-bound, bound, currentGenerator());
  if (bias.defined())
    bias.uniform_(-bound, bound, currentGenerator());
}

torch::nn::Embedding makeEmbedding(std::int64_t count, std::int64_t dim)
{
  torch::nn::Embedding e(count, dim);
  torch::NoGradGuard noGrad;
  e->weight.normal_(0.0, 1.0, currentGenerator());
  return e;
}

torch::Tensor LinearImpl::forward(const torch::Tensor &x)
{
  torch::Tensor y = int8                                 ? int8->forward(x)
                    : bf16LinearApplies(weight, bias, x) ? bf16Linear(x, {weight}, {bias})
                                                         : torch::linear(x, weight, bias);
  for (const auto &hook : m_hooks)
    y = hook->apply(x, y);
  return y;
}

} // namespace tunebench
