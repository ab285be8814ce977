#include "core/models/tfjs.h"

#include "core/models/tfjsmanifest.h"
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
  const std::vector<TfjsGroup> groups = parseTfjsManifest(root, modelJson.string());
  TfjsModel model;
  model.graph = root["modelTopology"];
  for (const TfjsGroup &group : groups) {
    std::string data;
    for (const std::string &name : group.paths) {
      const std::filesystem::path shard = folder / name;
      if (!fileExists(shard))
        throw Error(shard.string() + ": missing weight shard listed in model.json");
      data += readInputFile(shard, "a TF.js weight shard");
    }
    std::uint64_t offset = 0;
    for (const TfjsWeight &w : group.weights) {
      if (w.bytes > data.size() - offset)
        throw Error(modelJson.string() + ": weight \"" + w.name + "\" needs bytes " + std::to_string(offset) +
                    "–" + std::to_string(offset + w.bytes) + " but the shards hold " +
                    std::to_string(data.size()) + " (truncated shard?)");
      torch::Tensor t = torch::empty(w.shape, w.dtype == "float32" ? torch::kFloat32 : torch::kInt32);
      if (w.bytes)
        std::memcpy(t.data_ptr(), data.data() + offset, w.bytes);
      model.weights.emplace(w.name, std::move(t));
      offset += w.bytes;
    }
  }
  return model;
}

} // namespace tunebench
