#pragma once

// What a run folder holds, read back by the training tests: the step losses and evaluations of
// events.jsonl and tensors of a saved model.
#include <torch/serialize.h>
#include <torch/types.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tunebench::testing {

// The events of one type ("step", "evaluation" ...) in the order they were written.
inline std::vector<nlohmann::json> runEvents(const std::filesystem::path &run, const std::string &type)
{
  std::vector<nlohmann::json> out;
  std::ifstream in(run / "events.jsonl");
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j.value("type", "") == type)
      out.push_back(std::move(j));
  }
  return out;
}

inline std::vector<double> stepLosses(const std::filesystem::path &run)
{
  std::vector<double> out;
  for (const nlohmann::json &j : runEvents(run, "step"))
    out.push_back(j["loss"].get<double>());
  return out;
}

// Tensors of a model saved with tunebench's saveModel (torch::serialize archive).
inline std::map<std::string, torch::Tensor> readModel(const std::filesystem::path &file,
                                                      const std::vector<std::string> &keys)
{
  torch::serialize::InputArchive a;
  a.load_from(file.string());
  std::map<std::string, torch::Tensor> out;
  for (const std::string &k : keys) {
    torch::Tensor t;
    a.read(k, t);
    out[k] = t;
  }
  return out;
}

} // namespace tunebench::testing
