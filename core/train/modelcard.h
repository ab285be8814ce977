#pragma once

#include "core/config/experiment.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tunebench {

// The README.md of an exported model: base model, data (file, SHA-256, rows per split), strategy
// and hyper-parameters, the best checkpoint's validation and test metrics, the files of the export,
// and intended use and limitations. `config` is the run's resolved config.yaml, `results` its
// results.json, `split` its split.json.
// `verification`: the export's check (verification.json: format, layout, numbers), or null.
std::string modelCard(const ExperimentConfig &config, const nlohmann::json &results,
                      const nlohmann::json &split, const std::vector<std::string> &labels,
                      const std::string &dataSha256, const std::vector<std::string> &files,
                      const nlohmann::json &verification = nullptr);

// Reads what modelCard needs from the run folder and writes `folder`/README.md (after the export's
// other files, which it lists).
void writeModelCard(const std::filesystem::path &runDir, const ExperimentConfig &config,
                    const std::vector<std::string> &labels, const std::filesystem::path &folder,
                    const nlohmann::json &verification = nullptr);

} // namespace tunebench
