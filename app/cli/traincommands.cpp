// `train`, `resume`: experiments from YAML, headless (one process or data-parallel ranks).
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/evaljson.h"
#include "cli/ranks.h"
#include "core/config/experiment.h"
#include "core/eval/decision.h"
#include "core/experiments/plan.h"
#include "core/experiments/recorder.h"
#include "core/experiments/runner.h"
#include "core/runs/runstore.h"
#include "core/runtime/distributed.h"
#include "core/runtime/paths.h"
#include "core/runtime/runtime.h"
#include "core/train/runstate.h"
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

void onSigint(int)
{
  if (Trainer *t = g_trainer.load())
    t->requestStop();
}

// SIGUSR1 pauses the run between steps, SIGUSR2 lets it go on (a plan's workers are paused so).
void onPauseSignal(int sig)
{
  if (Trainer *t = g_trainer.load())
    t->setPaused(sig == SIGUSR1);
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

// A data-parallel rank other than 0: trains its share, writes and records nothing.
int trainFollower(const ExperimentConfig &config, const fs::path &runDir, ProcessGroup &group)
{
  Trainer trainer(config, runDir);
  trainer.setProcessGroup(&group);
  g_trainer = &trainer;
  std::signal(SIGINT, onSigint);
  std::signal(SIGTERM, onSigint);
  const RunResult r = trainer.run();
  g_trainer = nullptr;
  if (r.status == RunStatus::Interrupted)
    std::fprintf(stderr, "rank %d: %s\n", group.rank(), r.reason.c_str());
  return r.status == RunStatus::Stopped || r.status == RunStatus::Interrupted ? ExitInterrupted
         : r.status == RunStatus::Failed                                      ? ExitFailure
                                                                              : ExitOk;
}

int trainInto(const ExperimentConfig &config, const fs::path &runDir, bool jsonOut, bool quiet, bool sanity,
              std::int64_t parent = 0, ProcessGroup *group = nullptr)
{
  if (group && group->rank() > 0)
    return trainFollower(config, runDir, *group);
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
  trainer.setProcessGroup(group);
  ConsoleObserver console(config, quiet);
  RunStore history(defaultWorkspaceDir());
  RecordedRun recorded(history, trainer, parent, &console);
  if (!quiet)
    std::fprintf(stderr, "run: %s\n", runDir.string().c_str());
  g_trainer = &trainer;
  std::signal(SIGINT, onSigint);
  std::signal(SIGTERM, onSigint);
  std::signal(SIGUSR1, onPauseSignal);
  std::signal(SIGUSR2, onPauseSignal);
  const RunResult r = recorded.run();
  g_trainer = nullptr;
  for (int sig : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2})
    std::signal(sig, SIG_DFL);
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
  if (r.status == RunStatus::Stopped || r.status == RunStatus::Interrupted)
    return ExitInterrupted;
  return r.status == RunStatus::Failed ? ExitFailure : ExitOk;
}

// One rank of a data-parallel run (WORLD_SIZE set): joins the others, agrees on the folder, trains.
int trainAsRank(ExperimentConfig config, const DistributedEnvironment &env,
                const std::function<fs::path()> &chooseRunDir, bool jsonOut, bool quiet)
{
  try {
    const std::unique_ptr<ProcessGroup> group = joinRanks(env, config);
    const fs::path runDir = agreeOnRunDir(*group, chooseRunDir);
    return trainInto(config, runDir, jsonOut && env.rank == 0, quiet || env.rank > 0, false, 0, group.get());
  } catch (const Error &e) {
    throw Error("rank " + std::to_string(env.rank) + ": " + e.what());
  }
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
                   {"nproc", true,
                    "data-parallel processes on this machine (default: training.distributed.processes)"},
                   {"check", false, "validate the config and exit"},
                   {"parent", true,
                    "history id of the plan this run belongs to (a plan's worker; the run folder may "
                    "then hold the stopped run it continues)"}});
  if (args.positionals().size() != 1)
    throw UsageError("train needs one CONFIG.yaml (and optionally --set key=value ...)");
  const ExperimentConfig config = loadOrExplain(args.positionals().front(), overrides);
  if (args.has("check")) {
    std::cout << config.toYaml();
    return ExitOk;
  }
  if (const std::optional<std::string> parent = args.value("parent")) {
    char *end = nullptr;
    const long long id = std::strtoll(parent->c_str(), &end, 10);
    if (parent->empty() || *end != '\0' || id < 1)
      throw UsageError("option --parent: expected a history id (a positive integer), got \"" + *parent +
                       "\"");
    if (!args.value("run-dir") || args.intValue("nproc").value_or(1) > 1)
      throw UsageError("--parent needs --run-dir (the plan's folder for this run) and one process");
    return trainInto(config, *args.value("run-dir"), args.has("json"), args.has("quiet"), false, id);
  }
  const auto chooseRunDir = [&] {
    const fs::path dir = args.value("run-dir") ? fs::path(*args.value("run-dir")) : newRunDir(config);
    if (fs::exists(dir / "state") || fs::exists(dir / "results.json"))
      throw Error(dir.string() + ": already holds a run (use `resume` to continue it)");
    requireNewRunFolder(dir);
    return dir;
  };
  const DistributedEnvironment env = distributedEnvironment();
  const int ranks = processesWanted(args.intValue("nproc"), config, env);
  if (env.distributed())
    return trainAsRank(config, env, chooseRunDir, args.has("json"), args.has("quiet"));
  if (ranks > 1) {
    std::vector<std::string> command{"train"};
    for (const std::string &a : withRunDir(argvIn, chooseRunDir()))
      command.push_back(a);
    return launchLocalRanks(ranks, command, config, args.has("quiet"));
  }
  return trainInto(config, chooseRunDir(), args.has("json"), args.has("quiet"), args.has("sanity"));
}

int runResume(const std::vector<std::string> &argv)
{
  Args args(argv,
            {{"json", false, "end with one JSON line of final metrics on stdout"},
             {"quiet", false, "no progress output"},
             {"nproc", true, "data-parallel processes (default: as many as the run was trained with)"}});
  if (args.positionals().size() != 1)
    throw UsageError("resume needs one run folder");
  const fs::path runDir = args.positionals().front();
  // A run that died before its first checkpoint (config.yaml and run.json, no state) starts again.
  if (!fs::exists(runDir / "state" / "trainer.json") && !fs::exists(runDir / "results.json") &&
      !(fs::exists(runDir / "config.yaml") && fs::exists(runDir / "run.json")))
    throw Error(runDir.string() + ": no resumable state (state/trainer.json)");
  const ExperimentConfig config = loadOrExplain(runDir / "config.yaml", {});
  const DistributedEnvironment env = distributedEnvironment();
  const int ranks = processesWanted(args.intValue("nproc"), config, env);
  requireSavedWorldSize(runDir, ranks, config.training.batchSize);
  if (env.distributed())
    return trainAsRank(
        config, env, [&] { return runDir; }, args.has("json"), args.has("quiet"));
  if (ranks > 1) {
    std::vector<std::string> command{"resume"};
    command.insert(command.end(), argv.begin(), argv.end());
    return launchLocalRanks(ranks, command, config, args.has("quiet"));
  }
  return trainInto(config, runDir, args.has("json"), args.has("quiet"), false);
}

} // namespace tunebench::cli
