#pragma once

#include "core/data/dataset.h"

#include <string>
#include <vector>

namespace tunebench {

enum class UnicodeForm { None, NFC, NFKC };

// Optional cleaning steps, applied in this order to every text field (text, pair, instruction,
// input, output, chat turns). Tokens of tagging data are only Unicode-normalised.
struct CleaningOptions
{
  bool stripHtml = false;       // remove tags, decode entities (&amp; &#169; ...)
  UnicodeForm unicode = UnicodeForm::None;
  bool maskUrls = false;        // http(s)://… and www.… → <url>
  bool maskEmails = false;      // name@domain.tld → <email>
  bool whitespace = false;      // collapse runs of whitespace, trim
  bool lowercase = false;
  bool deduplicate = false;     // drop later copies of an example (same text, case-insensitive)
};

// What one step did.
struct CleaningStep
{
  std::string name;
  int rowsChanged = 0;
  int rowsRemoved = 0;
};

std::vector<CleaningStep> cleanDataset(Dataset &dataset, const CleaningOptions &options);

// The single-string steps, exposed for tests and the GUI preview.
std::string stripHtml(const std::string &text);
std::string maskUrls(const std::string &text);
std::string maskEmails(const std::string &text);
std::string collapseWhitespace(const std::string &text);

} // namespace tunebench
