#include "core/eval/analysis.h"

#include "core/eval/calibration.h"
#include "core/eval/metrics.h"
#include "core/eval/tagdecoding.h"
#include "core/util/error.h"

#include <algorithm>
#include <cmath>

namespace tunebench {

namespace {

std::vector<std::vector<double>> logOf(const std::vector<std::vector<double>> &p)
{
  std::vector<std::vector<double>> out = p;
  for (auto &row : out)
    for (double &v : row)
      v = std::log(std::max(v, 1e-12));
  return out;
}

} // namespace

std::vector<int> argmaxRows(const std::vector<std::vector<double>> &probabilities)
{
  std::vector<int> out;
  out.reserve(probabilities.size());
  for (const auto &p : probabilities)
    out.push_back(p.empty() ? 0 : static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin()));
  return out;
}

ErrorAnalysis analyseErrors(const std::vector<int> &truth,
                            const std::vector<std::vector<double>> &probabilities)
{
  ErrorAnalysis a;
  a.predicted = argmaxRows(probabilities);
  std::map<std::pair<int, int>, int> pairs;
  for (std::size_t i = 0; i < probabilities.size() && i < truth.size(); ++i) {
    const int best = a.predicted[i];
    if (best == truth[i])
      continue;
    a.mistakes.push_back({i, truth[i], best, probabilities[i][static_cast<std::size_t>(best)]});
    ++pairs[{truth[i], best}];
  }
  std::stable_sort(a.mistakes.begin(), a.mistakes.end(),
                   [](const ClassMistake &x, const ClassMistake &y) { return x.confidence > y.confidence; });
  for (const auto &[pair, count] : pairs)
    a.confused.push_back({pair.first, pair.second, count});
  std::stable_sort(a.confused.begin(), a.confused.end(),
                   [](const ConfusedPair &x, const ConfusedPair &y) { return x.count > y.count; });
  return a;
}

TagErrorAnalysis analyseTagErrors(const std::vector<std::vector<std::string>> &truthTags,
                                  const std::vector<std::vector<std::string>> &predictedTags,
                                  const std::vector<std::string> &labels)
{
  std::map<std::string, int> index;
  for (std::size_t i = 0; i < labels.size(); ++i)
    index[labels[i]] = static_cast<int>(i);
  TagErrorAnalysis a;
  for (std::size_t s = 0; s < truthTags.size() && s < predictedTags.size(); ++s) {
    int errors = 0;
    for (std::size_t w = 0; w < truthTags[s].size() && w < predictedTags[s].size(); ++w) {
      const auto t = index.find(truthTags[s][w]), p = index.find(predictedTags[s][w]);
      if (t == index.end() || p == index.end())
        continue;
      a.truth.push_back(t->second);
      a.predicted.push_back(p->second);
      errors += t->second != p->second;
    }
    if (errors > 0)
      a.mistakes.push_back({s, errors});
  }
  std::stable_sort(a.mistakes.begin(), a.mistakes.end(),
                   [](const TagMistake &x, const TagMistake &y) { return x.wrongTags > y.wrongTags; });
  return a;
}

std::map<std::string, double> classificationSummary(const std::vector<int> &truth,
                                                    const std::vector<std::vector<double>> &probabilities,
                                                    const std::vector<std::string> &labels, double threshold,
                                                    int positive)
{
  std::vector<int> predicted = argmaxRows(probabilities);
  if (threshold >= 0)
    for (std::size_t i = 0; i < probabilities.size(); ++i)
      if (probabilities[i].size() == 2)
        predicted[i] =
            probabilities[i][static_cast<std::size_t>(positive)] >= threshold ? positive : 1 - positive;
  const ClassificationMetrics m = classificationMetrics(truth, predicted, labels);
  return {{"accuracy", m.accuracy},
          {"macro_f1", m.macro.f1},
          {"micro_f1", m.micro.f1},
          {"weighted_f1", m.weighted.f1}};
}

double calibrationError(const std::vector<std::vector<double>> &probabilities, const std::vector<int> &truth)
{
  std::vector<double> confidence;
  std::vector<bool> correct;
  const std::vector<int> best = argmaxRows(probabilities);
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    confidence.push_back(probabilities[i].empty() ? 0.0
                                                  : probabilities[i][static_cast<std::size_t>(best[i])]);
    correct.push_back(best[i] == truth[i]);
  }
  return expectedCalibrationError(confidence, correct);
}

CalibrationReport calibrateOn(const std::vector<std::vector<double>> &validationProbabilities,
                              const std::vector<int> &validationTruth,
                              const std::vector<std::vector<double>> &probabilities,
                              const std::vector<int> &truth)
{
  CalibrationReport c;
  c.temperature = fitTemperature(logOf(validationProbabilities), validationTruth);
  const auto scaled = softmaxWithTemperature(logOf(probabilities), c.temperature);
  c.nllBefore = negativeLogLikelihood(probabilities, truth);
  c.nllAfter = negativeLogLikelihood(scaled, truth);
  c.eceBefore = calibrationError(probabilities, truth);
  c.eceAfter = calibrationError(scaled, truth);
  return c;
}

ThresholdReport tuneThresholdOn(const std::vector<std::vector<double>> &validationProbabilities,
                                const std::vector<int> &validationTruth,
                                const std::vector<std::vector<double>> &probabilities,
                                const std::vector<int> &truth, const std::vector<std::string> &labels,
                                int positive)
{
  if (labels.size() != 2)
    throw Error("threshold tuning needs a binary task (this run has " + std::to_string(labels.size()) +
                " labels)");
  if (positive < 0 || positive > 1)
    throw Error("threshold tuning: the positive label must be one of the two");
  ThresholdReport t;
  t.positive = positive;
  std::vector<double> p;
  std::vector<bool> isPositive;
  for (std::size_t i = 0; i < validationProbabilities.size(); ++i) {
    p.push_back(validationProbabilities[i][static_cast<std::size_t>(positive)]);
    isPositive.push_back(validationTruth[i] == positive);
  }
  t.threshold = tuneThreshold(p, isPositive);
  t.metrics = classificationSummary(truth, probabilities, labels, t.threshold, positive);
  return t;
}

TagRepairScores scoreTagRepair(const std::vector<std::vector<std::string>> &truthTags,
                               const std::vector<std::vector<std::string>> &predictedTags,
                               const std::vector<std::vector<std::vector<double>>> &tagLogProbs,
                               const std::vector<std::string> &labels, TagScheme scheme)
{
  std::vector<std::vector<std::string>> rule, viterbi;
  TagRepairScores s;
  for (std::size_t i = 0; i < predictedTags.size(); ++i) {
    for (const TagProblem &p : validateTags(predictedTags[i], scheme))
      s.invalidTransitions += !p.syntax;
    rule.push_back(repairTags(predictedTags[i], scheme));
    std::vector<std::string> tags;
    for (int k : constrainedDecode(tagLogProbs[i], labels, scheme))
      tags.push_back(labels[static_cast<std::size_t>(k)]);
    viterbi.push_back(std::move(tags));
  }
  s.entityF1 = entityMetrics(truthTags, predictedTags).micro.f1;
  s.ruleF1 = entityMetrics(truthTags, rule).micro.f1;
  s.constrainedF1 = entityMetrics(truthTags, viterbi).micro.f1;
  return s;
}

} // namespace tunebench
