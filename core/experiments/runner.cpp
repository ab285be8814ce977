#include "core/experiments/runner.h"

#include "core/experiments/recorder.h"
#include "core/runs/runstore.h"
#include "core/train/runstate.h"
#include "core/util/files.h"
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

// Trained to the end (or to early stopping): the children a summary counts.
bool completed(const RunResult &r)
{
  return completed(r.status);
}

json crossValidationSummary(const ExperimentPlan &plan, const std::vector<RunResult> &results)
{
  std::map<std::string, std::vector<double>> values;
  json perFold = json::array();
  for (std::size_t i = 0; i < results.size(); ++i) {
    const PlannedRun &child = plan.runs[i];
    if (!completed(results[i]))
      continue;
    for (const auto &[name, v] : results[i].test.metrics)
      values[name].push_back(v);
    perFold.push_back(
        {{"fold", child.group + 1}, {"run", child.dir.string()}, {"test", results[i].test.metrics}});
  }
  json test = json::object();
  for (const auto &[name, v] : values)
    test[name] = meanAndStd(v);
  return {{"folds", perFold.size()}, {"runs", perFold}, {"test", test}, {"root", plan.root.string()}};
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
      if (plan.runs[i].group != g || !completed(results[i]))
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

void PlanRunner::skip(std::size_t index)
{
  {
    std::lock_guard lock(m_skipMutex);
    m_skip.push_back(index);
  }
  if (Trainer *t = m_current.load(); t && m_currentIndex == index)
    t->requestStop();
}

bool PlanRunner::skipped(std::size_t index)
{
  std::lock_guard lock(m_skipMutex);
  return std::find(m_skip.begin(), m_skip.end(), index) != m_skip.end();
}

void PlanRunner::setPaused(bool paused)
{
  m_paused = paused;
  if (Trainer *t = m_current.load())
    t->setPaused(paused);
}

std::optional<RunResult> resultWithoutRunning(const PlannedRun &child, bool skipped)
{
  if (fileExists(child.dir / "results.json"))
    if (RunResult r = readResults(child.dir); completed(r))
      return r;
  if (!skipped)
    return std::nullopt;
  RunResult r;
  r.status = RunStatus::Stopped;
  r.reason = "skipped";
  return r;
}

PlanOutcome PlanRunner::runInProcess(const ExperimentPlan &plan, PlanObserver &observer, std::int64_t parent)
{
  const auto started = std::chrono::steady_clock::now();
  PlanOutcome out;
  for (std::size_t i = 0; i < plan.runs.size(); ++i) {
    const PlannedRun &child = plan.runs[i];
    if (std::optional<RunResult> r = resultWithoutRunning(child, skipped(i))) {
      observer.onRunFinished(i, child, *r);
      out.results.push_back(std::move(*r));
      continue;
    }
    observer.onRunStarted(i, child);
    Trainer trainer(child.config, child.dir);
    RunResult r;
    try {
      RecordedRun recorded(m_store, trainer, parent, observer.runObserver(i));
      m_currentIndex = i;
      m_current = &trainer;
      trainer.setPaused(m_paused);
      if (m_stop || skipped(i))
        trainer.requestStop();
      r = recorded.run();
      m_current = nullptr;
    } catch (const std::exception &e) {
      m_current = nullptr;
      m_store.setStatus(parent, RunStatus::Failed, child.label + ": " + e.what(), secondsSince(started));
      throw;
    }
    observer.onRunFinished(i, child, r);
    if (m_stop) {
      out.status = RunStatus::Stopped;
      out.reason = "stopped during " + child.label + " (its run is resumable)";
      out.results.push_back(std::move(r));
      return out;
    }
    if (plan.kind == PlanKind::CrossValidation && r.status == RunStatus::Failed) {
      out.status = RunStatus::Failed;
      out.reason = child.label + " failed: " + r.reason;
      return out;
    }
    out.results.push_back(std::move(r));
  }
  out.status = RunStatus::Finished;
  return out;
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
  PlanOutcome out =
      m_workers.workers > 1 ? runInWorkers(plan, *observer, parent) : runInProcess(plan, *observer, parent);
  if (out.status != RunStatus::Finished) {
    m_store.setStatus(parent, out.status, out.reason, secondsSince(started));
    return out;
  }
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
  const auto left =
      std::count_if(out.results.begin(), out.results.end(), [](const RunResult &r) { return !completed(r); });
  if (left > 0)
    what += " (" + std::to_string(left) + " of " + std::to_string(plan.runs.size()) +
            " run(s) skipped or failed, left out of the summary)";
  out.reason = what;
  m_store.setStatus(parent, RunStatus::Finished, what, secondsSince(started));
  return out;
}

} // namespace tunebench
