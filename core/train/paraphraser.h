#pragma once

#include "core/config/experiment.h"
#include "core/data/augment.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace tunebench {

// Paraphrases texts with T5 model folders (Hugging Face's T5ForConditionalGeneration layout, as
// tunebench exports them): each text, after its stage's prefix, is encoded and decoded greedily or
// by top-p sampling (0.9, seeded). With two stages the first model's output is the second's input:
// back-translation through a pivot language.
class ModelParaphraser final : public Paraphraser
{
public:
  struct Stage
  {
    std::filesystem::path folder;
    std::string prefix;
  };
  // Throws tunebench::Error naming the folder or file when a stage is not a usable T5 folder.
  // maxLength: input ids kept (and the longest output).
  ModelParaphraser(const std::vector<Stage> &stages, bool sampling, std::uint64_t seed, int maxLength);
  ~ModelParaphraser() override;
  std::string name() const override; // the folders' names, "a → b" for a round trip
  std::vector<std::string> paraphrase(const std::vector<std::string> &texts) override;
  struct Model; // one loaded stage

private:
  std::vector<std::unique_ptr<Model>> m_models;
  bool m_sampling;
  std::uint64_t m_seed;
  int m_maxLength;
  int m_round = 0;
};

// The paraphraser data.augmentation.paraphrase names (null when it names no model); relative
// folders resolve against the config.
std::unique_ptr<Paraphraser> makeParaphraser(const ExperimentConfig &config);

// The augmentation an experiment asks for: EDA (data.augmentation.per_row, its rates) and
// back-translation (data.augmentation.paraphrase.*).
AugmentOptions augmentOptionsFor(const ExperimentConfig &config);

} // namespace tunebench
