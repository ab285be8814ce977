#include "core/eval/groupcomparison.h"

#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json testMetrics(const fs::path &run)
{
  const fs::path file = run / "results.json";
  if (!fileExists(file))
    throw Error(run.string() + ": no results.json (the run has not finished)");
  const json r = readJsonFile(file);
  if (!r.contains("test") || !r["test"].is_object() || !r["test"].contains("metrics") ||
      !r["test"]["metrics"].is_object() || r["test"]["metrics"].empty())
    throw Error(file.string() + ": no test metrics (the run has no test split)");
  return r["test"]["metrics"];
}

} // namespace

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

double studentQuantile(double p, double df)
{
  if (!(p > 0.5 && p < 1) || !(df > 0))
    throw Error("studentQuantile: p must be in (0.5, 1) and df above 0");
  // P(T > t) = (1 - p) = studentTwoSidedP(t, df) / 2, decreasing in t: bisection.
  double lo = 0, hi = 1;
  while (studentTwoSidedP(hi, df) / 2 > 1 - p)
    hi *= 2;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (studentTwoSidedP(mid, df) / 2 > 1 - p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

GroupMetricComparison compareGroupValues(const std::string &metric, const std::vector<double> &a,
                                         const std::vector<double> &b)
{
  if (a.size() != b.size() || a.size() < 2)
    throw Error(
        "a paired comparison of groups needs two groups of the same size, two runs or more each (got " +
        std::to_string(a.size()) + " and " + std::to_string(b.size()) + ")");
  GroupMetricComparison g;
  g.metric = metric;
  g.a = a;
  g.b = b;
  const MetricSummary sa = summarizeValues(a), sb = summarizeValues(b);
  g.meanA = sa.mean;
  g.meanB = sb.mean;
  g.stdA = sa.std;
  g.stdB = sb.std;
  g.test = pairedTTest(a, b);
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    d[i] = b[i] - a[i];
  const MetricSummary difference = summarizeValues(d); // its interval is the mean difference's
  g.low = difference.low;
  g.high = difference.high;
  return g;
}

std::vector<GroupMetricComparison> compareGroups(const std::vector<fs::path> &a,
                                                 const std::vector<fs::path> &b)
{
  if (a.size() != b.size() || a.size() < 2)
    throw Error("comparing groups pairs their runs by position (seed or fold): give two groups of the same "
                "size with two runs or more each (got " +
                std::to_string(a.size()) + " and " + std::to_string(b.size()) + ")");
  std::vector<json> ma, mb;
  for (const fs::path &run : a)
    ma.push_back(testMetrics(run));
  for (const fs::path &run : b)
    mb.push_back(testMetrics(run));
  std::vector<GroupMetricComparison> out;
  for (const char *metric : {"accuracy", "macro_f1", "entity_f1"}) {
    std::vector<double> va, vb;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const auto x = ma[i].find(metric), y = mb[i].find(metric);
      if (x == ma[i].end() || y == mb[i].end() || !x->is_number() || !y->is_number())
        break;
      va.push_back(x->get<double>());
      vb.push_back(y->get<double>());
    }
    if (va.size() == a.size())
      out.push_back(compareGroupValues(metric, va, vb));
  }
  if (out.empty())
    throw Error(a.front().string() + ": the runs share none of accuracy, macro_f1 and entity_f1 on test");
  return out;
}

json groupComparisonJson(const std::vector<GroupMetricComparison> &c)
{
  json metrics = json::array();
  for (const GroupMetricComparison &g : c)
    metrics.push_back({{"metric", g.metric},
                       {"a", g.a},
                       {"b", g.b},
                       {"mean_a", g.meanA},
                       {"std_a", g.stdA},
                       {"mean_b", g.meanB},
                       {"std_b", g.stdB},
                       {"difference", g.test.meanDifference},
                       {"ci95", {g.low, g.high}},
                       {"t", g.test.t},
                       {"df", g.test.df},
                       {"p", g.test.p},
                       {"test", "paired t-test over the pairs"}});
  return {{"pairs", c.empty() ? 0 : c.front().a.size()}, {"metrics", metrics}};
}

std::vector<std::string> describeGroupComparison(const std::vector<GroupMetricComparison> &c, double alpha)
{
  std::vector<std::string> lines;
  char buffer[320];
  for (const GroupMetricComparison &g : c) {
    std::snprintf(
        buffer, sizeof buffer,
        "B - A %s = %+.1f points [%+.1f, %+.1f] over %zu pairs, p = %.3g (paired t-test) - %s at %.2g; "
        "A %.4f ± %.4f, B %.4f ± %.4f",
        g.metric.c_str(), 100 * g.test.meanDifference, 100 * g.low, 100 * g.high, g.a.size(), g.test.p,
        g.test.p < alpha ? "significant" : "not significant", alpha, g.meanA, g.stdA, g.meanB, g.stdB);
    lines.emplace_back(buffer);
  }
  return lines;
}

} // namespace tunebench
