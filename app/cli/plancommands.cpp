// `cv` and `sweep`: plans of many runs from YAML, headless, each child in the history.
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/ranks.h"
#include "core/experiments/plan.h"
#include "core/experiments/runner.h"
#include "core/runs/runstore.h"
#include "core/runtime/paths.h"
#include "core/runtime/runtime.h"
#include "core/util/error.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tunebench::cli {
namespace fs = std::filesystem;

namespace {

// A plan's progress on stderr: each child as it starts, its test metrics as it ends.
class PlanProgress final : public PlanObserver
{
public:
  explicit PlanProgress(bool quiet)
    : m_quiet(quiet)
  {}
  void onRunStarted(std::size_t, const PlannedRun &run) override
  {
    if (!m_quiet)
      std::fprintf(stderr, "%s: %s\n", run.label.c_str(), run.dir.string().c_str());
  }
  void onRunFinished(std::size_t, const PlannedRun &run, const RunResult &r) override
  {
    if (m_quiet)
      return;
    std::fprintf(stderr, "  %s: %s", run.label.c_str(), runStatusName(r.status));
    if (r.test.metrics.empty())
      std::fprintf(stderr, " (%s)", r.reason.c_str());
    else
      std::fprintf(stderr, "; test:");
    for (const auto &[name, v] : r.test.metrics)
      std::fprintf(stderr, " %s %.4f", name.c_str(), v);
    std::fprintf(stderr, "\n");
  }

private:
  bool m_quiet;
};

constexpr const char *kWorkersHelp =
    "run this many children at once, each a process of its own with the threads split (default 1: "
    "one after the other in this process)";

std::atomic<PlanRunner *> g_plan{nullptr};

void onPlanSigint(int)
{
  if (PlanRunner *p = g_plan.load())
    p->requestStop();
}

// Runs a plan in the workspace's history; Ctrl-C stops the running child (resumable). `workers`
// > 1: that many children at once, each a process of this program with the threads split.
PlanOutcome runPlanWithSigint(const ExperimentPlan &plan, PlanObserver &observer, int workers)
{
  RunStore store(defaultWorkspaceDir());
  PlanRunner runner(store);
  if (workers > 1) {
    // applyTrainingThreads(0) changes nothing: it reports the threads in effect.
    runner.setWorkers(
        {workers, selfPath(), defaultWorkspaceDir(), std::max(1, applyTrainingThreads(0) / workers)});
  }
  g_plan = &runner;
  std::signal(SIGINT, onPlanSigint);
  std::signal(SIGTERM, onPlanSigint);
  struct Restore
  {
    ~Restore()
    {
      g_plan = nullptr;
      std::signal(SIGINT, SIG_DFL);
      std::signal(SIGTERM, SIG_DFL);
    }
  } restore;
  return runner.run(plan, &observer);
}

} // namespace

int runCrossValidate(const std::vector<std::string> &argvIn)
{
  std::vector<std::string> argv = argvIn;
  const std::vector<std::string> overrides = takeOverrides(argv);
  Args args(argv,
            {{"folds", true, "number of folds (default 5)"},
             {"set", true, "key.path=value: one setting of the config overridden (repeatable)"},
             {"run-dir", true, "the folder for the fold runs (default: <output.runs>/<name>-cv-<time>)"},
             {"json", false, "end with one JSON line: per-fold and mean/std test metrics"},
             {"workers", true, kWorkersHelp},
             {"quiet", false, "no progress output"}});
  if (args.positionals().size() != 1)
    throw UsageError("cv needs one CONFIG.yaml");
  const int folds = args.intValue("folds").value_or(5);
  if (folds < 2)
    throw UsageError("--folds must be at least 2");
  const ExperimentSource source = ExperimentSource::fromFile(args.positionals().front(), overrides);
  const ExperimentPlan plan = planCrossValidation(
      source, folds, args.value("run-dir") ? fs::path(*args.value("run-dir")) : fs::path());
  PlanProgress progress(args.has("quiet"));
  const PlanOutcome outcome = runPlanWithSigint(plan, progress, args.intValue("workers").value_or(1));
  if (outcome.status == RunStatus::Stopped) {
    if (!args.has("quiet"))
      std::fprintf(stderr, "%s\n", outcome.reason.c_str());
    return ExitInterrupted;
  }
  if (outcome.status != RunStatus::Finished)
    throw Error(outcome.reason);
  if (!args.has("quiet"))
    for (const auto &[name, stats] : outcome.summary["test"].items())
      std::fprintf(stderr, "%s: %.4f ± %.4f over %d folds\n", name.c_str(), stats["mean"].get<double>(),
                   stats["std"].get<double>(), folds);
  if (args.has("json"))
    std::cout << outcome.summary.dump() << std::endl;
  return ExitOk;
}

int runSweep(const std::vector<std::string> &argvIn)
{
  std::vector<std::string> argv = argvIn;
  const std::vector<std::string> base = takeOverrides(argv);
  SweepSpec spec;
  spec.grid = takeRepeated(argv, "grid");
  spec.ranges = takeRepeated(argv, "range");
  for (const std::string &point : takeRepeated(argv, "point")) {
    std::vector<std::string> overrides;
    std::istringstream words(point);
    for (std::string w; words >> w;)
      overrides.push_back(w);
    spec.points.push_back(overrides);
  }
  Args args(argv, {{"point", true,
                    "\"key=v key2=w\": one point given whole, e.g. a strategy with its own learning rate "
                    "(repeatable; the grid is taken over each)"},
                   {"grid", true, "key=a,b,...: every value of a setting (repeatable: their product)"},
                   {"range", true, "key=lo:hi or key=lo:hi:log: a setting sampled at random (repeatable)"},
                   {"random", true, "random search: this many points from the --range options (default 8)"},
                   {"seeds", true, "repeat every point with this many seeds (mean ± std; default 1)"},
                   {"set", true, "key.path=value: one setting of the config overridden (repeatable)"},
                   {"run-dir", true, "the folder for the runs"},
                   {"workers", true, kWorkersHelp},
                   {"json", false, "end with one JSON line"}});
  if (args.positionals().size() != 1)
    throw UsageError("sweep needs one CONFIG.yaml");
  if (spec.grid.empty() && spec.ranges.empty() && spec.points.empty())
    throw UsageError("sweep needs --grid key=a,b,... and/or --random N --range key=lo:hi[:log] (or --point "
                     "\"key=v ...\")");
  spec.random = args.intValue("random").value_or(8);
  spec.seeds = args.intValue("seeds").value_or(1);
  try { // a malformed --grid or --range is a bad command line, found before anything is loaded
    sweepPoints(spec);
  } catch (const Error &e) {
    throw UsageError(e.what());
  }
  const ExperimentSource source = ExperimentSource::fromFile(args.positionals().front(), base);
  const ExperimentPlan plan =
      planSweep(source, spec, args.value("run-dir") ? fs::path(*args.value("run-dir")) : fs::path());
  PlanProgress progress(false);
  const PlanOutcome outcome = runPlanWithSigint(plan, progress, args.intValue("workers").value_or(1));
  if (outcome.status == RunStatus::Stopped) {
    std::fprintf(stderr, "%s\n", outcome.reason.c_str());
    return ExitInterrupted;
  }
  const std::string metric = plan.parent.selectionMetric();
  const std::string key = "validation_" + metric;
  std::printf("| point | settings | %s | test %s |\n|---|---|---|---|\n", key.c_str(), metric.c_str());
  for (const json &row : outcome.summary["points"]) {
    std::string settings;
    for (const auto &o : row["overrides"])
      settings += (settings.empty() ? "" : ", ") + o.get<std::string>();
    const json &t = row["test"].contains(metric) ? row["test"][metric] : json{{"mean", 0.0}, {"std", 0.0}};
    std::printf("| %d | %s | %.4f ± %.4f | %.4f ± %.4f |\n", row["point"].get<int>(), settings.c_str(),
                row[key]["mean"].get<double>(), row[key]["std"].get<double>(), t["mean"].get<double>(),
                t["std"].get<double>());
  }
  if (args.has("json"))
    std::cout << outcome.summary.dump() << std::endl;
  return ExitOk;
}

} // namespace tunebench::cli
