#include "core/runtime/gemmprobe.h"

#include <torch/torch.h>

#include <chrono>

namespace tunebench {

GemmProbeResult measureGemm(bool bf16, int n, double seconds)
{
  torch::NoGradGuard noGrad;
  const auto dtype = bf16 ? torch::kBFloat16 : torch::kFloat32;
  const auto a = torch::randn({n, n}).to(dtype);
  const auto b = torch::randn({n, n}).to(dtype);
  auto c = torch::mm(a, b); // warm-up: thread pools, packing buffers
  using Clock = std::chrono::steady_clock;
  GemmProbeResult result;
  result.n = n;
  const auto start = Clock::now();
  double elapsed = 0.0;
  do {
    c = torch::mm(a, b);
    ++result.iterations;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  const double flops = 2.0 * n * static_cast<double>(n) * n * result.iterations;
  result.gflops = flops / elapsed / 1e9;
  return result;
}

} // namespace tunebench
