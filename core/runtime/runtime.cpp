#include "core/runtime/runtime.h"

#include "core/runtime/cpuallocator.h"
#include "core/runtime/dnnlmatmul.h"
#include "core/tokenize/sentencepiecemodel.h"
#include "core/util/error.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <malloc.h>
#include <sched.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace tunebench {

namespace {

// cgroup v2 "cpu.max" holds "<quota> <period>" or "max <period>".
int cgroupCpuLimit()
{
  std::ifstream in("/sys/fs/cgroup/cpu.max");
  std::string quota;
  long period = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0)
    return 0;
  const long q = std::strtol(quota.c_str(), nullptr, 10);
  if (q <= 0)
    return 0;
  return std::max(1, static_cast<int>(std::ceil(static_cast<double>(q) / static_cast<double>(period))));
}

} // namespace

int usableCores()
{
  int cores = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    cores = CPU_COUNT(&set);
  if (cores <= 0)
    cores = std::max(1u, std::thread::hardware_concurrency());
  if (const int limit = cgroupCpuLimit(); limit > 0)
    cores = std::min(cores, limit);
  return cores;
}

namespace {
std::string mallocChoice()
{
  const char *choice = std::getenv("TUNEBENCH_MALLOC");
  return choice ? choice : "";
}
} // namespace

RuntimeOptions runtimeOptionsFromEnvironment()
{
  RuntimeOptions options;
  if (const char *env = std::getenv("TUNEBENCH_THREADS"); env && *env) {
    char *end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (*end != '\0' || n < 1 || n > 4096)
      throw Error(std::string("TUNEBENCH_THREADS: expected a positive integer, got \"") + env + "\"");
    options.threads = static_cast<int>(n);
  }
  if (const std::string choice = mallocChoice();
      !choice.empty() && choice != "blocks" && choice != "heap" && choice != "default")
    throw Error("TUNEBENCH_MALLOC: expected blocks, heap or default, got \"" + choice + "\"");
  return options;
}

namespace {
bool g_freedMemoryKept = false;
} // namespace

bool keepFreedMemory()
{
  if (g_freedMemoryKept)
    return true;
  if (mallocChoice() == "default")
    return false;
  if (const char *tunables = std::getenv("GLIBC_TUNABLES"); tunables && std::strstr(tunables, "malloc"))
    return false;
  for (const char *name : {"MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"})
    if (std::getenv(name))
      return false;
  g_freedMemoryKept = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
  return g_freedMemoryKept;
}

bool freedMemoryKept() { return g_freedMemoryKept; }

void releaseFreeMemory()
{
  releaseKeptBlocks();
  malloc_trim(0);
}

namespace {
std::atomic<bool> g_threadsChosen{false}; // by --threads or TUNEBENCH_THREADS

void setThreads(int threads)
{
  at::set_num_threads(threads);
  // OpenBLAS (pthread build) keeps a pool of its own; LibTorch calls into it from its own threads,
  // so match it rather than oversubscribe.
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set(threads);
}
} // namespace

int configureRuntime(const RuntimeOptions &options)
{
  keepFreedMemory();
  if (const std::string choice = mallocChoice(); choice.empty() || choice == "blocks")
    installCpuAllocator();
  g_threadsChosen = options.threads > 0;
  // Data-parallel ranks on one machine (LOCAL_WORLD_SIZE, as torchrun and --nproc set it) share
  // its cores.
  int cores = usableCores();
  if (const char *local = std::getenv("LOCAL_WORLD_SIZE"); local && std::atoi(local) > 1)
    cores = std::max(1, cores / std::atoi(local));
  setThreads(options.threads > 0 ? options.threads : cores);
  return at::get_num_threads();
}

int applyTrainingThreads(int threads)
{
  if (threads > 0 && !g_threadsChosen && threads != at::get_num_threads())
    setThreads(threads);
  return at::get_num_threads();
}

namespace {

std::atomic<bool> &shadowsSwitch()
{
  static std::atomic<bool> on{[] {
    const char *value = std::getenv("TUNEBENCH_BF16_SHADOWS");
    return !value || std::string(value) != "0";
  }()};
  return on;
}

} // namespace

bool bf16ShadowsEnabled()
{
  return shadowsSwitch().load(std::memory_order_relaxed);
}

void setBf16ShadowsEnabled(bool on)
{
  shadowsSwitch().store(on);
}

bool cpuSupportsBf16()
{
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0)
      continue;
    std::istringstream words(line);
    std::string flag;
    while (words >> flag)
      if (flag == "avx512_bf16" || flag == "amx_bf16")
        return true;
    return false;
  }
  return false;
}

RuntimeInfo runtimeInfo()
{
  RuntimeInfo info;
  info.tunebenchVersion = TUNEBENCH_VERSION;
  info.torchVersion = TORCH_VERSION;
  info.yamlCppVersion = TUNEBENCH_YAMLCPP_VERSION;
  info.sqliteVersion = sqlite3_libversion();
  try {
    info.sentencepieceVersion = SentencePieceModel::libraryVersion();
  } catch (const Error &e) {
    info.sentencepieceVersion = std::string("unavailable (") + e.what() + ")";
  }
  info.blas = detectBlas();
  info.usableCores = usableCores();
  info.intraOpThreads = at::get_num_threads();
  info.interOpThreads = at::get_num_interop_threads();
  info.cpuBf16 = cpuSupportsBf16();
  info.cudaAvailable = torch::cuda::is_available();
  info.cudaDevices = info.cudaAvailable ? static_cast<int>(torch::cuda::device_count()) : 0;
  return info;
}

namespace {

// Whether tunebench's re-exec set `what` ("core", "openmp" or "spin"; see reexecWithTunedRuntime).
bool tunedBy(const char *what)
{
  const char *set = std::getenv("TUNEBENCH_BLAS_REEXEC");
  return set && std::string(set).find(what) != std::string::npos;
}

} // namespace

std::string formatRuntimeInfo(const RuntimeInfo &info)
{
  std::ostringstream out;
  out << "LibTorch:      " << info.torchVersion << '\n'
      << "yaml-cpp:      " << info.yamlCppVersion << '\n'
      << "SQLite:        " << info.sqliteVersion << '\n'
      << "sentencepiece: " << info.sentencepieceVersion << '\n'
      << "BLAS:          " << info.blas.name;
  if (!info.blas.details.empty())
    out << " (" << info.blas.details << ")";
  if (const char *forced = std::getenv("OPENBLAS_CORETYPE"); forced && *forced)
    out << (tunedBy("core") ? " [core chosen by tunebench: OPENBLAS_CORETYPE=" : " [core forced by OPENBLAS_CORETYPE=")
        << forced << "]";
  if (const char *spin = std::getenv("GOMP_SPINCOUNT"); spin && *spin)
    out << '\n' << "OpenMP:        GOMP_SPINCOUNT=" << spin << (tunedBy("spin") ? " (set by tunebench)" : " (from the environment)");
  out << '\n' << "BLAS library:  " << (info.blas.path.empty() ? "not found" : info.blas.path);
  if (tunedBy("openmp"))
    out << " (OpenMP build, chosen by tunebench: one thread pool with LibTorch's)";
  out << '\n';
  if (info.blas.slow)
    out << "WARNING:       the reference BLAS is ~40x slower; install libopenblas0-pthread\n";
  out << "allocator:     "
      << (cpuAllocatorStats().installed ? "tensors of 256 KiB and more in tunebench's blocks (kept, joined, "
                                          "moved), below that glibc malloc"
                                        : "glibc malloc")
      << (freedMemoryKept() ? ", freed memory kept for the next step (no mmap, trim above 1 GiB)"
                            : ", as glibc or the environment sets it")
      << '\n';
  out << "threads:       " << info.intraOpThreads << " intra-op (" << info.usableCores
      << " usable cores), " << info.interOpThreads << " inter-op";
  if (info.blas.threads > 0)
    out << ", BLAS " << info.blas.threads;
  out << '\n'
      << "bf16 on CPU:   " << (info.cpuBf16 ? "yes (AVX512-BF16/AMX)" : "no") << '\n'
      << "bf16 linear:   "
      << (!bf16ShadowsEnabled() ? std::string("autocast's casts on every call (TUNEBENCH_BF16_SHADOWS=0)")
                                : std::string("kept bf16 weight copies, products ") +
                                      (hasDirectBf16Matmul() ? "through oneDNN directly, fp32 weight gradients"
                                                             : "through LibTorch (built without libdnnl-dev)"))
      << '\n'
      << "CUDA:          "
      << (info.cudaAvailable ? "yes, " + std::to_string(info.cudaDevices) + " device(s)" : std::string("no"))
      << '\n';
  return out.str();
}

double peakResidentMiB()
{
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

} // namespace tunebench
