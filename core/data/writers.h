#pragma once

#include "core/data/dataset.h"

#include <filesystem>
#include <string>
#include <vector>

namespace tunebench {

// Writes a file through a temporary name and a rename, so a crash never leaves half a file.
void writeFileAtomically(const std::filesystem::path &path, const std::string &content);

// CSV with a header, every field quoted (RFC 4180), "\n" line ends.
std::string toCsv(const std::vector<std::string> &header, const std::vector<std::vector<std::string>> &rows);
// CoNLL: "token<TAB>tag" lines, a blank line after each sentence.
std::string toConll(const Dataset &dataset);
// JSON Lines in the project's field names (text, label(s), tokens/tags, instruction/input/output,
// messages, split, and source_row/augmentation for augmented rows).
std::string toJsonLines(const Dataset &dataset);

} // namespace tunebench
