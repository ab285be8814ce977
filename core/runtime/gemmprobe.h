#pragma once

namespace tunebench {

// Measures this machine's matrix-multiply throughput in GFLOP/s for square n×n matrices, float32
// or bfloat16, over about `seconds` of work after a warm-up. Used by `tunebench-cli doctor` and as
// the denominator of MFU in bench/.
struct GemmProbeResult
{
  double gflops = 0.0;
  int n = 0;
  int iterations = 0;
};

GemmProbeResult measureGemm(bool bf16, int n = 1024, double seconds = 0.5);

} // namespace tunebench
