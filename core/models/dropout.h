#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace tunebench {

// Inverted dropout, as torch::dropout computes it (an element is zeroed with probability p, the
// rest are scaled by 1 / (1 - p)), without its cost: LibTorch's CPU bernoulli_ draws every element
// from one serial Mersenne Twister and was the single largest op of a bf16 BERT training step
// (bench/reference/opprofile.py). Here the keep/drop decision of element i is a hash of
// (seed, i) — a counter-based generator, so it runs in parallel and vectorises, and the backward
// pass regenerates the same mask from the seed instead of keeping one. The seed is drawn from
// the run's generator (core/runtime/generator.h), so the run's seed and a resumed run's saved
// generator state make the masks reproducible. float and bfloat16 run this kernel; other types use
// torch::dropout.
torch::Tensor applyDropout(const torch::Tensor &x, double p, bool training);

class DropoutImpl : public torch::nn::Module
{
public:
  explicit DropoutImpl(double p = 0.5) : p(p) {}
  torch::Tensor forward(const torch::Tensor &x) { return applyDropout(x, p, is_training()); }
  double p;
};
TORCH_MODULE(Dropout);

// dropout(probs) · v, attention's weighted sum, keeping probs (which softmax keeps anyway) and v
// but not the dropped weights: the backward pass draws the mask again from its seed. Where the
// hash dropout does not apply (LibTorch's kernels chosen, another type or device) it is the plain
// composition.
torch::Tensor droppedProduct(const Dropout &dropout, const torch::Tensor &probs, const torch::Tensor &v);

} // namespace tunebench
