#pragma once

// Shared by the readers' files (readers.cpp, linereaders.cpp); not for use elsewhere.

#include "core/data/datareport.h"

#include <filesystem>
#include <set>
#include <string>

namespace tunebench::detail {

// The file's bytes (regular files only, bounded: core/util/files.h) with a UTF-8 BOM removed;
// every invalid byte is reported at its line:column. Fills the 1-based lines that hold invalid bytes.
std::string readDataText(const std::filesystem::path &path, DataReport &report, std::set<int> &badLines);

} // namespace tunebench::detail
