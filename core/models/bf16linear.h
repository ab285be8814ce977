#pragma once

#include "core/runtime/runtime.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace tunebench {

// True inside a bf16 autocast region on the CPU: the linear maps then take bf16Linear.
bool bf16AutocastActive();

// Whether the linear maps take bf16Linear at all: bf16ShadowsEnabled() in core/runtime/runtime.h.

// y = x·Wᵀ + b for fp32 weights inside bf16 autocast, computed as autocast computes it (a bf16
// product with a bf16 result) without autocast's per-call casts of the weights and of their
// gradients:
//  - each weight's bf16 copy (its "shadow") is kept between calls and remade only where the weight
//    changed (its version counter moved, or its storage): a frozen weight is cast once per run, and
//    the fused optimizer writes the shadows of the weights it updates in the same pass;
//  - the weight and bias gradients come out in fp32 (oneDNN writes the product's fp32 sums), not
//    rounded to bf16 and widened;
//  - the products go to oneDNN directly (core/runtime/dnnlmatmul.h), the same kernels LibTorch
//    calls, without its per-call set-up.
// Several maps over the same input (query, key, value) are stacked along the output dimension and
// computed as one product over their stacked shadows; the result is [..., Σ out]. `biases` has a
// bias per weight, or none (empty or undefined tensors). weightsInputMajor: one weight stored [in, out]
// (GPT-2's Conv1D), y = x·W + b.
at::Tensor bf16Linear(const at::Tensor &x, const std::vector<at::Tensor> &weights,
                      const std::vector<at::Tensor> &biases, bool weightsInputMajor = false);

// Whether a map with this weight and bias (bias may be undefined) computes x through bf16Linear:
// inside bf16 autocast on the CPU, with fp32 weights, unless switched off.
bool bf16LinearApplies(const at::Tensor &weight, const at::Tensor &bias, const at::Tensor &x);

// For the optimizer: the current bf16 shadow of an fp32 parameter (contiguous, numel elements) or
// nullptr where none is kept or it is out of date. After changing the parameter in place through
// its data pointer, call parameterWritten: it moves the parameter's version counter and marks a
// shadow written in the same pass as current.
std::uint16_t *currentBf16Shadow(const at::Tensor &parameter);
void parameterWritten(const at::Tensor &parameter, bool shadowWritten);

// What the shadows hold, and dropping them: all of them, or those of some parameters (a model's,
// when it goes: see Bf16ShadowOwner).
std::int64_t bf16ShadowBytes();
void releaseBf16Shadows();
void releaseBf16Shadows(const std::vector<at::Tensor> &parameters);

// Held by whoever owns a model: the model's shadows go when it does (other models', say a run
// training beside it in another thread, are kept).
class Bf16ShadowOwner
{
public:
  Bf16ShadowOwner() = default;
  explicit Bf16ShadowOwner(std::vector<at::Tensor> parameters)
    : m_parameters(std::move(parameters))
  {}
  Bf16ShadowOwner(Bf16ShadowOwner &&other) noexcept
    : m_parameters(std::move(other.m_parameters))
  {
    other.m_parameters.clear();
  }
  Bf16ShadowOwner &operator=(Bf16ShadowOwner &&other) noexcept;
  Bf16ShadowOwner(const Bf16ShadowOwner &) = delete;
  Bf16ShadowOwner &operator=(const Bf16ShadowOwner &) = delete;
  ~Bf16ShadowOwner();

private:
  std::vector<at::Tensor> m_parameters;
};

} // namespace tunebench
