#pragma once

#include "core/config/experiment.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace tunebench {

struct BuiltModel;

// The files every export carries besides its weights.

// The tokenizer's files of a model folder (vocab, merges, SentencePiece model, tokenizer.json ...).
void copyTokenizerFiles(const std::filesystem::path &from, const std::filesystem::path &to);

// The run's config as the export's tunebench.yaml: the data file by its full path (the folder still
// names it wherever it is moved) and model.path set to `modelPath`.
void writeRunConfig(const ExperimentConfig &config, const std::filesystem::path &folder,
                    const std::string &modelPath);

// A task model's base config.json (USE-Lite: its own description, model_type "use-lite").
nlohmann::json baseModelConfig(BuiltModel &built, const ExperimentConfig &config);

// Merges a LoRA/IA3 run's update into its weights for the scope (when the strategy can merge);
// unmerges after, so the run computes as before.
class MergeScope
{
public:
  explicit MergeScope(BuiltModel &built);
  ~MergeScope();
  MergeScope(const MergeScope &) = delete;
  MergeScope &operator=(const MergeScope &) = delete;
  bool merged() const { return m_merged; }

private:
  BuiltModel &m_built;
  bool m_merged;
};

// Whether the model holds a strategy's own tensors (LoRA, IA3, adapters, prefix, prompt).
bool hasStrategyTensors(const BuiltModel &built);

} // namespace tunebench
