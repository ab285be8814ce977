#pragma once

#include "core/runs/runstore.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tunebench {

// The runs of a sweep as a table for its views: the config keys whose values differ between the
// runs (the swept keys; the run's name, folder and seed left out unless seed is all that differs),
// each run's value of each key and of one summary metric. Runs without the metric are left out.
struct SweepTable
{
  struct Key
  {
    std::string name;
    bool numeric = false; // every value a number: an axis by value (log when all positive and ≥ 100× apart)
    bool log = false;
    std::vector<std::string> levels; // the distinct values, sorted (numbers by value)
  };
  std::string metric;
  std::vector<Key> keys;
  std::vector<std::int64_t> runs;
  std::vector<std::vector<std::string>> values; // [run][key]
  std::vector<double> metricValues;             // [run]
};

SweepTable sweepTable(const RunStore &store, const std::vector<std::int64_t> &runs,
                      const std::string &metric);

// How much of the metric's spread each key accounts for: the correlation ratio η² = the variance of
// the metric between the key's values over its total variance (numbers with more than 5 distinct
// values binned into 5 groups of equal count first). 0: the metric does not move with the key; 1:
// the key alone decides it. Keys with one value, or a metric without spread, give 0.
std::vector<double> keyImportance(const SweepTable &table);

} // namespace tunebench
