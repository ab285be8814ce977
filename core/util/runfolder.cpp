#include "core/util/runfolder.h"

#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"
#include "core/util/text.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>

namespace tunebench {
namespace fs = std::filesystem;

namespace {

std::string newRunId()
{
  std::random_device device;
  static const char *hex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 4; ++i) {
    std::uint32_t word = device();
    for (int k = 0; k < 8; ++k, word >>= 4)
      id += hex[word & 15U];
  }
  return id;
}

std::string writeIdentity(const fs::path &dir)
{
  const std::string id = newRunId();
  writeJsonFile(dir / kRunIdentityFile, {{"id", id}, {"created", text::now()}});
  return id;
}

} // namespace

void requireNewRunFolder(const fs::path &dir)
{
  std::error_code ec;
  if (!fs::exists(dir, ec))
    return;
  if (!fs::is_directory(dir, ec))
    throw Error(dir.string() + ": is not a folder; choose a new folder for the run");
  if (fs::directory_iterator(dir, ec) != fs::directory_iterator())
    throw Error(dir.string() + ": the folder is not empty; a run needs a new or empty folder "
                               "(nothing in it was changed)");
}

std::string createRunFolder(const fs::path &dir)
{
  requireNewRunFolder(dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw Error(dir.string() + ": cannot create the run folder: " + ec.message());
  return writeIdentity(dir);
}

std::optional<std::string> runFolderId(const fs::path &dir)
{
  const fs::path file = dir / kRunIdentityFile;
  if (!fileExists(file))
    return std::nullopt;
  const nlohmann::json j = readJsonFile(file);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string() || j["id"].get<std::string>().empty())
    throw Error(file.string() + ": field \"id\": missing or not a string (the run's identity)");
  return j["id"].get<std::string>();
}

std::string adoptRunFolder(const fs::path &dir)
{
  if (const auto id = runFolderId(dir))
    return *id;
  return writeIdentity(dir);
}

RunFolderLock::RunFolderLock(const fs::path &dir)
{
  const fs::path file = dir / "run.lock";
  m_fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (m_fd < 0)
    throw Error(file.string() + ": cannot open the run's lock file: " + std::strerror(errno));
  if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(m_fd);
    m_fd = -1;
    if (err == EWOULDBLOCK)
      throw Error(dir.string() + ": another tunebench process is training this run; wait for it to end "
                                 "(or stop it) before resuming");
    throw Error(file.string() + ": cannot lock the run folder: " + std::strerror(err));
  }
}

RunFolderLock::~RunFolderLock()
{
  if (m_fd >= 0)
    ::close(m_fd); // releases the flock
}

void replaceFolder(const fs::path &fresh, const fs::path &target)
{
  std::error_code ec;
  if (!fs::exists(target, ec)) {
    fs::rename(fresh, target, ec);
    if (ec)
      throw Error(target.string() + ": cannot move the new folder in place: " + ec.message());
    return;
  }
  if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    faultPoint("folder-exchanged");
    fs::remove_all(fresh, ec); // now the old content
    return;
  }
  if (errno != EINVAL && errno != ENOSYS)
    throw Error(target.string() + ": cannot replace the folder: " + std::strerror(errno));
  // A file system without RENAME_EXCHANGE: the old folder steps aside first; recoverFolder puts
  // it back if a crash comes before the new one is in place.
  const fs::path old = target.string() + ".old";
  fs::remove_all(old, ec);
  fs::rename(target, old, ec);
  if (ec)
    throw Error(target.string() + ": cannot move the old folder aside: " + ec.message());
  fs::rename(fresh, target, ec);
  if (ec) {
    fs::rename(old, target);
    throw Error(target.string() + ": cannot move the new folder in place: " + ec.message());
  }
  fs::remove_all(old, ec);
}

void recoverFolder(const fs::path &target)
{
  const fs::path old = target.string() + ".old";
  std::error_code ec;
  if (!fs::exists(target, ec) && fs::is_directory(old, ec))
    fs::rename(old, target, ec);
}

void faultPoint(const char *name)
{
  static const char *spec = std::getenv("TUNEBENCH_FAULT_AT");
  if (!spec || !*spec)
    return;
  static std::atomic<long> passes{0};
  const std::string s(spec);
  const auto colon = s.find(':');
  if (s.substr(0, colon) != name)
    return;
  const long wanted = colon == std::string::npos ? 1 : std::strtol(s.c_str() + colon + 1, nullptr, 10);
  if (++passes >= wanted)
    ::kill(::getpid(), SIGKILL);
}

} // namespace tunebench
