// Run bundles: any bytes as a bundle file imported into a fresh folder. Only tunebench::Error may
// be thrown; nothing may be written outside the target folder (checked after every input).
#include "core/runs/runstore.h"
#include "core/util/error.h"

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
  static const fs::path root = [] {
    const fs::path f = fs::temp_directory_path() / ("tunebench-fuzz-bundle-" + std::to_string(getpid()));
    fs::create_directories(f / "target");
    return f;
  }();
  const fs::path bundle = root / "x.tbrun";
  {
    std::ofstream out(bundle, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
  }
  try {
    (void)tunebench::readRunBundle(bundle, root / "target");
  } catch (const tunebench::Error &) {
  }
  for (const auto &entry : fs::directory_iterator(root)) // only the bundle and the target folder
    if (entry.path() != bundle && entry.path() != root / "target")
      std::abort();
  fs::remove_all(root / "target");
  fs::create_directories(root / "target");
  return 0;
}
