#pragma once

#include "core/util/error.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace tunebench {

// JSON deeper than this is refused before it is parsed (a 100,000-deep nesting would otherwise
// exhaust the stack in code that walks it).
inline constexpr int kMaxJsonDepth = 256;
// The offset of the first bracket that nests deeper than maxDepth, or npos (strings are skipped).
std::size_t jsonTooDeepAt(std::string_view text, int maxDepth = kMaxJsonDepth);
// nlohmann::json::parse after the depth check: throws tunebench::Error naming `source` and the
// offset when the text nests too deep or holds a number too large for a double; parse errors
// (nlohmann::json::parse_error) go on as they are.
nlohmann::json parseJson(std::string_view text, const std::string &source);

// nlohmann's message without its "[json.exception.…]" prefix and its own positions.
std::string jsonErrorReason(const nlohmann::json::exception &e);

// Reads `read()` and turns a field of the wrong JSON type (nlohmann's type_error, e.g. a number
// where a string belongs) into a tunebench::Error naming `source`, in our words.
template <class F> auto withJsonTypeErrors(const std::string &source, F &&read) -> decltype(read())
{
  try {
    return read();
  } catch (const nlohmann::json::type_error &e) {
    throw Error(source + ": a field has the wrong JSON type (" + jsonErrorReason(e) + ")");
  }
}

// Parses a JSON file; throws tunebench::Error naming the file when it cannot be opened or parsed.
nlohmann::json readJsonFile(const std::filesystem::path &path);
// Writes JSON (indented, newline at the end) through a temporary file and a rename.
void writeJsonFile(const std::filesystem::path &path, const nlohmann::json &value);

// An integer field of a config object (the first of `name` present), or `fallback` when absent or
// null; throws tunebench::Error naming source and field when it is not an integer ≥ minimum.
int intField(const nlohmann::json &object, const std::string &source, const std::string &name,
             std::optional<int> fallback = std::nullopt, int minimum = 0);

} // namespace tunebench
