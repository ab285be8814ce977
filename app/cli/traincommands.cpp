// `train`, `resume`, `cv`, `export`, `sweep`: experiments from YAML, headless.
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/evaljson.h"
#include "core/config/experiment.h"
#include "core/eval/decision.h"
#include "core/experiments/plan.h"
#include "core/experiments/recorder.h"
#include "core/experiments/runner.h"
#include "core/runs/runstore.h"
#include "core/runtime/paths.h"
#include "core/runtime/runtime.h"
#include "core/train/trainedrun.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "core/util/runfolder.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tunebench::cli {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::atomic<Trainer *> g_trainer{nullptr};
std::atomic<bool> g_interrupted{false};

void onSigint(int)
{
  g_interrupted = true;
  if (Trainer *t = g_trainer.load())
    t->requestStop();
}

std::string duration(double seconds)
{
  const long s = static_cast<long>(seconds + 0.5);
  char buffer[32];
  if (s >= 3600)
    std::snprintf(buffer, sizeof buffer, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60)
    std::snprintf(buffer, sizeof buffer, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%lds", s);
  return buffer;
}

// The progress bar (stderr): epoch, step, bar, loss, LR, last validation metric, ETA.
class ConsoleObserver final : public TrainingObserver
{
public:
  ConsoleObserver(const ExperimentConfig &config, bool quiet) : m_config(config), m_quiet(quiet), m_tty(isatty(2)) {}

  void onLog(const std::string &message) override
  {
    if (!m_quiet)
      line(message);
  }
  void onStep(const StepEvent &e) override
  {
    m_smoothed = m_steps++ == 0 ? e.loss : 0.9 * m_smoothed + 0.1 * e.loss;
    if (m_firstStep < 0) { // the ETA counts from the first step this process saw
      m_firstStep = e.step - 1;
      m_firstElapsed = e.elapsedSeconds - e.elapsedSeconds / static_cast<double>(std::max(1L, e.step));
    }
    if (m_quiet)
      return;
    if (!m_tty && e.step % 50 != 0 && e.step != e.totalSteps)
      return;
    const double done = static_cast<double>(e.step) / static_cast<double>(std::max(1L, e.totalSteps));
    const double rate = (e.elapsedSeconds - m_firstElapsed) / static_cast<double>(std::max(1L, e.step - m_firstStep));
    const double eta = rate * static_cast<double>(e.totalSteps - e.step);
    std::string bar;
    const int width = 24, filled = static_cast<int>(done * width);
    for (int i = 0; i < width; ++i)
      bar += i < filled ? "#" : "-";
    char text[256];
    std::snprintf(text, sizeof text, "epoch %d/%d step %ld/%ld [%s] %3.0f%% loss %.4f lr %.2e%s ETA %s", e.epoch + 1,
                  m_config.training.epochs, e.step, e.totalSteps, bar.c_str(), done * 100, m_smoothed, e.learningRate,
                  m_lastEval.c_str(), duration(eta).c_str());
    if (m_tty)
      std::fprintf(stderr, "\r\033[K%s", text);
    else
      std::fprintf(stderr, "%s\n", text);
    m_open = m_tty;
  }
  void onEvaluation(const EvalEvent &e) override
  {
    char text[160];
    const std::string metric = m_config.selectionMetric();
    const auto it = e.metrics.find(metric);
    std::snprintf(text, sizeof text, " | %s %s %.4f", e.split == "test" ? "test" : "val", metric.c_str(),
                  it == e.metrics.end() ? 0.0 : it->second);
    m_lastEval = text;
    if (m_quiet)
      return;
    std::string detail = e.split + " (step " + std::to_string(e.step) + "): loss " + num(e.loss);
    for (const auto &[k, v] : e.metrics)
      if (k != "loss")
        detail += ", " + k + " " + num(v);
    line(detail + (e.best ? "  [best]" : ""));
  }
  void onDiagnosis(const Diagnosis &d) override
  {
    if (m_quiet)
      return;
    std::string text = "diagnosis: " + d.title + " from step " + std::to_string(d.step) + ": " + d.evidence;
    text += "\n  remedies: ";
    for (std::size_t i = 0; i < d.remedies.size(); ++i)
      text += (i ? "; " : "") + d.remedies[i];
    line(text);
  }

private:
  static std::string num(double v)
  {
    char b[32];
    std::snprintf(b, sizeof b, "%.4f", v);
    return b;
  }
  void line(const std::string &text)
  {
    if (m_open)
      std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%s\n", text.c_str());
    m_open = false;
  }

  const ExperimentConfig &m_config;
  bool m_quiet;
  bool m_tty;
  bool m_open = false;
  long m_steps = 0;
  long m_firstStep = -1;
  double m_firstElapsed = 0;
  double m_smoothed = 0;
  std::string m_lastEval;
};

// The config of a run about to train; its training.threads applied to the process.
ExperimentConfig loadOrExplain(const fs::path &file, const std::vector<std::string> &overrides)
{
  ExperimentConfig config = ExperimentSource::fromFile(file, overrides).config();
  applyTrainingThreads(config.training.threads);
  return config;
}

// `--set key=value` may repeat: pulled out before the other options are parsed.
std::vector<std::string> takeOverrides(std::vector<std::string> &argv)
{
  std::vector<std::string> overrides, rest;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--set" && i + 1 < argv.size()) {
      overrides.push_back(argv[++i]);
    } else if (argv[i].rfind("--set=", 0) == 0) {
      overrides.push_back(argv[i].substr(6));
    } else {
      rest.push_back(argv[i]);
    }
  }
  for (const std::string &o : overrides)
    if (o.find('=') == std::string::npos || o.front() == '=')
      throw UsageError("--set " + o + ": expected key.path=value");
  argv = rest;
  return overrides;
}

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
  void onRunFinished(std::size_t, const PlannedRun &, const RunResult &r) override
  {
    if (m_quiet)
      return;
    std::fprintf(stderr, "  %s; test:", runStatusName(r.status));
    for (const auto &[name, v] : r.test.metrics)
      std::fprintf(stderr, " %s %.4f", name.c_str(), v);
    std::fprintf(stderr, "\n");
  }

private:
  bool m_quiet;
};

std::atomic<PlanRunner *> g_plan{nullptr};

void onPlanSigint(int)
{
  g_interrupted = true;
  if (PlanRunner *p = g_plan.load())
    p->requestStop();
}

// Runs a plan in the workspace's history; Ctrl-C stops the running child (resumable).
PlanOutcome runPlanWithSigint(const ExperimentPlan &plan, PlanObserver &observer)
{
  RunStore store(defaultWorkspaceDir());
  PlanRunner runner(store);
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

int trainInto(const ExperimentConfig &config, const fs::path &runDir, bool jsonOut, bool quiet, bool sanity,
              std::int64_t parent = 0)
{
  if (sanity) {
    // A throw-away copy of the model, trained in memory: the check claims and writes no folder.
    const std::string problem = Trainer(config, runDir).overfitOneBatch();
    if (!problem.empty()) {
      std::fprintf(stderr, "sanity check failed: %s\n", problem.c_str());
      return ExitFailure;
    }
    if (!quiet)
      std::fprintf(stderr, "sanity check: one batch over-fits (the pipeline learns)\n");
  }
  Trainer trainer(config, runDir);
  ConsoleObserver console(config, quiet);
  RunStore history(defaultWorkspaceDir());
  RecordedRun recorded(history, trainer, parent, &console);
  if (!quiet)
    std::fprintf(stderr, "run: %s\n", runDir.string().c_str());
  g_trainer = &trainer;
  std::signal(SIGINT, onSigint);
  std::signal(SIGTERM, onSigint);
  const RunResult r = recorded.run();
  g_trainer = nullptr;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!quiet) {
    std::fprintf(stderr, "%s: %s\n", runStatusName(r.status), r.reason.c_str());
    if (!r.test.split.empty()) {
      std::fprintf(stderr, "test (best checkpoint, step %ld):", r.bestStep);
      for (const auto &[k, v] : r.test.metrics)
        std::fprintf(stderr, " %s %.4f", k.c_str(), v);
      std::fprintf(stderr, "\n");
    }
    if (r.majorityBaseline > 0)
      std::fprintf(stderr, "majority-class baseline (test accuracy): %.4f\n", r.majorityBaseline);
    std::fprintf(stderr, "%s in %s, peak memory %.0f MiB\n", runDir.string().c_str(), duration(r.seconds).c_str(),
                 r.peakMemoryMiB);
  }
  if (jsonOut) {
    json diag = json::array();
    for (const Diagnosis &d : r.diagnoses)
      diag.push_back(diagnosisKindName(d.kind));
    std::cout << json{{"run", runDir.string()},
                      {"status", runStatusName(r.status)},
                      {"reason", r.reason},
                      {"steps", r.steps},
                      {"best_step", r.bestStep},
                      {"metric", r.metric},
                      {"best_metric", r.bestMetric},
                      {"validation", evalJson(r.validation)},
                      {"test", evalJson(r.test)},
                      {"seconds", r.seconds},
                      {"peak_memory_mib", r.peakMemoryMiB},
                      {"trainable_parameters", r.trainableParameters},
                      {"total_parameters", r.totalParameters},
                      {"majority_baseline", r.majorityBaseline},
                      {"diagnoses", diag}}
                     .dump()
              << std::endl;
  }
  if (r.status == RunStatus::Stopped)
    return ExitInterrupted;
  return r.status == RunStatus::Failed ? ExitFailure : ExitOk;
}

} // namespace

int runTrain(const std::vector<std::string> &argvIn)
{
  std::vector<std::string> argv = argvIn;
  const std::vector<std::string> overrides = takeOverrides(argv);
  Args args(argv, {{"set", true, "key.path=value: one setting of the config overridden (repeatable)"},
                   {"json", false, "end with one JSON line of final metrics on stdout"},
                   {"run-dir", true, "the run folder (default: <output.runs>/<name>-<time>)"},
                   {"quiet", false, "no progress output"},
                   {"sanity", false, "first check that one batch can be over-fitted"},
                   {"check", false, "validate the config and exit"}});
  if (args.positionals().size() != 1)
    throw UsageError("train needs one CONFIG.yaml (and optionally --set key=value ...)");
  const ExperimentConfig config = loadOrExplain(args.positionals().front(), overrides);
  if (args.has("check")) {
    std::cout << config.toYaml();
    return ExitOk;
  }
  const fs::path runDir = args.value("run-dir") ? fs::path(*args.value("run-dir")) : newRunDir(config);
  if (fs::exists(runDir / "state") || fs::exists(runDir / "results.json"))
    throw Error(runDir.string() + ": already holds a run (use `resume` to continue it)");
  requireNewRunFolder(runDir);
  return trainInto(config, runDir, args.has("json"), args.has("quiet"), args.has("sanity"));
}

int runResume(const std::vector<std::string> &argv)
{
  Args args(argv, {{"json", false, "end with one JSON line of final metrics on stdout"}, {"quiet", false, "no progress output"}});
  if (args.positionals().size() != 1)
    throw UsageError("resume needs one run folder");
  const fs::path runDir = args.positionals().front();
  // A run that died before its first checkpoint (config.yaml and run.json, no state) starts again.
  if (!fs::exists(runDir / "state" / "trainer.json") && !fs::exists(runDir / "results.json") &&
      !(fs::exists(runDir / "config.yaml") && fs::exists(runDir / "run.json")))
    throw Error(runDir.string() + ": no resumable state (state/trainer.json)");
  const ExperimentConfig config = loadOrExplain(runDir / "config.yaml", {});
  return trainInto(config, runDir, args.has("json"), args.has("quiet"), false);
}

int runCrossValidate(const std::vector<std::string> &argvIn)
{
  std::vector<std::string> argv = argvIn;
  const std::vector<std::string> overrides = takeOverrides(argv);
  Args args(argv,
            {{"folds", true, "number of folds (default 5)"},
             {"set", true, "key.path=value: one setting of the config overridden (repeatable)"},
             {"run-dir", true, "the folder for the fold runs (default: <output.runs>/<name>-cv-<time>)"},
             {"json", false, "end with one JSON line: per-fold and mean/std test metrics"},
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
  const PlanOutcome outcome = runPlanWithSigint(plan, progress);
  if (outcome.status == RunStatus::Stopped)
    return ExitInterrupted;
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

namespace {

// Every value of a repeatable option (--name v or --name=v), removed from argv.
std::vector<std::string> takeRepeated(std::vector<std::string> &argv, const std::string &name)
{
  std::vector<std::string> values, rest;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--" + name && i + 1 < argv.size())
      values.push_back(argv[++i]);
    else if (argv[i].rfind("--" + name + "=", 0) == 0)
      values.push_back(argv[i].substr(name.size() + 3));
    else
      rest.push_back(argv[i]);
  }
  argv = rest;
  return values;
}

} // namespace

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
  const PlanOutcome outcome = runPlanWithSigint(plan, progress);
  if (outcome.status == RunStatus::Stopped)
    return ExitInterrupted;
  const std::string metric = plan.parent.selectionMetric();
  const std::string key = "validation_" + metric;
  std::printf("| point | settings | %s | test %s |\n|---|---|---|---|\n", key.c_str(), metric.c_str());
  for (const json &row : outcome.summary["points"]) {
    std::string settings;
    for (const auto &o : row["overrides"])
      settings += (settings.empty() ? "" : ", ") + o.get<std::string>();
    const json &t = row["test"].contains(metric) ? row["test"][metric] : json{{"mean", 0.0}, {"std", 0.0}};
    std::printf("| %d | %s | %.4f ± %.4f | %.4f ± %.4f |\n", row["point"].get<int>(), settings.c_str(),
                row[key]["mean"].get<double>(), row[key]["std"].get<double>(), t["mean"].get<double>(), t["std"].get<double>());
  }
  if (args.has("json"))
    std::cout << outcome.summary.dump() << std::endl;
  return ExitOk;
}

} // namespace tunebench::cli
