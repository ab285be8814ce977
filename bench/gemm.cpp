// bench_gemm: this machine's measured GEMM peak, fp32 and bf16, over a few square sizes. The best
// figure is the denominator of MFU (model FLOP utilisation) in the training benchmarks.
#include "core/runtime/blascore.h"
#include "core/runtime/gemmprobe.h"
#include "core/runtime/runtime.h"

#include <algorithm>
#include <cstdio>

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
  std::printf("\npeak fp32 %.1f GFLOP/s, peak bf16 %.1f GFLOP/s\n", best32, best16);
  return 0;
}
