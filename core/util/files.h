#pragma once

#include <filesystem>
#include <string>

namespace tunebench {

// True when path exists (no exception for unreadable parents).
bool fileExists(const std::filesystem::path &path);

// Writes a file through a temporary name and a rename, so a crash never leaves half a file and
// what was saved before stays intact until the new content is complete. Throws tunebench::Error.
void writeFileAtomically(const std::filesystem::path &path, const std::string &content);

} // namespace tunebench
