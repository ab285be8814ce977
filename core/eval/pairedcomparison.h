#pragma once

#include "core/eval/significance.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tunebench {

// B against A on the same test rows, from each run's test_predictions.jsonl: per metric (accuracy
// and macro F1 for single-label runs, entity F1 for tagging runs) both values and a paired
// bootstrap of B − A; for accuracy also McNemar's exact test.
struct MetricComparison
{
  std::string metric;
  double a = 0, b = 0;
  BootstrapResult bootstrap;
};

struct RunPairComparison
{
  std::size_t rows = 0;
  std::vector<MetricComparison> metrics;
  std::optional<double> mcnemarP;
  std::int64_t onlyA = 0, onlyB = 0; // rows only A (only B) got right
};

// Error naming the run folder when a run has no test predictions (a run trained before they were
// written, a task other than single-label or tagging), or when the two runs' test rows differ.
RunPairComparison compareOnTestRows(const std::filesystem::path &runA, const std::filesystem::path &runB,
                                    int resamples = 10000, std::uint64_t seed = 20261205);

nlohmann::json comparisonJson(const RunPairComparison &c);
// One line per metric: "B − A accuracy = +1.2 points [−0.4, +2.8], p = 0.14 — not significant at 0.05".
std::vector<std::string> describeComparison(const RunPairComparison &c, double alpha = 0.05);

} // namespace tunebench
