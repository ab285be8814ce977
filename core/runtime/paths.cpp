#include "core/runtime/paths.h"

#include <cstdlib>

namespace tunebench {
namespace fs = std::filesystem;

namespace {

fs::path dataHome()
{
  if (const char *xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return fs::path(xdg);
  if (const char *home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".local" / "share";
  return fs::temp_directory_path();
}

fs::path fromEnvironment(const char *name, const fs::path &fallback)
{
  if (const char *value = std::getenv(name); value && *value)
    return fs::path(value);
  return fallback;
}

} // namespace

fs::path defaultWorkspaceDir()
{
  return fromEnvironment("TUNEBENCH_WORKSPACE", dataHome() / "tunebench" / "workspace");
}

fs::path assetsDir() { return fromEnvironment("TUNEBENCH_ASSETS", dataHome() / "tunebench" / "assets"); }

bool assetsPresent(const fs::path &dir)
{
  std::error_code ec;
  return fs::is_regular_file(dir / "models" / "use-lite" / "model.json", ec) &&
         fs::is_regular_file(dir / "data" / "sentiment" / "pang-lee-sentences.csv", ec);
}

fs::path executableDir()
{
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

} // namespace tunebench
