#include "core/models/tfjsmanifest.h"

#include "core/util/error.h"

namespace tunebench {

namespace {

TfjsWeight checkedWeight(const nlohmann::json &w, const std::string &file)
{
  if (!w.is_object() || !w.contains("name") || !w["name"].is_string())
    throw Error(file + ": a weight of weightsManifest has no name");
  TfjsWeight out;
  out.name = w["name"].get<std::string>();
  const std::string where = file + ": weight \"" + out.name + "\"";
  out.dtype = w.contains("dtype") && w["dtype"].is_string() ? w["dtype"].get<std::string>() : "float32";
  if (out.dtype != "float32" && out.dtype != "int32")
    throw Error(where + " has dtype " + out.dtype + " (float32 and int32 are supported)");
  if (!w.contains("shape") || !w["shape"].is_array())
    throw Error(where + ": field \"shape\" must be a list of sizes");
  std::uint64_t count = 1;
  for (const auto &d : w["shape"]) {
    if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
      throw Error(where + ": bad shape " + w["shape"].dump());
    const auto n = static_cast<std::uint64_t>(d.get<std::int64_t>());
    if (n > 0 && count > (std::uint64_t{1} << 56) / n)
      throw Error(where + ": shape " + w["shape"].dump() + " is too large for any file");
    out.shape.push_back(d.get<std::int64_t>());
    count *= n;
  }
  out.bytes = count * 4;
  return out;
}

} // namespace

std::vector<TfjsGroup> parseTfjsManifest(const nlohmann::json &root, const std::string &file)
{
  if (!root.is_object() || !root.contains("modelTopology") || !root.contains("weightsManifest"))
    throw Error(file + ": not a TF.js graph model (needs modelTopology and weightsManifest)");
  if (!root["weightsManifest"].is_array())
    throw Error(file + ": field \"weightsManifest\" must be a list of weight groups");
  std::vector<TfjsGroup> groups;
  for (const auto &g : root["weightsManifest"]) {
    if (!g.is_object())
      throw Error(file + ": an entry of weightsManifest is not an object");
    TfjsGroup group;
    if (g.contains("paths")) {
      if (!g["paths"].is_array())
        throw Error(file + ": field \"paths\" must be a list of shard file names");
      for (const auto &p : g["paths"]) {
        const std::string name = p.is_string() ? p.get<std::string>() : std::string();
        if (name.empty() || name == "." || name.find("..") != std::string::npos ||
            name.find('/') != std::string::npos)
          throw Error(file + ": shard " + p.dump() + " is not a file of the folder");
        group.paths.push_back(name);
      }
    }
    if (g.contains("weights")) {
      if (!g["weights"].is_array())
        throw Error(file + ": field \"weights\" must be a list");
      for (const auto &w : g["weights"])
        group.weights.push_back(checkedWeight(w, file));
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

} // namespace tunebench
