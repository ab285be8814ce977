#include "core/runs/rungroups.h"

#include "core/util/text.h"

#include <cmath>
#include <set>
#include <sstream>

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

namespace {
std::string number(double v)
{
  if (!std::isfinite(v))
    return "";
  std::ostringstream out;
  out.precision(10);
  out << v;
  return out.str();
}
} // namespace

std::string groupsCsv(const std::string &key, const std::vector<RunGroup> &groups)
{
  std::set<std::string> metrics;
  for (const RunGroup &g : groups)
    for (const auto &[m, s] : g.metrics)
      metrics.insert(m);
  std::string out = text::csvField(key) + ",runs";
  for (const std::string &m : metrics)
    for (const char *part : {".n", ".mean", ".std", ".ci_low", ".ci_high"})
      out += "," + text::csvField(m + part);
  out += "\n";
  for (const RunGroup &g : groups) {
    std::string ids;
    for (std::int64_t id : g.runs)
      ids += (ids.empty() ? "" : " ") + std::to_string(id);
    out += text::csvField(g.value) + "," + ids;
    for (const std::string &m : metrics) {
      const auto it = g.metrics.find(m);
      if (it == g.metrics.end()) {
        out += ",,,,,";
        continue;
      }
      const MetricSummary &s = it->second;
      out += "," + std::to_string(s.n) + "," + number(s.mean) + "," + number(s.std) + "," + number(s.low) +
             "," + number(s.high);
    }
    out += "\n";
  }
  return out;
}

nlohmann::json groupsJson(const std::string &key, const std::vector<RunGroup> &groups)
{
  nlohmann::json out = nlohmann::json::array();
  auto value = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  for (const RunGroup &g : groups) {
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto &[m, s] : g.metrics)
      metrics[m] = {{"n", s.n},
                    {"mean", value(s.mean)},
                    {"std", value(s.std)},
                    {"ci95", {value(s.low), value(s.high)}}};
    out.push_back({{"key", key}, {"value", g.value}, {"runs", g.runs}, {"metrics", metrics}});
  }
  return out;
}

} // namespace tunebench
