#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tunebench {

// The post-processing fitted on a run's validation split and saved with the run
// (RUN/decision.json), applied when asked (`eval --calibrated`, `predict --calibrated`, `export
// --calibrated`): a temperature for the class probabilities and, for a binary task, a threshold on
// the positive label's (tempered) probability.
struct DecisionRule
{
  double temperature = 1.0;
  int positive = -1;      // the positive label's index; -1: no threshold (the most likely label)
  double threshold = 0.5; // the positive label wins when its probability is at least this
};

// Single-label probabilities with the rule's temperature: softmax(log p / T).
std::vector<std::vector<double>> applyTemperature(const std::vector<std::vector<double>> &probabilities,
                                                  double temperature);
// The label index the rule picks from (tempered) probabilities.
int decide(const DecisionRule &rule, const std::vector<double> &probabilities);

// RUN/decision.json written atomically (labels name the positive label in the file).
void saveDecisionRule(const std::filesystem::path &runDir, const DecisionRule &rule,
                      const std::vector<std::string> &labels);
// The saved rule, or nullopt when the run has none; an Error names the file and the field when it
// is not a rule for these labels.
std::optional<DecisionRule> loadDecisionRule(const std::filesystem::path &runDir,
                                             const std::vector<std::string> &labels);
// The saved rule, or an Error that says how to fit one.
DecisionRule requireDecisionRule(const std::filesystem::path &runDir, const std::vector<std::string> &labels);

} // namespace tunebench
