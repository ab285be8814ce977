#include "core/experiments/runner.h"

#include "core/experiments/recorder.h"
#include "core/runs/runstore.h"
#include "core/util/jsonfile.h"
#include "core/util/runfolder.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class NoPlanObserver final : public PlanObserver
{
};

double secondsSince(std::chrono::steady_clock::time_point start)
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

json crossValidationSummary(const ExperimentPlan &plan, const std::vector<RunResult> &results)
{
  std::map<std::string, std::vector<double>> values;
  json perFold = json::array();
  for (std::size_t i = 0; i < results.size(); ++i) {
    const PlannedRun &child = plan.runs[i];
    for (const auto &[name, v] : results[i].test.metrics)
      values[name].push_back(v);
    perFold.push_back(
        {{"fold", child.group + 1}, {"run", child.dir.string()}, {"test", results[i].test.metrics}});
  }
  json test = json::object();
  for (const auto &[name, v] : values)
    test[name] = meanAndStd(v);
  return {{"folds", plan.runs.size()}, {"runs", perFold}, {"test", test}, {"root", plan.root.string()}};
}

json sweepSummary(const ExperimentPlan &plan, const std::vector<RunResult> &results)
{
  const std::string metric = plan.parent.selectionMetric();
  const std::string key = "validation_" + metric;
  json table = json::array();
  for (std::size_t g = 0; g < plan.groups.size(); ++g) {
    std::map<std::string, std::vector<double>> values;
    std::vector<double> selection;
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (plan.runs[i].group != g)
        continue;
      selection.push_back(results[i].bestMetric);
      for (const auto &[k, v] : results[i].test.metrics)
        values[k].push_back(v);
    }
    if (selection.empty())
      continue;
    json row = {{"point", g + 1}, {"overrides", plan.groups[g]}};
    row[key] = meanAndStd(selection);
    json test = json::object();
    for (const auto &[k, v] : values)
      test[k] = meanAndStd(v);
    row["test"] = test;
    table.push_back(row);
  }
  const bool higher = plan.parent.higherIsBetter();
  std::stable_sort(table.begin(), table.end(), [&](const json &a, const json &b) {
    const double x = a[key]["mean"].get<double>(), y = b[key]["mean"].get<double>();
    return higher ? x > y : x < y;
  });
  return {{"points", table}, {"seeds", plan.seeds}, {"root", plan.root.string()}};
}

} // namespace

json meanAndStd(const std::vector<double> &v)
{
  double mean = 0, var = 0;
  for (double x : v)
    mean += x / static_cast<double>(v.size());
  for (double x : v)
    var += (x - mean) * (x - mean) / static_cast<double>(v.size() > 1 ? v.size() - 1 : 1);
  return {{"mean", mean}, {"std", std::sqrt(var)}};
}

json summarizePlan(const ExperimentPlan &plan, const std::vector<RunResult> &results)
{
  return plan.kind == PlanKind::CrossValidation ? crossValidationSummary(plan, results)
                                                : sweepSummary(plan, results);
}

PlanRunner::PlanRunner(RunStore &store)
  : m_store(store)
{}

void PlanRunner::requestStop()
{
  m_stop = true;
  if (Trainer *t = m_current.load())
    t->requestStop();
}

PlanOutcome PlanRunner::run(const ExperimentPlan &plan, PlanObserver *observer)
{
  NoPlanObserver none;
  if (!observer)
    observer = &none;
  m_stop = false;
  const std::optional<std::string> existing = runFolderId(plan.root);
  const std::string rootId = existing ? *existing : createRunFolder(plan.root);
  const std::int64_t parent =
      m_store.openRun(rootId, existing.has_value(), plan.parent.name, plan.root, plan.parent.toYaml(), 0);
  const auto started = std::chrono::steady_clock::now();
  PlanOutcome out;
  for (std::size_t i = 0; i < plan.runs.size(); ++i) {
    const PlannedRun &child = plan.runs[i];
    observer->onRunStarted(i, child);
    Trainer trainer(child.config, child.dir);
    RunResult r;
    try {
      RecordedRun recorded(m_store, trainer, parent, observer->runObserver(i));
      m_current = &trainer;
      if (m_stop)
        trainer.requestStop();
      r = recorded.run();
      m_current = nullptr;
    } catch (const std::exception &e) {
      m_current = nullptr;
      m_store.setStatus(parent, RunStatus::Failed, child.label + ": " + e.what(), secondsSince(started));
      throw;
    }
    observer->onRunFinished(i, child, r);
    if (r.status == RunStatus::Stopped || m_stop) {
      m_store.setStatus(parent, RunStatus::Stopped, "stopped during " + child.label, secondsSince(started));
      out.status = RunStatus::Stopped;
      out.reason = "stopped during " + child.label + " (its run is resumable)";
      return out;
    }
    if (plan.kind == PlanKind::CrossValidation && r.status == RunStatus::Failed) {
      out.status = RunStatus::Failed;
      out.reason = child.label + " failed: " + r.reason;
      m_store.setStatus(parent, RunStatus::Failed, out.reason, secondsSince(started));
      return out;
    }
    out.results.push_back(std::move(r));
  }
  out.status = RunStatus::Finished;
  out.summary = summarizePlan(plan, out.results);
  std::string what;
  if (plan.kind == PlanKind::CrossValidation) {
    for (const auto &[name, stats] : out.summary["test"].items()) {
      m_store.setSummary(parent, "test", name, stats["mean"].get<double>());
      m_store.setSummary(parent, "test", name + "_std", stats["std"].get<double>());
    }
    what = std::to_string(plan.runs.size()) + "-fold cross-validation";
    writeJsonFile(plan.root / "cv.json", out.summary);
  } else {
    what = std::to_string(plan.groups.size()) + " points × " + std::to_string(plan.seeds) + " seed(s)";
    writeJsonFile(plan.root / "sweep.json", out.summary);
  }
  out.reason = what;
  m_store.setStatus(parent, RunStatus::Finished, what, secondsSince(started));
  return out;
}

} // namespace tunebench
