#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tunebench {

// A TF.js model.json's weightsManifest, checked: each group's shard paths are plain file names of
// the folder, each weight has a name, a dtype tunebench reads (float32, int32: 4 bytes each) and a
// shape of non-negative sizes whose byte count does not overflow.
struct TfjsWeight
{
  std::string name, dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t bytes = 0;
};

struct TfjsGroup
{
  std::vector<std::string> paths;
  std::vector<TfjsWeight> weights;
};

// Every problem (no modelTopology or weightsManifest, a value of the wrong type, a shard path that
// leaves the folder, a bad dtype or shape) throws tunebench::Error naming `file` and the weight.
// No LibTorch: fuzzable on its own.
std::vector<TfjsGroup> parseTfjsManifest(const nlohmann::json &root, const std::string &file);

} // namespace tunebench
