// bench_gemm: this machine's measured GEMM peak, fp32 and bf16, over a few square sizes. The best
// figure is the denominator of MFU (model FLOP utilisation) in the training benchmarks. Then the
// bf16 rate at BERT-base's shapes (1,024 tokens) with one thread and with all of them, alternating,
// median and spread of several short runs: whether the cores' bf16 units scale (AMX is one unit per
// physical core; two vCPUs on one core's hyperthreads share it).
#include "core/runtime/blascore.h"
#include "core/runtime/gemmprobe.h"
#include "core/runtime/runtime.h"

#include "bench/benchclock.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <vector>

namespace {

// GFLOP/s of [m×k]·[k×n] in bf16 over about `seconds`.
double rectangularBf16(int m, int k, int n, double seconds)
{
  torch::NoGradGuard noGrad;
  const torch::Tensor a = torch::randn({m, k}).to(torch::kBFloat16), b = torch::randn({k, n}).to(torch::kBFloat16);
  torch::Tensor c = torch::mm(a, b);
  const auto start = tunebench::bench::Clock::now();
  long iterations = 0;
  double elapsed = 0;
  do {
    c = torch::mm(a, b);
    ++iterations;
    elapsed = tunebench::bench::secondsBetween(start, tunebench::bench::Clock::now());
  } while (elapsed < seconds);
  return 2.0 * m * static_cast<double>(k) * n * static_cast<double>(iterations) / elapsed / 1e9;
}

} // namespace

int main(int, char **argv)
{
  tunebench::reexecWithTunedRuntime(argv);
  tunebench::configureRuntime();
  const tunebench::RuntimeInfo info = tunebench::runtimeInfo();
  std::printf("BLAS %s, %d threads, bf16 on CPU: %s\n\n", info.blas.name.c_str(), info.intraOpThreads,
              info.cpuBf16 ? "yes" : "no");
  std::printf("| n | fp32 GFLOP/s | bf16 GFLOP/s |\n|---|---|---|\n");
  double best32 = 0, best16 = 0;
  for (int n : {256, 512, 1024, 2048}) {
    // Best of three half-second runs, alternating: this VM's GEMM rate varies up to 2x between
    // runs, and the peak is the denominator of every MFU figure.
    double f32 = 0, bf16 = 0;
    for (int round = 0; round < 3; ++round) {
      f32 = std::max(f32, tunebench::measureGemm(false, n, 0.5).gflops);
      bf16 = std::max(bf16, tunebench::measureGemm(true, n, 0.5).gflops);
    }
    best32 = std::max(best32, f32);
    best16 = std::max(best16, bf16);
    std::printf("| %d | %.1f | %.1f |\n", n, f32, bf16);
  }
  if (info.cpuBf16) {
    std::printf("\nbf16 at BERT-base's shapes (m = 1,024 tokens), GFLOP/s: median [min–max] of 7 alternating 0.2 s runs\n\n");
    std::printf("| k × n | 1 thread | %d threads | scaling |\n|---|---|---|---|\n", info.intraOpThreads);
    const auto summary = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return std::array<double, 3>{v[v.size() / 2], v.front(), v.back()};
    };
    for (const auto &[k, n] : {std::pair{768, 2304}, {768, 768}, {768, 3072}, {3072, 768}}) {
      std::vector<double> one, all;
      for (int round = 0; round < 7; ++round) {
        at::set_num_threads(1);
        one.push_back(rectangularBf16(1024, k, n, 0.2));
        at::set_num_threads(info.intraOpThreads);
        all.push_back(rectangularBf16(1024, k, n, 0.2));
      }
      const auto a = summary(one), b = summary(all);
      std::printf("| %d × %d | %.0f [%.0f–%.0f] | %.0f [%.0f–%.0f] | %.2f× |\n", k, n, a[0], a[1], a[2], b[0], b[1], b[2],
                  b[0] / a[0]);
    }
  }
  std::printf("\npeak fp32 %.1f GFLOP/s, peak bf16 %.1f GFLOP/s\n", best32, best16);
  return 0;
}
