#include "core/eval/pairedcomparison.h"

#include "core/eval/metrics.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <cstdio>
#include <map>
#include <set>
#include <sstream>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<json> readPredictions(const fs::path &run)
{
  const fs::path file = run / "test_predictions.jsonl";
  if (!fileExists(file))
    throw Error(run.string() +
                ": no test_predictions.jsonl (runs of single-label or tagging tasks trained by this "
                "version write one; retrain the run to compare it)");
  std::vector<json> rows;
  std::istringstream in(readInputFile(file, "test predictions"));
  int line = 0;
  for (std::string text; std::getline(in, text);) {
    ++line;
    if (text.empty())
      continue;
    json j;
    try {
      j = parseJson(text, file.string());
    } catch (const json::exception &e) {
      throw Error(file.string() + ":" + std::to_string(line) + ": not valid JSON: " + jsonErrorReason(e));
    }
    if (!j.is_object() || !j.contains("row") || !j.contains("truth") || !j.contains("predicted") ||
        j["truth"].type() != j["predicted"].type())
      throw Error(file.string() + ":" + std::to_string(line) + ": expected {row, truth, predicted}");
    rows.push_back(std::move(j));
  }
  if (rows.empty())
    throw Error(file.string() + ": no rows");
  return rows;
}

MetricComparison compare(const std::string &metric, std::size_t n,
                         const std::function<double(const std::vector<std::size_t> &, bool)> &score,
                         int resamples, std::uint64_t seed)
{
  std::vector<std::size_t> all(n);
  for (std::size_t i = 0; i < n; ++i)
    all[i] = i;
  MetricComparison m;
  m.metric = metric;
  m.a = score(all, false);
  m.b = score(all, true);
  m.bootstrap = pairedBootstrap(
      n, [&](const std::vector<std::size_t> &rows) { return score(rows, true) - score(rows, false); },
      resamples, seed);
  return m;
}

} // namespace

RunPairComparison compareOnTestRows(const fs::path &runA, const fs::path &runB, int resamples,
                                    std::uint64_t seed)
{
  const std::vector<json> a = readPredictions(runA), b = readPredictions(runB);
  if (a.size() != b.size())
    throw Error(runB.string() + ": its test split has " + std::to_string(b.size()) + " rows, " +
                runA.string() + "'s has " + std::to_string(a.size()) +
                ": a paired comparison needs the same test rows");
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i]["row"] != b[i]["row"] || a[i]["truth"] != b[i]["truth"])
      throw Error(runB.string() + ": test row " + std::to_string(i + 1) + " differs from " + runA.string() +
                  "'s: a paired comparison needs the same data, split and seed");
  RunPairComparison c;
  c.rows = a.size();
  if (a.front()["truth"].is_string()) { // single-label: labels as indices over every name seen
    std::set<std::string> names;
    for (const auto *side : {&a, &b})
      for (const json &j : *side) {
        names.insert(j["truth"].get<std::string>());
        names.insert(j["predicted"].get<std::string>());
      }
    const std::vector<std::string> labels(names.begin(), names.end());
    std::map<std::string, int> index;
    for (const std::string &l : labels)
      index.emplace(l, static_cast<int>(index.size()));
    std::vector<int> truth, predA, predB;
    for (std::size_t i = 0; i < a.size(); ++i) {
      truth.push_back(index.at(a[i]["truth"].get<std::string>()));
      predA.push_back(index.at(a[i]["predicted"].get<std::string>()));
      predB.push_back(index.at(b[i]["predicted"].get<std::string>()));
      c.onlyA += predA.back() == truth.back() && predB.back() != truth.back();
      c.onlyB += predB.back() == truth.back() && predA.back() != truth.back();
    }
    const auto pick = [&](const std::vector<std::size_t> &rows, bool second, std::vector<int> &t,
                          std::vector<int> &p) {
      for (std::size_t r : rows) {
        t.push_back(truth[r]);
        p.push_back(second ? predB[r] : predA[r]);
      }
    };
    c.metrics.push_back(compare(
        "accuracy", c.rows,
        [&](const std::vector<std::size_t> &rows, bool second) {
          std::size_t right = 0;
          for (std::size_t r : rows)
            right += (second ? predB[r] : predA[r]) == truth[r];
          return static_cast<double>(right) / static_cast<double>(rows.size());
        },
        resamples, seed));
    c.metrics.push_back(compare(
        "macro_f1", c.rows,
        [&](const std::vector<std::size_t> &rows, bool second) {
          std::vector<int> t, p;
          pick(rows, second, t, p);
          return classificationMetrics(t, p, labels).macro.f1;
        },
        resamples, seed));
    c.mcnemarP = mcnemarExactP(c.onlyA, c.onlyB);
    return c;
  }
  std::vector<std::vector<std::string>> truth, predA, predB; // tagging: sentences are resampled
  for (std::size_t i = 0; i < a.size(); ++i) {
    truth.push_back(a[i]["truth"].get<std::vector<std::string>>());
    predA.push_back(a[i]["predicted"].get<std::vector<std::string>>());
    predB.push_back(b[i]["predicted"].get<std::vector<std::string>>());
  }
  c.metrics.push_back(compare(
      "entity_f1", c.rows,
      [&](const std::vector<std::size_t> &rows, bool second) {
        std::vector<std::vector<std::string>> t, p;
        for (std::size_t r : rows) {
          t.push_back(truth[r]);
          p.push_back(second ? predB[r] : predA[r]);
        }
        return entityMetrics(t, p).micro.f1;
      },
      resamples, seed));
  return c;
}

json comparisonJson(const RunPairComparison &c)
{
  json out = {{"rows", c.rows}, {"metrics", json::array()}};
  for (const MetricComparison &m : c.metrics)
    out["metrics"].push_back({{"metric", m.metric},
                              {"a", m.a},
                              {"b", m.b},
                              {"difference", m.bootstrap.difference},
                              {"low", m.bootstrap.low},
                              {"high", m.bootstrap.high},
                              {"p", m.bootstrap.p},
                              {"resamples", m.bootstrap.resamples}});
  if (c.mcnemarP)
    out["mcnemar"] = {{"only_a", c.onlyA}, {"only_b", c.onlyB}, {"p", *c.mcnemarP}};
  return out;
}

std::vector<std::string> describeComparison(const RunPairComparison &c, double alpha)
{
  std::vector<std::string> lines;
  char buffer[256];
  for (const MetricComparison &m : c.metrics) {
    const BootstrapResult &r = m.bootstrap;
    std::snprintf(buffer, sizeof buffer,
                  "B - A %s = %+.1f points [%+.1f, %+.1f], p = %.3g (paired bootstrap, %d resamples, %zu "
                  "rows) - %s at %.2g",
                  m.metric.c_str(), 100 * r.difference, 100 * r.low, 100 * r.high, r.p, r.resamples, c.rows,
                  r.p < alpha ? "significant" : "not significant", alpha);
    lines.emplace_back(buffer);
  }
  if (c.mcnemarP) {
    std::snprintf(buffer, sizeof buffer,
                  "McNemar's exact test: %lld rows only A got right, %lld only B, p = %.3g",
                  static_cast<long long>(c.onlyA), static_cast<long long>(c.onlyB), *c.mcnemarP);
    lines.emplace_back(buffer);
  }
  return lines;
}

} // namespace tunebench
