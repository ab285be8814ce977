#include "core/models/tfjs.h"

#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <torch/torch.h>

#include <cstring>
#include <fstream>

namespace tunebench {

TfjsModel readTfjsModel(const std::filesystem::path &folder)
{
  const auto modelJson = folder / "model.json";
  if (!fileExists(modelJson))
    throw Error(modelJson.string() + ": cannot open (a TF.js graph model folder holds model.json)");
  const nlohmann::json root = readJsonFile(modelJson);
  if (!root.contains("modelTopology") || !root.contains("weightsManifest"))
    throw Error(modelJson.string() + ": not a TF.js graph model (needs modelTopology and weightsManifest)");
  TfjsModel model;
  model.graph = root["modelTopology"];
  for (const auto &group : root["weightsManifest"]) {
    std::string data;
    for (const auto &path : group.value("paths", nlohmann::json::array())) {
      const std::string name = path.get<std::string>();
      if (name.find("..") != std::string::npos || name.find('/') != std::string::npos)
        throw Error(modelJson.string() + ": shard \"" + name + "\" is not a file of the folder");
      std::ifstream shard(folder / name, std::ios::binary);
      if (!shard)
        throw Error((folder / name).string() + ": missing weight shard listed in model.json");
      data.append(std::istreambuf_iterator<char>(shard), {});
    }
    std::size_t offset = 0;
    for (const auto &w : group.value("weights", nlohmann::json::array())) {
      const std::string name = w.value("name", std::string());
      const std::string dtype = w.value("dtype", std::string("float32"));
      if (dtype != "float32" && dtype != "int32")
        throw Error(modelJson.string() + ": weight \"" + name + "\" has dtype " + dtype +
                    " (float32 and int32 are supported)");
      std::vector<std::int64_t> shape = w.value("shape", std::vector<std::int64_t>{});
      std::int64_t count = 1;
      for (auto d : shape)
        count *= d;
      const std::size_t bytes = static_cast<std::size_t>(count) * 4;
      if (offset + bytes > data.size())
        throw Error(modelJson.string() + ": weight \"" + name + "\" needs bytes " + std::to_string(offset) + "–" +
                    std::to_string(offset + bytes) + " but the shards hold " + std::to_string(data.size()) +
                    " (truncated shard?)");
      torch::Tensor t = torch::empty(shape, dtype == "float32" ? torch::kFloat32 : torch::kInt32);
      std::memcpy(t.data_ptr(), data.data() + offset, bytes);
      model.weights.emplace(name, std::move(t));
      offset += bytes;
    }
  }
  return model;
}

} // namespace tunebench
