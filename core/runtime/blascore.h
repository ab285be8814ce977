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

// Call first thing in main(): when betterOpenBlasCore() names a core, sets OPENBLAS_CORETYPE and
// re-executes the program with the same arguments (once; TUNEBENCH_BLAS_REEXEC guards the loop).
// TUNEBENCH_NO_BLAS_TUNING=1 turns this off. Returns only when no re-exec happened. argv may be
// null (e.g. from a Qt Test initMain()): the arguments are then read from /proc/self/cmdline.
void reexecWithBetterBlasCore(char **argv);

} // namespace tunebench
