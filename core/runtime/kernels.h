#pragma once

#include <string>

namespace tunebench {

// runtime.kernels: whether the work on this thread uses LibTorch's own operations (aten: every
// device has them) instead of tunebench's CPU kernels — hash dropout (bernoulli_ from the run's
// generator instead), the fused optimizer step (torch::optim's Adam/AdamW), bf16 weight copies
// through oneDNN (autocast's casts), the frozen-layer cache (off). A run sets it for its thread
// (KernelScope); outside any scope tunebench's kernels are used where they apply.
bool atenKernels();

// `kernels` (auto, tunebench, aten) on a CPU or another device: auto picks tunebench's on the CPU.
bool choosesAtenKernels(const std::string &kernels, bool cpu);

class KernelScope
{
public:
  explicit KernelScope(bool aten);
  ~KernelScope();
  KernelScope(const KernelScope &) = delete;
  KernelScope &operator=(const KernelScope &) = delete;

private:
  bool m_previous;
};

} // namespace tunebench
