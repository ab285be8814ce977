#include "core/runtime/blascore.h"

#include "core/runtime/runtime.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
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

std::string tunedOpenMpSpinCount()
{
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
  const std::string spin = tunedOpenMpSpinCount();
  if (core.empty() && spin.empty())
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
  // What was set, for `tunebench-cli version`: "core", "spin" or "core,spin".
  setenv("TUNEBENCH_BLAS_REEXEC", core.empty() ? "spin" : spin.empty() ? "core" : "core,spin", 1);
  execv("/proc/self/exe", argv);
  // execv failed: carry on untuned rather than not at all.
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv("GOMP_SPINCOUNT");
}

} // namespace tunebench
