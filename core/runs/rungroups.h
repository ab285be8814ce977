#pragma once

#include "core/eval/groupcomparison.h"
#include "core/runs/runstore.h"

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tunebench {

// Runs that share a value of `key`: a config key (flattened, e.g. strategy.name, seed) or
// "parent" (the runs of one plan: folds, seeds, sweep points, with their parent's id).
struct RunGroup
{
  std::string value; // the key's value ("(unset)" when a run's config lacks the key)
  std::vector<std::int64_t> runs;
  std::map<std::string, MetricSummary> metrics; // every summary metric ("test.accuracy", "best.loss" …)
};
// Groups in the order their first run appears in `runs`. A run that is the parent of another listed
// run (a cross-validation or sweep record, whose summary is its children's) is left out.
std::vector<RunGroup> groupRuns(const RunStore &store, const std::vector<RunRecord> &runs,
                                const std::string &key);

// The groups for `runs export --group-by`: per group the key's value, its runs and per summary
// metric n, mean, std, and the 95% interval (CSV: one row per group, metric.mean, metric.std,
// metric.ci_low, metric.ci_high columns; empty where a group has no interval).
std::string groupsCsv(const std::string &key, const std::vector<RunGroup> &groups);
nlohmann::json groupsJson(const std::string &key, const std::vector<RunGroup> &groups);

} // namespace tunebench
