#pragma once

#include "core/models/safetensors.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace tunebench {

// A TF.js graph model folder: model.json (the graph and its weightsManifest) and the binary shards
// the manifest lists, read into tensors by their TF names. float32 and int32 weights are read;
// every problem throws tunebench::Error naming the file (a missing shard, a shard shorter than
// the manifest says, an unsupported dtype).
struct TfjsModel
{
  nlohmann::json graph; // modelTopology
  TensorMap weights;    // TF name → tensor
};

TfjsModel readTfjsModel(const std::filesystem::path &folder);

} // namespace tunebench
