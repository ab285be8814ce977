#pragma once

#include <torch/torch.h>

#include <vector>

// Small tensor helpers shared by the model tests.
namespace tunebench::testing {

inline double maxDiff(const torch::Tensor &a, const torch::Tensor &b)
{
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

inline std::vector<int> toIntVector(const torch::Tensor &t)
{
  const torch::Tensor flat = t.to(torch::kLong).flatten().contiguous();
  return std::vector<int>(flat.data_ptr<std::int64_t>(), flat.data_ptr<std::int64_t>() + flat.numel());
}

} // namespace tunebench::testing
