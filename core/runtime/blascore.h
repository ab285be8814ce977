#pragma once

#include <string>

namespace tunebench {

// OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons and falls back to its "Prescott"
// (SSE3) kernels: fp32 GEMM runs ~5x slower than with its AVX-512 kernels on the same CPU. The
// core is chosen when the library loads, before main(), and can only be forced through the
// OPENBLAS_CORETYPE environment variable — hence a re-exec.

// The OpenBLAS core that suits this CPU better than the one in use, or "" when the current one is
// fine (or the BLAS is not OpenBLAS, or OPENBLAS_CORETYPE is already set by the user/machine).
std::string betterOpenBlasCore();

// LibTorch's element-wise ops run on libgomp's pool, whose idle workers spin 300,000 rounds before
// they sleep; OpenBLAS runs GEMMs on a pool of its own. Between the two, a spinning OpenMP worker
// holds the core that OpenBLAS's thread needs for the next GEMM: on 2 cores fp32 training steps
// ran at half speed (bench_trainstep: 2,300 → 4,300–4,900 tokens/s on BERT-mini with a short spin;
// bf16, whose GEMMs run on the OpenMP pool itself, did not gain: ~5% slower in an A/B, inside the
// noise). The GOMP_SPINCOUNT tunebench sets,
// or "" when the user set it or OMP_WAIT_POLICY, or the OpenMP runtime is not libgomp.
std::string tunedOpenMpSpinCount();

// Call first thing in main(): when betterOpenBlasCore() names a core or tunedOpenMpSpinCount() a
// spin count, sets OPENBLAS_CORETYPE / GOMP_SPINCOUNT and re-executes the program with the same
// arguments (both are read when the libraries load, before main(); once: TUNEBENCH_BLAS_REEXEC
// guards the loop). TUNEBENCH_NO_BLAS_TUNING=1 turns this off. Returns only when no re-exec
// happened. argv may be null (e.g. from a Qt Test initMain()): the arguments are then read from
// /proc/self/cmdline.
void reexecWithTunedRuntime(char **argv);

} // namespace tunebench
