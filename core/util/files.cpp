#include "core/util/files.h"

#include "core/util/error.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace tunebench {
namespace fs = std::filesystem;

bool fileExists(const fs::path &path)
{
  std::error_code ec;
  return fs::exists(path, ec);
}

std::uintmax_t maxInputBytes()
{
  static const std::uintmax_t limit = [] {
    const char *text = std::getenv("TUNEBENCH_MAX_INPUT_MB");
    char *end = nullptr;
    const unsigned long long mb = text ? std::strtoull(text, &end, 10) : 0;
    return (text && end && *end == '\0' && mb > 0 ? mb : 4096ULL) * 1024ULL * 1024ULL;
  }();
  return limit;
}

std::string inputFileProblem(const fs::path &path, const std::string &what)
{
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    return "no such file (expected " + what + ")";
  if (fs::is_directory(status))
    return "is a folder, expected " + what;
  if (!fs::is_regular_file(status))
    return "is not a regular file (a pipe, socket or device), expected " + what;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > maxInputBytes())
    return std::to_string(size / (1024 * 1024)) + " MiB is above the input limit of " +
           std::to_string(maxInputBytes() / (1024 * 1024)) + " MiB (TUNEBENCH_MAX_INPUT_MB raises it)";
  return {};
}

std::string readInputFile(const fs::path &path, const std::string &what)
{
  if (const std::string problem = inputFileProblem(path, what); !problem.empty())
    throw Error(path.string() + ": " + problem);
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(path.string() + ": cannot be read (permission denied?)");
  std::string data;
  data.resize(static_cast<std::size_t>(size));
  in.read(data.data(), static_cast<std::streamsize>(size));
  data.resize(static_cast<std::size_t>(in.gcount()));
  return data;
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
      throw Error(path.string() + ": cannot write (" + temporary.string() + "): " + std::strerror(errno));
    errno = 0;
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      const std::string reason = errno ? std::strerror(errno) : "disk full?";
      out.close();
      fs::remove(temporary, ec); // never leave half a file behind
      throw Error(path.string() + ": writing failed (" + reason + ")");
    }
    out.close();
    if (!out) {
      fs::remove(temporary, ec);
      throw Error(path.string() + ": writing failed (" +
                  std::string(errno ? std::strerror(errno) : "disk full?") + ")");
    }
  }
  fs::rename(temporary, path, ec);
  if (ec) {
    fs::remove(temporary, ec);
    throw Error(path.string() + ": cannot replace the file: " + ec.message());
  }
}

} // namespace tunebench
