#include "core/runs/sweeptable.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace tunebench {

namespace {

bool number(const std::string &text, double &out)
{
  try {
    std::size_t used = 0;
    out = std::stod(text, &used);
    return used == text.size() && std::isfinite(out);
  } catch (const std::exception &) {
    return false;
  }
}

SweepTable::Key describeKey(const std::string &name, const std::vector<std::string> &values)
{
  SweepTable::Key k;
  k.name = name;
  std::set<std::string> distinct(values.begin(), values.end());
  k.levels.assign(distinct.begin(), distinct.end());
  k.numeric = std::all_of(k.levels.begin(), k.levels.end(), [](const std::string &v) {
    double x;
    return number(v, x);
  });
  if (k.numeric) {
    std::vector<double> x(k.levels.size());
    for (std::size_t i = 0; i < x.size(); ++i)
      number(k.levels[i], x[i]);
    std::vector<std::size_t> order(x.size());
    for (std::size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
    std::vector<std::string> sorted;
    for (std::size_t i : order)
      sorted.push_back(k.levels[i]);
    k.levels = sorted;
    const double lo = x[order.front()], hi = x[order.back()];
    k.log = lo > 0 && hi / lo >= 100;
  }
  return k;
}

} // namespace

SweepTable sweepTable(const RunStore &store, const std::vector<std::int64_t> &runs, const std::string &metric)
{
  SweepTable t;
  t.metric = metric;
  std::vector<std::map<std::string, std::string>> configs;
  std::set<std::string> keys;
  for (std::int64_t id : runs) {
    const RunRecord r = store.run(id);
    const auto it = r.summary.find(metric);
    if (it == r.summary.end() || !std::isfinite(it->second))
      continue;
    t.runs.push_back(id);
    t.metricValues.push_back(it->second);
    configs.push_back(store.config(id));
    for (const auto &[k, v] : configs.back())
      keys.insert(k);
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> differing;
  for (const std::string &k : keys) {
    if (k == "name" || k.rfind("output.", 0) == 0)
      continue;
    std::vector<std::string> values;
    for (const auto &cfg : configs) {
      const auto it = cfg.find(k);
      values.push_back(it == cfg.end() ? std::string("(unset)") : it->second);
    }
    if (std::any_of(values.begin(), values.end(), [&](const std::string &v) { return v != values.front(); }))
      differing.emplace_back(k, values);
  }
  if (differing.size() > 1) // seeds repeat the points: not a swept key
    differing.erase(
        std::remove_if(differing.begin(), differing.end(), [](const auto &d) { return d.first == "seed"; }),
        differing.end());
  for (const auto &[k, values] : differing)
    t.keys.push_back(describeKey(k, values));
  t.values.assign(t.runs.size(), {});
  for (std::size_t r = 0; r < t.runs.size(); ++r)
    for (const auto &[k, values] : differing)
      t.values[r].push_back(values[r]);
  return t;
}

std::vector<double> keyImportance(const SweepTable &t)
{
  const std::size_t n = t.metricValues.size();
  std::vector<double> out(t.keys.size(), 0.0);
  if (n < 2)
    return out;
  double mean = 0;
  for (double v : t.metricValues)
    mean += v / static_cast<double>(n);
  double total = 0;
  for (double v : t.metricValues)
    total += (v - mean) * (v - mean);
  if (total <= 0)
    return out;
  for (std::size_t k = 0; k < t.keys.size(); ++k) {
    const SweepTable::Key &key = t.keys[k];
    // each run's group: its level, or for many numbers one of 5 bins of equal count by value
    std::vector<std::size_t> level(n);
    for (std::size_t r = 0; r < n; ++r)
      level[r] = static_cast<std::size_t>(std::find(key.levels.begin(), key.levels.end(), t.values[r][k]) -
                                          key.levels.begin());
    if (key.numeric && key.levels.size() > 5) {
      std::vector<std::size_t> order(n);
      for (std::size_t i = 0; i < n; ++i)
        order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return level[a] < level[b]; });
      std::vector<std::size_t> bin(n);
      for (std::size_t i = 0; i < n; ++i)
        bin[order[i]] = i * 5 / n;
      level = bin;
    }
    std::map<std::size_t, std::pair<double, double>> groups; // sum, count
    for (std::size_t r = 0; r < n; ++r) {
      groups[level[r]].first += t.metricValues[r];
      groups[level[r]].second += 1;
    }
    double between = 0;
    for (const auto &[g, sc] : groups) {
      const double m = sc.first / sc.second;
      between += sc.second * (m - mean) * (m - mean);
    }
    out[k] = between / total;
  }
  return out;
}

} // namespace tunebench
