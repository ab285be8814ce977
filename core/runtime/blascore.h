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

// LibTorch's element-wise ops and oneDNN's bf16 GEMMs run on libgomp's pool; Debian's default
// OpenBLAS (openblas-pthread) runs the fp32 GEMMs on a pool of its own. With two pools on 2 cores,
// libgomp's idle workers (spinning 300,000 rounds before they sleep) hold the cores OpenBLAS's
// threads need: fp32 training steps ran at half speed. Debian also ships OpenBLAS built on OpenMP
// (libopenblas0-openmp, installed beside the other under .../openblas-openmp/): then there is one
// pool and no contention. Measured (bench_trainstep, alternating, 2 cores), against the pthread
// build with a short spin: BERT-mini fp32 +20–60%, BERT-base fp32 +5–20%, BERT-base bf16 +3–5%.

// The directory holding the OpenMP build of OpenBLAS when the BLAS loaded now is the pthread
// build and the OpenMP one is installed beside it; "" otherwise, or with TUNEBENCH_BLAS_OPENMP=0.
std::string openMpOpenBlasDir();

// Whether the loaded OpenBLAS runs its threads on OpenMP (openblas_get_parallel() == 2).
bool openBlasUsesOpenMp();

// Second best, when the OpenMP build is not installed: the GOMP_SPINCOUNT that keeps idle OpenMP
// workers off OpenBLAS's cores (BERT-mini fp32 2,300 → 4,300–4,900 tokens/s), or "" when the
// user set it or OMP_WAIT_POLICY, the OpenMP runtime is not libgomp, or OpenBLAS itself runs on
// OpenMP (one pool: libgomp's default spin suits it best).
std::string tunedOpenMpSpinCount();

// Call first thing in main(): when betterOpenBlasCore() names a core, openMpOpenBlasDir() a
// directory or (without one) tunedOpenMpSpinCount() a spin count, sets OPENBLAS_CORETYPE,
// LD_LIBRARY_PATH (the directory first) / GOMP_SPINCOUNT and re-executes the program with the
// same arguments (all are read when the libraries load, before main(); once: TUNEBENCH_BLAS_REEXEC,
// which lists what was set — "core", "openmp", "spin" — guards the loop). TUNEBENCH_NO_BLAS_TUNING=1 turns this off. Returns only when no re-exec
// happened. argv may be null (e.g. from a Qt Test initMain()): the arguments are then read from
// /proc/self/cmdline.
void reexecWithTunedRuntime(char **argv);

} // namespace tunebench
