#include "core/util/files.h"

#include "core/util/error.h"

#include <fstream>

#include <unistd.h>

namespace tunebench {
namespace fs = std::filesystem;

bool fileExists(const fs::path &path)
{
  std::error_code ec;
  return fs::exists(path, ec);
}

void writeFileAtomically(const fs::path &path, const std::string &content)
{
  std::error_code ec;
  if (path.has_parent_path())
    fs::create_directories(path.parent_path(), ec);
  const fs::path temporary = path.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out)
      throw Error(path.string() + ": cannot write (" + temporary.string() + ")");
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out)
      throw Error(path.string() + ": writing failed (disk full?)");
  }
  fs::rename(temporary, path, ec);
  if (ec) {
    fs::remove(temporary, ec);
    throw Error(path.string() + ": cannot replace the file: " + ec.message());
  }
}

} // namespace tunebench
