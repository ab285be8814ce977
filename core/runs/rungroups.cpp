#include "core/runs/rungroups.h"

#include <cmath>
#include <set>

namespace tunebench {

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
  const std::map<std::int64_t, std::string> keyValues =
      key == "parent" ? std::map<std::int64_t, std::string>() : store.configValues(key); // one query
  for (const RunRecord &r : runs) {
    if (parents.count(r.id))
      continue;
    std::string value;
    if (key == "parent") {
      value = "run " + std::to_string(r.parent ? r.parent : r.id);
    } else {
      const auto it = keyValues.find(r.id);
      value = it == keyValues.end() ? "(unset)" : it->second;
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
