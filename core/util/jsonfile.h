#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>

namespace tunebench {

// Parses a JSON file; throws tunebench::Error naming the file when it cannot be opened or parsed.
nlohmann::json readJsonFile(const std::filesystem::path &path);
// Writes JSON (indented, newline at the end) through a temporary file and a rename.
void writeJsonFile(const std::filesystem::path &path, const nlohmann::json &value);

// An integer field of a config object (the first of `name` present), or `fallback` when absent or
// null; throws tunebench::Error naming source and field when it is not an integer ≥ minimum.
int intField(const nlohmann::json &object, const std::string &source, const std::string &name,
             std::optional<int> fallback = std::nullopt, int minimum = 0);

} // namespace tunebench
