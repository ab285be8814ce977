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

void reexecWithBetterBlasCore(char **argv)
{
  if (std::getenv("TUNEBENCH_BLAS_REEXEC") || std::getenv("TUNEBENCH_NO_BLAS_TUNING"))
    return;
  const std::string core = betterOpenBlasCore();
  if (core.empty())
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
  setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  setenv("TUNEBENCH_BLAS_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);
  // execv failed: carry on with the slow core rather than not at all.
  unsetenv("OPENBLAS_CORETYPE");
}

} // namespace tunebench
