#pragma once

#include "core/eval/significance.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tunebench {

// Values of one metric over a group of runs: how many, mean, standard deviation (n − 1) and the 95%
// confidence interval of the mean (mean ± t(0.975, n − 1) · sd / √n; NaN below two values).
struct MetricSummary
{
  std::size_t n = 0;
  double mean = 0, std = 0, low = 0, high = 0;
};
MetricSummary summarizeValues(const std::vector<double> &values);

// Group B against group A, each a list of runs paired by position (the same seed or fold at the
// same place): per test metric the values, each group's mean and standard deviation (n − 1), a
// paired t-test of B − A over the pairs and the 95% confidence interval of the mean difference
// (mean ± t(0.975, n − 1) · sd / √n).
struct GroupMetricComparison
{
  std::string metric;
  std::vector<double> a, b;
  double meanA = 0, stdA = 0, meanB = 0, stdB = 0;
  TTest test;
  double low = 0, high = 0; // 95% interval of mean(B − A)
};

// The statistics of two paired value lists (two or more pairs).
GroupMetricComparison compareGroupValues(const std::string &metric, const std::vector<double> &a,
                                         const std::vector<double> &b);

// The runs' test metrics from their results.json (accuracy, macro_f1, entity_f1: those every run
// has). Error naming the run when one has no test results, or when the groups differ in size.
std::vector<GroupMetricComparison> compareGroups(const std::vector<std::filesystem::path> &a,
                                                 const std::vector<std::filesystem::path> &b);

// The quantile of Student's t: P(T ≤ t) = p, for p in (0.5, 1).
double studentQuantile(double p, double df);

nlohmann::json groupComparisonJson(const std::vector<GroupMetricComparison> &c);
// "B - A accuracy = +1.2 points [-0.4, +2.8] over 3 pairs, p = 0.14 (paired t-test) - not significant at
// 0.05"
std::vector<std::string> describeGroupComparison(const std::vector<GroupMetricComparison> &c,
                                                 double alpha = 0.05);

} // namespace tunebench
