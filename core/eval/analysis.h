#pragma once

#include "core/data/tagging.h"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tunebench {

// What a trained model got wrong on one split, and the post-processing fitted on validation
// (temperature, threshold, tag repair): one implementation for the CLI's `eval` and the GUI's
// Evaluate tab. Inputs are a split's per-example results (TrainedRun::Detailed).

// The most likely class of each row of probabilities.
std::vector<int> argmaxRows(const std::vector<std::vector<double>> &probabilities);

// Single-label classification: every mistake, most confident first, and the (true, predicted)
// pairs by how often they occur.
struct ClassMistake
{
  std::size_t index = 0; // into the split's rows
  int truth = 0;
  int predicted = 0;
  double confidence = 0; // the predicted class's probability
};
struct ConfusedPair
{
  int truth = 0;
  int predicted = 0;
  int count = 0;
};
struct ErrorAnalysis
{
  std::vector<int> predicted;
  std::vector<ClassMistake> mistakes;
  std::vector<ConfusedPair> confused;
};
ErrorAnalysis analyseErrors(const std::vector<int> &truth,
                            const std::vector<std::vector<double>> &probabilities);

// Token tagging: word-level (truth, predicted) label indices over every sentence (words whose tag
// is not among `labels` are skipped) and the sentences with wrong tags, the most wrong first.
struct TagMistake
{
  std::size_t sentence = 0;
  int wrongTags = 0;
};
struct TagErrorAnalysis
{
  std::vector<int> truth, predicted;
  std::vector<TagMistake> mistakes;
};
TagErrorAnalysis analyseTagErrors(const std::vector<std::vector<std::string>> &truthTags,
                                  const std::vector<std::vector<std::string>> &predictedTags,
                                  const std::vector<std::string> &labels);

// accuracy, macro_f1, micro_f1, weighted_f1 of the argmax, or with a binary decision threshold on
// p(positive) when threshold ≥ 0.
std::map<std::string, double> classificationSummary(const std::vector<int> &truth,
                                                    const std::vector<std::vector<double>> &probabilities,
                                                    const std::vector<std::string> &labels,
                                                    double threshold = -1, int positive = 1);

// Expected calibration error of the argmax's confidence (15 bins).
double calibrationError(const std::vector<std::vector<double>> &probabilities, const std::vector<int> &truth);

// Temperature scaling fitted on validation, measured on the split.
struct CalibrationReport
{
  double temperature = 1;
  double nllBefore = 0, nllAfter = 0;
  double eceBefore = 0, eceAfter = 0;
};
CalibrationReport calibrateOn(const std::vector<std::vector<double>> &validationProbabilities,
                              const std::vector<int> &validationTruth,
                              const std::vector<std::vector<double>> &probabilities,
                              const std::vector<int> &truth);

// The F1-best threshold on p(positive) on validation, and the split's metrics with it. Error when
// the task is not binary.
struct ThresholdReport
{
  int positive = 1;
  double threshold = 0.5;
  std::map<std::string, double> metrics;
};
ThresholdReport tuneThresholdOn(const std::vector<std::vector<double>> &validationProbabilities,
                                const std::vector<int> &validationTruth,
                                const std::vector<std::vector<double>> &probabilities,
                                const std::vector<int> &truth, const std::vector<std::string> &labels,
                                int positive = 1);

// Tag repair for entity tags: invalid transitions in the predictions and entity F1 as predicted,
// after the rule repair and after constrained Viterbi decoding over the tagger's log-probabilities.
struct TagRepairScores
{
  long invalidTransitions = 0;
  double entityF1 = 0, ruleF1 = 0, constrainedF1 = 0;
};
TagRepairScores scoreTagRepair(const std::vector<std::vector<std::string>> &truthTags,
                               const std::vector<std::vector<std::string>> &predictedTags,
                               const std::vector<std::vector<std::vector<double>>> &tagLogProbs,
                               const std::vector<std::string> &labels, TagScheme scheme);

} // namespace tunebench
