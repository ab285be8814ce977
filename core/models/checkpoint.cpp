#include "core/models/checkpoint.h"

#include "core/models/torchpickle.h"
#include "core/util/cancel.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace tunebench {
namespace fs = std::filesystem;

namespace {

std::string legacyName(const std::string &key)
{
  std::string k = key;
  for (const auto &[from, to] : {std::pair<std::string, std::string>{".gamma", ".weight"}, {".beta", ".bias"}})
    if (k.size() > from.size() && k.compare(k.size() - from.size(), from.size(), from) == 0)
      k.replace(k.size() - from.size(), from.size(), to);
  return k;
}

} // namespace

TensorMap readCheckpoint(const fs::path &folder)
{
  if (fileExists(folder / "model.safetensors"))
    return readSafetensors(folder / "model.safetensors");
  if (fileExists(folder / "model.safetensors.index.json")) {
    const fs::path index = folder / "model.safetensors.index.json";
    const nlohmann::json j = readJsonFile(index);
    if (!j.contains("weight_map") || !j["weight_map"].is_object())
      throw Error(index.string() + ": field \"weight_map\" is missing");
    std::set<std::string> shards;
    for (const auto &[tensor, shard] : j["weight_map"].items())
      shards.insert(shard.get<std::string>());
    TensorMap all;
    for (const std::string &shard : shards) {
      throwIfStopped();
      if (shard.find("..") != std::string::npos || shard.find('/') != std::string::npos)
        throw Error(index.string() + ": shard \"" + shard + "\" is not a file name in the folder");
      TensorMap part = readSafetensors(folder / shard);
      all.insert(std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
    }
    for (const auto &[tensor, shard] : j["weight_map"].items())
      if (!all.count(tensor))
        throw Error((folder / shard.get<std::string>()).string() + ": tensor \"" + tensor +
                    "\" listed in the index is not in the shard");
    return all;
  }
  if (fileExists(folder / "pytorch_model.bin"))
    return readTorchPickle(folder / "pytorch_model.bin");
  throw Error(folder.string() + ": no weights found (model.safetensors, model.safetensors.index.json or "
                                "pytorch_model.bin)");
}

std::string LoadReport::summary() const
{
  std::string out = std::to_string(loaded.size()) + " tensors loaded";
  auto list = [](const std::vector<std::string> &names) {
    std::string s;
    for (std::size_t i = 0; i < names.size() && i < 6; ++i)
      s += (i ? ", " : "") + names[i];
    if (names.size() > 6)
      s += ", … (" + std::to_string(names.size()) + " in all)";
    return s;
  };
  if (!missing.empty())
    out += "; not in the checkpoint, initialised randomly: " + list(missing) +
           " (expected for a task head when fine-tuning a base model)";
  if (!reinitialised.empty())
    out += "; head re-initialised for a different number of labels: " + list(reinitialised);
  if (!unexpected.empty())
    out += "; in the checkpoint but unused: " + list(unexpected) + " (e.g. pre-training heads)";
  return out;
}

TensorMap stateDict(const torch::nn::Module &module)
{
  TensorMap out;
  for (const auto &p : module.named_parameters())
    out.emplace(p.key(), p.value());
  for (const auto &b : module.named_buffers())
    out.emplace(b.key(), b.value());
  return out;
}

LoadReport loadStateDict(torch::nn::Module &module, const TensorMap &checkpoint, const std::string &source,
                         const std::string &encoderPrefix, const std::vector<std::string> &headPrefixes,
                         const std::string &stripPrefix)
{
  // Index the checkpoint under the model's naming: legacy names fixed, the encoder prefix added
  // where a base-model checkpoint has none.
  std::map<std::string, std::string> byModelName; // model name → checkpoint key
  for (const auto &[key, tensor] : checkpoint) {
    std::string name = legacyName(key);
    if (!stripPrefix.empty() && name.rfind(stripPrefix, 0) == 0)
      name.erase(0, stripPrefix.size());
    const bool isHead = std::any_of(headPrefixes.begin(), headPrefixes.end(),
                                    [&](const std::string &h) { return name.rfind(h, 0) == 0; });
    if (!encoderPrefix.empty() && name.rfind(encoderPrefix, 0) != 0 && !isHead)
      name = encoderPrefix + name;
    byModelName.emplace(name, key);
  }
  LoadReport report;
  std::set<std::string> used;
  torch::NoGradGuard noGrad;
  for (auto &p : module.named_parameters()) {
    const auto it = byModelName.find(p.key());
    if (it == byModelName.end()) {
      report.missing.push_back(p.key());
      continue;
    }
    used.insert(it->second);
    const torch::Tensor &source_t = checkpoint.at(it->second);
    const bool head = std::any_of(headPrefixes.begin(), headPrefixes.end(),
                                  [&](const std::string &h) { return p.key().rfind(h, 0) == 0; });
    if (!source_t.is_floating_point() && p.value().is_floating_point())
      throw Error(source + ": tensor \"" + it->second + "\" has dtype " + std::string(c10::toString(source_t.scalar_type())) +
                  ", expected a floating-point tensor");
    if (source_t.sizes() != p.value().sizes()) {
      if (head) {
        report.reinitialised.push_back(p.key());
        continue;
      }
      std::ostringstream shapes;
      shapes << source_t.sizes() << " in the checkpoint, " << p.value().sizes() << " in the model";
      throw Error(source + ": tensor \"" + it->second + "\" has shape " + shapes.str() +
                  " (does config.json match the weights?)");
    }
    p.value().copy_(source_t.to(p.value().scalar_type()));
    report.loaded.push_back(p.key());
  }
  for (const auto &[key, tensor] : checkpoint)
    if (!used.count(key) && key.find("position_ids") == std::string::npos)
      report.unexpected.push_back(key);
  return report;
}

void saveHuggingFaceFolder(const fs::path &folder, const torch::nn::Module &module, const std::string &configJson)
{
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec)
    throw Error(folder.string() + ": cannot create the folder: " + ec.message());
  writeSafetensors(folder / "model.safetensors", stateDict(module));
  writeFileAtomically(folder / "config.json", configJson + "\n");
}

} // namespace tunebench
