#include "core/runtime/blascore.h"

#include "core/runtime/runtime.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace tunebench {

namespace {

std::set<std::string> cpuFlags()
{
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::set<std::string> flags;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0)
      continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::string flag;
    while (words >> flag)
      flags.insert(flag);
    break;
  }
  return flags;
}

// OpenBLAS's generic fall-back cores: what DYNAMIC_ARCH picks for a CPU it does not know.
bool isGenericCore(const std::string &core)
{
  static const std::set<std::string> generic = {"Prescott", "Core2", "Penryn", "Dunnington",
                                                "Nehalem", "Katmai", "Coppermine", "Northwood",
                                                "Banias", "Atom"};
  return generic.count(core) > 0;
}

} // namespace

std::string betterOpenBlasCore()
{
  if (const char *forced = std::getenv("OPENBLAS_CORETYPE"); forced && *forced)
    return {};
  using GetName = char *(*)();
  auto coreName = reinterpret_cast<GetName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!coreName || !isGenericCore(coreName()))
    return {};
  const std::set<std::string> flags = cpuFlags();
  const auto has = [&](const char *f) { return flags.count(f) > 0; };
  if (has("avx512f") && has("avx512bw") && has("avx512vl") && has("avx512dq"))
    return "SkylakeX";
  if (has("avx2") && has("fma"))
    return "Haswell";
  return {};
}

bool openBlasUsesOpenMp()
{
  using GetParallel = int (*)();
  auto parallel = reinterpret_cast<GetParallel>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  return parallel && parallel() == 2; // 0 sequential, 1 pthreads, 2 OpenMP
}

std::string openMpOpenBlasDir()
{
  if (const char *choice = std::getenv("TUNEBENCH_BLAS_OPENMP"); choice && std::string(choice) == "0")
    return {};
  void *symbol = dlsym(RTLD_DEFAULT, "openblas_get_parallel");
  if (!symbol || openBlasUsesOpenMp())
    return {};
  Dl_info where{};
  if (!dladdr(symbol, &where) || !where.dli_fname)
    return {};
  std::error_code error;
  const std::filesystem::path loaded = std::filesystem::canonical(where.dli_fname, error);
  if (error || loaded.parent_path().filename() != "openblas-pthread")
    return {};
  const std::filesystem::path openmp = loaded.parent_path().parent_path() / "openblas-openmp";
  if (!std::filesystem::exists(openmp / "libblas.so.3", error) || !std::filesystem::exists(openmp / "libopenblas.so.0", error))
    return {};
  return openmp.string();
}

std::string tunedOpenMpSpinCount()
{
  if (openBlasUsesOpenMp())
    return {};
  for (const char *name : {"GOMP_SPINCOUNT", "OMP_WAIT_POLICY"})
    if (const char *set = std::getenv(name); set && *set)
      return {};
  if (!dlsym(RTLD_DEFAULT, "GOMP_parallel"))
    return {};
  return "2000"; // measured: 1,000–5,000 alike; 0 (passive) slows the bf16 GEMMs' own OpenMP regions
}

void reexecWithTunedRuntime(char **argv)
{
  if (std::getenv("TUNEBENCH_BLAS_REEXEC") || std::getenv("TUNEBENCH_NO_BLAS_TUNING"))
    return;
  const std::string core = betterOpenBlasCore();
  const std::string openmp = openMpOpenBlasDir();
  const std::string spin = openmp.empty() ? tunedOpenMpSpinCount() : std::string();
  if (core.empty() && openmp.empty() && spin.empty())
    return;
  // Without argv (Qt Test's initMain() has none), the arguments come from /proc/self/cmdline.
  std::vector<std::string> words;
  std::vector<char *> cmdline;
  if (!argv) {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::string word;
    while (std::getline(in, word, '\0'))
      words.push_back(word);
    for (std::string &w : words)
      cmdline.push_back(w.data());
    cmdline.push_back(nullptr);
    argv = cmdline.data();
  }
  if (!core.empty())
    setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  if (!spin.empty())
    setenv("GOMP_SPINCOUNT", spin.c_str(), 1);
  const char *oldPath = std::getenv("LD_LIBRARY_PATH");
  const std::string keptPath = oldPath ? oldPath : "";
  if (!openmp.empty())
    setenv("LD_LIBRARY_PATH", (keptPath.empty() ? openmp : openmp + ":" + keptPath).c_str(), 1);
  // What was set, for `tunebench-cli version`: a comma-separated list of core, openmp and spin.
  std::string what;
  for (const auto &[name, value] : {std::pair{"core", &core}, {"openmp", &openmp}, {"spin", &spin}})
    if (!value->empty())
      what += (what.empty() ? "" : ",") + std::string(name);
  setenv("TUNEBENCH_BLAS_REEXEC", what.c_str(), 1);
  execv("/proc/self/exe", argv);
  // execv failed: carry on untuned rather than not at all.
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv("GOMP_SPINCOUNT");
  if (oldPath)
    setenv("LD_LIBRARY_PATH", keptPath.c_str(), 1);
  else
    unsetenv("LD_LIBRARY_PATH");
}

} // namespace tunebench
