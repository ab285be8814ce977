#pragma once

#include <string>

namespace tunebench {

// What the process runs on and with: versions of every library, the BLAS actually loaded, threads,
// bf16 and CUDA support. Filled by runtimeInfo(); printed by `tunebench-cli --version`.
struct BlasInfo
{
  std::string name;    // "OpenBLAS", "reference BLAS", "MKL", "BLIS" or "unknown"
  std::string path;    // the resolved shared object that provides the BLAS symbols
  std::string details; // e.g. OpenBLAS's build configuration and core name
  std::string core;    // OpenBLAS's kernel set in use (e.g. "SkylakeX"); empty for other BLASes
  int threads = 0;     // the BLAS's own thread count, 0 when it has no such notion
  bool slow = false;   // true for the reference BLAS (~40x slower than OpenBLAS here)
};

struct RuntimeInfo
{
  std::string tunebenchVersion;
  std::string torchVersion;
  std::string yamlCppVersion;
  std::string sqliteVersion;
  std::string sentencepieceVersion; // "unavailable (<reason>)" when the shim cannot be loaded
  BlasInfo blas;
  int usableCores = 0;     // cores this process may run on (affinity and cgroup quota)
  int intraOpThreads = 0;  // LibTorch's intra-op threads now
  int interOpThreads = 0;
  bool cpuBf16 = false;    // AVX512-BF16 or AMX-BF16: bf16 autocast pays off on this CPU
  bool cudaAvailable = false;
  int cudaDevices = 0;
};

// Options chosen once at start-up (CLI flag --threads, GUI setting, or TUNEBENCH_THREADS).
struct RuntimeOptions
{
  int threads = 0; // intra-op threads; 0 = one per usable core
};

// Number of cores this process may use: sched_getaffinity, capped by a cgroup v2 cpu.max quota.
int usableCores();

// Applies the options: LibTorch's intra-op threads (Debian's LibTorch starts at 1) and the BLAS's own
// pool. Returns the thread count in effect. Call it early, from the main thread.
int configureRuntime(const RuntimeOptions &options = {});

// A run's training.threads (> 0), applied by the front end before the run starts, on the thread
// that configured the runtime: the process's intra-op and BLAS threads become that many, unless the
// command line or TUNEBENCH_THREADS chose them (those win). The trainer never sets threads: they
// are the process's, shared by everything it runs. Returns the thread count in effect.
int applyTrainingThreads(int threads);

// glibc's malloc serves large allocations with mmap (above a threshold that adapts up to 32 MiB)
// and returns them on free, and trims the heap's free top above 128 KiB. LibTorch allocates a
// step's activations and gradients afresh every step, so each step page-faulted its large tensors
// in again: a GELU over 4096×3072 floats took 27 ms, 4.5 ms without the faults; BERT-base steps
// ran 5–20% faster with freed memory kept (bench_trainstep, alternating). configureRuntime()
// calls this: every allocation from the heap (M_MMAP_MAX 0) and a 1 GiB trim threshold; the
// memory goes back to the system with releaseFreeMemory() (after a run). Nothing changes when
// GLIBC_TUNABLES names a malloc setting, a MALLOC_*_ variable is set, or TUNEBENCH_MALLOC=default.
// Returns whether it changed the allocator's settings.
bool keepFreedMemory();
bool freedMemoryKept();
// malloc_trim: the heap's free memory back to the system (the GUI after a run, say).
void releaseFreeMemory();

// Reads TUNEBENCH_THREADS (a positive integer) into options.threads when set; invalid values are
// reported by throwing tunebench::Error.
RuntimeOptions runtimeOptionsFromEnvironment();

RuntimeInfo runtimeInfo();

// The process's peak resident memory so far (getrusage), MiB.
double peakResidentMiB();
BlasInfo detectBlas();
bool cpuSupportsBf16();

// Whether the linear maps keep bf16 weight copies (core/models/bf16linear.h): on unless switched
// off here or by the environment (TUNEBENCH_BF16_SHADOWS=0), which leaves every cast to autocast.
bool bf16ShadowsEnabled();
void setBf16ShadowsEnabled(bool on);

// Multi-line, human-readable report of runtimeInfo() (what --version prints after the first line).
std::string formatRuntimeInfo(const RuntimeInfo &info);

} // namespace tunebench
