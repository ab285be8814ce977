#pragma once

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

namespace tunebench {

// Adam and AdamW exactly as LibTorch's (the same options, the same per-parameter state — step,
// exp_avg, exp_avg_sq — so optimizer.pt files, resume and the param groups work unchanged), with
// each parameter's update done in one parallel, vectorised pass over (weight, gradient, moments)
// instead of LibTorch's seven tensor ops with temporaries: the optimizer step of a full
// fine-tuning is memory-bound, and this reads and writes each array once. AMSGrad and anything
// not a dense fp32 CPU tensor fall back to LibTorch's own step.
class FusedAdamW : public torch::optim::AdamW
{
public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

class FusedAdam : public torch::optim::Adam
{
public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

// Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True), its default since 2.0):
// the next backward pass hands its gradient buffers over instead of adding them to zero-filled
// ones — one fill and one add less per parameter and step. Parameters that receive no gradient
// (another task's head in a multi-task step) are then skipped by the step, not decayed.
void dropGradients(torch::optim::Optimizer &optimizer);

} // namespace tunebench
