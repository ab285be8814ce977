#include "core/util/text.h"

#include <algorithm>
#include <ctime>

namespace tunebench::text {

std::string trim(std::string_view s)
{
  const auto a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string_view::npos ? std::string() : std::string(s.substr(a, b - a + 1));
}

std::string lower(std::string s)
{
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::vector<std::string> splitWhitespace(std::string_view s)
{
  std::vector<std::string> out;
  std::size_t p = 0;
  while ((p = s.find_first_not_of(" \t\r\n", p)) != std::string_view::npos) {
    const std::size_t q = std::min(s.find_first_of(" \t\r\n", p), s.size());
    out.emplace_back(s.substr(p, q - p));
    p = q;
  }
  return out;
}

std::string join(const std::vector<std::string> &parts, std::string_view separator)
{
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i)
      out += separator;
    out += parts[i];
  }
  return out;
}

std::string now(const char *format, bool utc)
{
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  if (utc)
    gmtime_r(&t, &tm);
  else
    localtime_r(&t, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, format, &tm);
  return buffer;
}

std::string csvField(std::string_view s)
{
  if (s.find_first_of(",\"\n") == std::string_view::npos)
    return std::string(s);
  std::string out = "\"";
  for (char c : s)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

} // namespace tunebench::text
