#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tunebench {

// Converts the raw corpora that packaging/fetch-assets.sh downloads into the project's formats
// under <assets>/data. Each prepared file is listed with its row count.
struct PreparedFile
{
  std::string path; // relative to the asset folder
  int rows = 0;
  std::string what;
};

// Throws tunebench::Error naming the raw file when one is missing or unreadable.
std::vector<PreparedFile> prepareCorpora(const std::filesystem::path &assets);

} // namespace tunebench
