#pragma once

#include "core/data/dataset.h"
#include "core/util/files.h"

#include <filesystem>
#include <string>
#include <vector>

namespace tunebench {

// CSV with a header, every field quoted (RFC 4180), "\n" line ends.
std::string toCsv(const std::vector<std::string> &header, const std::vector<std::vector<std::string>> &rows);
// CoNLL: "token<TAB>tag" lines, a blank line after each sentence.
std::string toConll(const Dataset &dataset);
// JSON Lines in the project's field names (text, label(s), tokens/tags, instruction/input/output,
// messages, split, and source_row/augmentation for augmented rows).
std::string toJsonLines(const Dataset &dataset);

} // namespace tunebench
