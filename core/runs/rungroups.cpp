#include "core/runs/rungroups.h"

#include "core/eval/groupcomparison.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <set>

namespace tunebench {

MetricSummary summarizeValues(const std::vector<double> &values)
{
  MetricSummary s;
  s.n = values.size();
  if (values.empty())
    return s;
  const double n = static_cast<double>(values.size());
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double squares = 0;
  for (double v : values)
    squares += (v - s.mean) * (v - s.mean);
  s.std = values.size() > 1 ? std::sqrt(squares / (n - 1)) : 0.0;
  if (values.size() < 2) {
    s.low = s.high = std::numeric_limits<double>::quiet_NaN();
    return s;
  }
  const double half = studentQuantile(0.975, n - 1) * s.std / std::sqrt(n);
  s.low = s.mean - half;
  s.high = s.mean + half;
  return s;
}

std::vector<RunGroup> groupRuns(const RunStore &store, const std::vector<RunRecord> &runs,
                                const std::string &key)
{
  std::vector<RunGroup> groups;
  std::map<std::string, std::size_t> index;
  std::vector<std::map<std::string, std::vector<double>>> values;
  std::set<std::int64_t> parents; // a plan's own record summarises its children: not a member
  for (const RunRecord &r : runs)
    if (r.parent)
      parents.insert(r.parent);
  for (const RunRecord &r : runs) {
    if (parents.count(r.id))
      continue;
    std::string value;
    if (key == "parent") {
      value = "run " + std::to_string(r.parent ? r.parent : r.id);
    } else {
      const std::map<std::string, std::string> config = store.config(r.id);
      const auto it = config.find(key);
      value = it == config.end() ? "(unset)" : it->second;
    }
    auto [at, added] = index.emplace(value, groups.size());
    if (added) {
      groups.push_back({value, {}, {}});
      values.emplace_back();
    }
    groups[at->second].runs.push_back(r.id);
    for (const auto &[metric, v] : r.summary)
      if (std::isfinite(v))
        values[at->second][metric].push_back(v);
  }
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (const auto &[metric, list] : values[g])
      groups[g].metrics[metric] = summarizeValues(list);
  return groups;
}

} // namespace tunebench
