#include "core/util/jsonfile.h"

#include "core/util/error.h"
#include "core/util/files.h"

#include <fstream>

namespace tunebench {

nlohmann::json readJsonFile(const std::filesystem::path &path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(path.string() + ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception &e) {
    throw Error(path.string() + ": not valid JSON: " + e.what());
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
  if (!j[name].is_number_integer() || j[name].get<long long>() < minimum)
    throw Error(source + ": field \"" + name + "\" must be an integer ≥ " + std::to_string(minimum) + ", got " +
                j[name].dump());
  return j[name].get<int>();
}

} // namespace tunebench
