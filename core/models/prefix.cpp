#include "core/models/prefix.h"

#include <torch/torch.h>

namespace tunebench {

torch::Tensor prependPrefix(const torch::Tensor &prefix, const torch::Tensor &heads)
{
  const auto batch = heads.size(0), count = heads.size(1), d = heads.size(3);
  const torch::Tensor p = prefix.to(heads.scalar_type()).view({1, prefix.size(0), count, d}).transpose(1, 2);
  return torch::cat({p.expand({batch, count, prefix.size(0), d}), heads}, 2);
}

void applyPrefix(const PrefixSlot &slot, torch::Tensor &keys, torch::Tensor &values, torch::Tensor &additiveMask)
{
  if (!slot)
    return;
  const auto [pk, pv] = slot.source->keyValue(slot.layer);
  keys = prependPrefix(pk, keys);
  values = prependPrefix(pv, values);
  additiveMask = maskWithPrefix(additiveMask, pk.size(0));
}

torch::Tensor maskWithPrefix(const torch::Tensor &additive, std::int64_t length)
{
  std::vector<std::int64_t> shape(additive.sizes().begin(), additive.sizes().end());
  shape.back() = length;
  return torch::cat({torch::zeros(shape, additive.options()), additive}, -1);
}

} // namespace tunebench
