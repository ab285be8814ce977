#include "core/util/jsonfile.h"

#include "core/util/error.h"
#include "core/util/files.h"

#include <fstream>
#include <iterator>

namespace tunebench {
namespace fs = std::filesystem;

std::string jsonErrorReason(const nlohmann::json::exception &e)
{
  std::string what = e.what();
  const auto colon = what.find(": ", what.find(']'));
  if (colon != std::string::npos)
    what = what.substr(colon + 2);
  else if (const auto bracket = what.find("] "); bracket != std::string::npos)
    what = what.substr(bracket + 2);
  return what;
}

namespace {

std::string jsonReason(const nlohmann::json::exception &e)
{
  const std::string what = jsonErrorReason(e);
  return what.empty() ? std::string() : ": " + what;
}

} // namespace

std::size_t jsonTooDeepAt(std::string_view text, int maxDepth)
{
  int depth = 0;
  bool inString = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > maxDepth)
        return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::string_view::npos;
}

nlohmann::json parseJson(std::string_view text, const std::string &source)
{
  const std::size_t deep = jsonTooDeepAt(text);
  if (deep != std::string_view::npos)
    throw Error(source + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels (at byte " +
                std::to_string(deep + 1) + ")");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::out_of_range &) { // a number past a double's range: 1e999
    throw Error(source + ": not valid JSON: a number is too large to be represented");
  }
}

nlohmann::json readJsonFile(const std::filesystem::path &path)
{
  const std::string text = readInputFile(path, "a JSON file");
  try {
    return parseJson(text, path.string());
  } catch (const nlohmann::json::parse_error &e) {
    throw Error(path.string() + ": not valid JSON at byte " + std::to_string(e.byte) + jsonReason(e));
  } catch (const nlohmann::json::exception &e) {
    throw Error(path.string() + ": not valid JSON" + jsonReason(e));
  }
}

void writeJsonFile(const std::filesystem::path &path, const nlohmann::json &value)
{
  writeFileAtomically(path, value.dump(2) + "\n");
}

int intField(const nlohmann::json &j, const std::string &source, const std::string &name, std::optional<int> fallback,
             int minimum)
{
  if (!j.contains(name) || j[name].is_null()) {
    if (fallback)
      return *fallback;
    throw Error(source + ": field \"" + name + "\" is missing");
  }
  // Checked as a 64-bit value before it becomes an int: 10000000000 must not wrap to 1410065408.
  const bool integer = j[name].is_number_integer() &&
                       (j[name].is_number_unsigned() ? j[name].get<unsigned long long>() <= 0x7fffffffULL
                                                     : j[name].get<long long>() <= 0x7fffffffLL);
  if (!integer || j[name].get<long long>() < minimum)
    throw Error(source + ": field \"" + name + "\" must be an integer from " + std::to_string(minimum) +
                " to 2147483647, got " + j[name].dump());
  return j[name].get<int>();
}

} // namespace tunebench
