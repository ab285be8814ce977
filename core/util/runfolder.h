#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace tunebench {

// A run folder carries run.json ({"id", "created"}) from the moment tunebench makes it. The id is
// the run's identity in the history (rows are found by it, never by the folder's path), and the
// file marks the folder as tunebench's: nothing in a folder without it is ever deleted or
// overwritten.
inline constexpr const char *kRunIdentityFile = "run.json";

// Makes `dir` a new run folder and returns its new id. The folder must not exist or be empty:
// a folder with anything in it is refused (Error naming it) and left as it was.
std::string createRunFolder(const std::filesystem::path &dir);

// The id in DIR/run.json, or nullopt when there is none. Error naming the file when it is
// unreadable or holds no id.
std::optional<std::string> runFolderId(const std::filesystem::path &dir);

// The id of an existing run folder; one is written now for a folder made before run ids existed.
std::string adoptRunFolder(const std::filesystem::path &dir);

// Refuses (Error naming it) a `dir` that could not be a new run folder: not a folder, or one with
// anything in it. createRunFolder checks this; a front end can check it before other work.
void requireNewRunFolder(const std::filesystem::path &dir);

// An exclusive lock on a run folder (flock on DIR/run.lock), held for the object's life, so two
// processes never train one run. Error naming the folder when another process holds it.
class RunFolderLock
{
public:
  explicit RunFolderLock(const std::filesystem::path &dir);
  ~RunFolderLock();
  RunFolderLock(const RunFolderLock &) = delete;
  RunFolderLock &operator=(const RunFolderLock &) = delete;

private:
  int m_fd = -1;
};

// Puts the complete folder `fresh` in the place of `target` in one step: with an existing target
// the two are exchanged (renameat2 RENAME_EXCHANGE) and the old content removed only afterwards,
// so a crash at any moment leaves either the old or the new folder whole at `target`.
void replaceFolder(const std::filesystem::path &fresh, const std::filesystem::path &target);
// After a crash inside replaceFolder's fallback (no RENAME_EXCHANGE): puts TARGET.old back when
// TARGET is missing.
void recoverFolder(const std::filesystem::path &target);

// Fault injection for the crash tests: when TUNEBENCH_FAULT_AT is "NAME" or "NAME:N", the process
// kills itself with SIGKILL at the N-th (default first) time it passes faultPoint(NAME).
void faultPoint(const char *name);

} // namespace tunebench
