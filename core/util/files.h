#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace tunebench {

// True when path exists (no exception for unreadable parents).
bool fileExists(const std::filesystem::path &path);

// The largest input file read whole (data, configs, JSON): TUNEBENCH_MAX_INPUT_MB, default 4096 MiB.
std::uintmax_t maxInputBytes();

// The whole content of an input file. Refused with an Error naming the file, before anything is
// read, when it is missing, a folder, not a regular file (a pipe, a device such as /dev/zero: they
// would block or never end) or larger than maxInputBytes(). `what` names the expected content.
std::string readInputFile(const std::filesystem::path &path, const std::string &what);
// What readInputFile would refuse the file for, without the path ("is a folder, expected …"),
// or "" when it can be read.
std::string inputFileProblem(const std::filesystem::path &path, const std::string &what);

// Writes a file through a temporary name and a rename, so a crash never leaves half a file and
// what was saved before stays intact until the new content is complete. Throws tunebench::Error.
void writeFileAtomically(const std::filesystem::path &path, const std::string &content);

} // namespace tunebench
