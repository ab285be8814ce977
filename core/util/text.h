#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

// Small ASCII text helpers shared by the data code (Unicode-aware work lives in tokenize/unicode.h).
namespace tunebench::text {

// The current time in `format` (strftime), UTC or local: "%Y-%m-%dT%H:%M:%SZ" is ISO 8601 UTC.
std::string now(const char *format = "%Y-%m-%dT%H:%M:%SZ", bool utc = true);

// Without leading and trailing spaces, tabs, CR and LF.
std::string trim(std::string_view s);
// ASCII lower-case.
std::string lower(std::string s);
// Words separated by runs of spaces, tabs, CR or LF.
std::vector<std::string> splitWhitespace(std::string_view s);
std::string join(const std::vector<std::string> &parts, std::string_view separator);
// A CSV field: as it is, or in double quotes (quotes doubled) when it holds a comma, a quote or a
// line break.
std::string csvField(std::string_view s);

// A string-keyed hash map that can be probed with a std::string_view (no allocation per lookup).
struct StringViewHash
{
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V> using StringMap = std::unordered_map<std::string, V, StringViewHash, std::equal_to<>>;

// Calls f(lineNumber, line, byteOffsetOfLine) for every line split on "\n" (a final "\r" removed).
template <typename F>
void forEachLine(std::string_view data, F &&f)
{
  std::size_t start = 0;
  for (int line = 1; start < data.size(); ++line) {
    std::size_t end = data.find('\n', start);
    if (end == std::string_view::npos)
      end = data.size();
    std::string_view text = data.substr(start, end - start);
    if (!text.empty() && text.back() == '\r')
      text.remove_suffix(1);
    f(line, text, start);
    start = end + 1;
  }
}

} // namespace tunebench::text
