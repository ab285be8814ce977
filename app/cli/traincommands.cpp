// `train`, `resume`, `cv`, `export`, `sweep`: experiments from YAML, headless.
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/evaljson.h"

#include "core/config/experiment.h"
#include "core/runs/runstore.h"
#include "core/runtime/paths.h"
#include "core/eval/calibration.h"
#include "core/eval/metrics.h"
#include "core/train/trainer.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <sstream>
#include <cmath>
#include <map>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <unistd.h>

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

ExperimentConfig loadOrExplain(const fs::path &file, const std::vector<std::string> &overrides)
{
  const ConfigResult r = loadExperimentConfig(file, overrides);
  if (r.ok())
    return r.config;
  std::string message = file.string() + ": " + std::to_string(r.problems.size()) + " problem(s) in the config";
  for (const ConfigProblem &p : r.problems)
    message += "\n  " + p.str(file.string());
  throw Error(message);
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
  argv = rest;
  return overrides;
}

// The run's row in the workspace history: found by folder (resume) or created.
std::int64_t historyRow(RunStore &store, const ExperimentConfig &config, const fs::path &runDir, std::int64_t parent)
{
  return store.openRun(config.name, runDir, config.toYaml(), parent);
}

// Trains; a run that cannot start (bad data, model) is marked failed in the history, then the
// error goes on to the caller.
RunResult runGuarded(Trainer &trainer, RunStore *store, std::int64_t id)
{
  try {
    return trainer.run();
  } catch (const std::exception &e) {
    if (store)
      store->setStatus(id, "failed", e.what(), 0);
    throw;
  }
}

// One run of a cv fold or sweep point: recorded in the history under its parent, quiet, Ctrl-C
// stops it (resumable).
RunResult runChild(RunStore &store, const ExperimentConfig &config, const fs::path &dir, std::int64_t parent)
{
  Trainer trainer(config, dir);
  ConsoleObserver console(config, true);
  const std::int64_t id = historyRow(store, config, dir, parent);
  RunRecorder recorder(store, id, &console);
  trainer.setObserver(&recorder);
  g_trainer = &trainer;
  std::signal(SIGINT, onSigint);
  const RunResult r = runGuarded(trainer, &store, id);
  g_trainer = nullptr;
  std::signal(SIGINT, SIG_DFL);
  return r;
}

// Mean and sample standard deviation.
json meanStd(const std::vector<double> &v)
{
  double mean = 0, var = 0;
  for (double x : v)
    mean += x / static_cast<double>(v.size());
  for (double x : v)
    var += (x - mean) * (x - mean) / static_cast<double>(v.size() > 1 ? v.size() - 1 : 1);
  return {{"mean", mean}, {"std", std::sqrt(var)}};
}

int trainInto(const ExperimentConfig &config, const fs::path &runDir, bool jsonOut, bool quiet, bool sanity,
              std::int64_t parent = 0)
{
  Trainer trainer(config, runDir);
  ConsoleObserver console(config, quiet);
  trainer.setObserver(&console);
  std::unique_ptr<RunStore> store;
  std::unique_ptr<RunRecorder> recorder;
  std::int64_t id = 0;
  if (!sanity) {
    store = std::make_unique<RunStore>(defaultWorkspaceDir());
    id = historyRow(*store, config, runDir, parent);
    recorder = std::make_unique<RunRecorder>(*store, id, &console);
    trainer.setObserver(recorder.get());
  }
  if (!quiet)
    std::fprintf(stderr, "run: %s\n", runDir.string().c_str());
  if (sanity) {
    const std::string problem = trainer.overfitOneBatch();
    if (!problem.empty()) {
      std::fprintf(stderr, "sanity check failed: %s\n", problem.c_str());
      return ExitFailure;
    }
    if (!quiet)
      std::fprintf(stderr, "sanity check: one batch over-fits (the pipeline learns)\n");
    fs::remove_all(runDir); // the check trained a throw-away copy; start clean
    return trainInto(config, runDir, jsonOut, quiet, false, parent);
  }
  g_trainer = &trainer;
  std::signal(SIGINT, onSigint);
  std::signal(SIGTERM, onSigint);
  const RunResult r = runGuarded(trainer, store.get(), id);
  g_trainer = nullptr;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!quiet) {
    std::fprintf(stderr, "%s: %s\n", r.status.c_str(), r.reason.c_str());
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
    std::cout << json{{"run", runDir.string()}, {"status", r.status}, {"reason", r.reason}, {"steps", r.steps},
                      {"best_step", r.bestStep}, {"metric", r.metric}, {"best_metric", r.bestMetric},
                      {"validation", evalJson(r.validation)}, {"test", evalJson(r.test)}, {"seconds", r.seconds},
                      {"peak_memory_mib", r.peakMemoryMiB}, {"trainable_parameters", r.trainableParameters},
                      {"total_parameters", r.totalParameters}, {"majority_baseline", r.majorityBaseline},
                      {"diagnoses", diag}}
                     .dump()
              << std::endl;
  }
  if (r.status == "stopped")
    return ExitInterrupted;
  return r.status == "failed" ? ExitFailure : ExitOk;
}

} // namespace

int runTrain(const std::vector<std::string> &argvIn)
{
  std::vector<std::string> argv = argvIn;
  const std::vector<std::string> overrides = takeOverrides(argv);
  Args args(argv, {{"json", false, "end with one JSON line of final metrics on stdout"},
                   {"run-dir", true, "the run folder (default: <output.runs>/<name>-<time>)"},
                   {"quiet", false, "no progress output"},
                   {"sanity", false, "first check that one batch can be over-fitted"},
                   {"check", false, "validate the config and exit"}});
  if (args.positionals().size() != 1)
    throw Error("train needs one CONFIG.yaml (and optionally --set key=value ...)");
  const ExperimentConfig config = loadOrExplain(args.positionals().front(), overrides);
  if (args.has("check")) {
    std::cout << config.toYaml();
    return ExitOk;
  }
  const fs::path runDir = args.value("run-dir") ? fs::path(*args.value("run-dir")) : newRunDir(config);
  if (fs::exists(runDir / "state") || fs::exists(runDir / "results.json"))
    throw Error(runDir.string() + ": already holds a run (use `resume` to continue it)");
  return trainInto(config, runDir, args.has("json"), args.has("quiet"), args.has("sanity"));
}

int runResume(const std::vector<std::string> &argv)
{
  Args args(argv, {{"json", false, "end with one JSON line of final metrics on stdout"}, {"quiet", false, "no progress output"}});
  if (args.positionals().size() != 1)
    throw Error("resume needs one run folder");
  const fs::path runDir = args.positionals().front();
  if (!fs::exists(runDir / "state" / "trainer.json") && !fs::exists(runDir / "results.json"))
    throw Error(runDir.string() + ": no resumable state (state/trainer.json)");
  const ExperimentConfig config = loadOrExplain(runDir / "config.yaml", {});
  return trainInto(config, runDir, args.has("json"), args.has("quiet"), false);
}

int runCrossValidate(const std::vector<std::string> &argvIn)
{
  std::vector<std::string> argv = argvIn;
  std::vector<std::string> overrides = takeOverrides(argv);
  Args args(argv, {{"folds", true, "number of folds (default 5)"},
                   {"run-dir", true, "the folder for the fold runs (default: <output.runs>/<name>-cv-<time>)"},
                   {"json", false, "end with one JSON line: per-fold and mean/std test metrics"},
                   {"quiet", false, "no progress output"}});
  if (args.positionals().size() != 1)
    throw Error("cv needs one CONFIG.yaml");
  const int folds = args.intValue("folds").value_or(5);
  if (folds < 2)
    throw Error("--folds must be at least 2");
  overrides.push_back("data.split.folds=" + std::to_string(folds));
  const ExperimentConfig base = loadOrExplain(args.positionals().front(), overrides);
  fs::path root = args.value("run-dir") ? fs::path(*args.value("run-dir")) : newRunDir(base);
  if (!args.value("run-dir"))
    root = root.parent_path() / (base.name + "-cv-" + root.filename().string().substr(base.name.size() + 1));
  std::map<std::string, std::vector<double>> values;
  json perFold = json::array();
  RunStore store(defaultWorkspaceDir());
  ExperimentConfig parentConfig = base;
  parentConfig.name = base.name + "-cv";
  const std::int64_t parent = historyRow(store, parentConfig, root, 0);
  const auto started = std::chrono::steady_clock::now();
  for (int k = 0; k < folds; ++k) {
    ExperimentConfig c = base;
    c.data.fold = k;
    const fs::path dir = root / ("fold-" + std::to_string(k + 1));
    if (!args.has("quiet"))
      std::fprintf(stderr, "fold %d/%d: %s\n", k + 1, folds, dir.string().c_str());
    const RunResult r = runChild(store, c, dir, parent);
    if (r.status == "stopped")
      return ExitInterrupted;
    if (r.status == "failed")
      throw Error("fold " + std::to_string(k + 1) + " failed: " + r.reason);
    for (const auto &[name, v] : r.test.metrics)
      values[name].push_back(v);
    perFold.push_back({{"fold", k + 1}, {"run", dir.string()}, {"test", r.test.metrics}});
    if (!args.has("quiet")) {
      std::fprintf(stderr, "  test:");
      for (const auto &[name, v] : r.test.metrics)
        std::fprintf(stderr, " %s %.4f", name.c_str(), v);
      std::fprintf(stderr, "\n");
    }
  }
  json summary = json::object();
  for (const auto &[name, v] : values) {
    summary[name] = meanStd(v);
    if (!args.has("quiet"))
      std::fprintf(stderr, "%s: %.4f ± %.4f over %d folds\n", name.c_str(), summary[name]["mean"].get<double>(),
                   summary[name]["std"].get<double>(), folds);
  }
  for (const auto &[name, stats] : summary.items()) {
    store.setSummary(parent, "test", name, stats["mean"].get<double>());
    store.setSummary(parent, "test", name + "_std", stats["std"].get<double>());
  }
  store.setStatus(parent, "finished", std::to_string(folds) + "-fold cross-validation",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  const json result = {{"folds", folds}, {"runs", perFold}, {"test", summary}, {"root", root.string()}};
  fs::create_directories(root);
  std::ofstream(root / "cv.json") << result.dump(2) << "\n";
  if (args.has("json"))
    std::cout << result.dump() << std::endl;
  return ExitOk;
}

int runExport(const std::vector<std::string> &argv)
{
  Args args(argv, {{"out", true, "the folder to write (default: RUN/export)"}});
  if (args.positionals().size() != 1)
    throw Error("export needs one run folder");
  const fs::path runDir = args.positionals().front();
  const fs::path out = args.value("out") ? fs::path(*args.value("out")) : runDir / "export";
  TrainedRun::open(runDir)->exportTo(out);
  std::printf("%s\n", out.string().c_str());
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

std::vector<std::string> splitOn(const std::string &text, char sep)
{
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, sep);)
    out.push_back(part);
  return out;
}

} // namespace

int runSweep(const std::vector<std::string> &argvIn)
{
  std::vector<std::string> argv = argvIn;
  const std::vector<std::string> base = takeOverrides(argv);
  const std::vector<std::string> grids = takeRepeated(argv, "grid");
  const std::vector<std::string> ranges = takeRepeated(argv, "range");
  Args args(argv, {{"random", true, "random search: this many points from the --range options"},
                   {"seeds", true, "repeat every point with this many seeds (mean ± std)"},
                   {"run-dir", true, "the folder for the runs"},
                   {"json", false, "end with one JSON line"}});
  if (args.positionals().size() != 1)
    throw Error("sweep needs one CONFIG.yaml");
  if (grids.empty() && ranges.empty())
    throw Error("sweep needs --grid key=a,b,... and/or --random N --range key=lo:hi[:log]");
  // The points: the grid's cartesian product, or random samples of the ranges.
  std::vector<std::vector<std::string>> points = {{}};
  for (const std::string &g : grids) {
    const auto eq = g.find('=');
    if (eq == std::string::npos)
      throw Error("--grid " + g + ": expected key=a,b,...");
    std::vector<std::vector<std::string>> next;
    for (const auto &p : points)
      for (const std::string &v : splitOn(g.substr(eq + 1), ',')) {
        auto q = p;
        q.push_back(g.substr(0, eq) + "=" + v);
        next.push_back(q);
      }
    points = next;
  }
  if (!ranges.empty()) {
    const int n = args.intValue("random").value_or(8);
    std::mt19937_64 rng(12345);
    std::vector<std::vector<std::string>> sampled;
    for (const auto &p : points)
      for (int i = 0; i < n; ++i) {
        auto q = p;
        for (const std::string &r : ranges) {
          const auto eq = r.find('=');
          const auto parts = eq == std::string::npos ? std::vector<std::string>{} : splitOn(r.substr(eq + 1), ':');
          if (parts.size() < 2)
            throw Error("--range " + r + ": expected key=lo:hi or key=lo:hi:log");
          const double lo = std::stod(parts[0]), hi = std::stod(parts[1]);
          const bool log = parts.size() > 2 && parts[2] == "log";
          std::uniform_real_distribution<double> u(log ? std::log(lo) : lo, log ? std::log(hi) : hi);
          const double v = log ? std::exp(u(rng)) : u(rng);
          std::ostringstream value;
          value << v;
          q.push_back(r.substr(0, eq) + "=" + value.str());
        }
        sampled.push_back(q);
      }
    points = sampled;
  }
  const int seeds = args.intValue("seeds").value_or(1);
  const ExperimentConfig first = loadOrExplain(args.positionals().front(), base);
  const fs::path root = args.value("run-dir") ? fs::path(*args.value("run-dir"))
                                              : newRunDir(first).parent_path() / (first.name + "-sweep-" + newRunDir(first).filename().string().substr(first.name.size() + 1));
  json table = json::array();
  RunStore store(defaultWorkspaceDir());
  ExperimentConfig parentConfig = first;
  parentConfig.name = first.name + "-sweep";
  const std::int64_t parent = historyRow(store, parentConfig, root, 0);
  for (std::size_t i = 0; i < points.size(); ++i) {
    std::map<std::string, std::vector<double>> values;
    std::vector<double> selection;
    for (int s = 0; s < seeds; ++s) {
      std::vector<std::string> overrides = base;
      overrides.insert(overrides.end(), points[i].begin(), points[i].end());
      if (seeds > 1)
        overrides.push_back("seed=" + std::to_string(first.seed + static_cast<std::uint64_t>(s)));
      const ExperimentConfig c = loadOrExplain(args.positionals().front(), overrides);
      const fs::path dir = root / ("point-" + std::to_string(i + 1) + (seeds > 1 ? "-seed-" + std::to_string(s + 1) : ""));
      std::string label;
      for (const std::string &o : points[i])
        label += (label.empty() ? "" : " ") + o;
      std::fprintf(stderr, "[%zu/%zu%s] %s\n", i + 1, points.size(),
                   seeds > 1 ? (" seed " + std::to_string(s + 1)).c_str() : "", label.c_str());
      const RunResult r = runChild(store, c, dir, parent);
      if (r.status == "stopped")
        return ExitInterrupted;
      selection.push_back(r.bestMetric);
      for (const auto &[k, v] : r.test.metrics)
        values[k].push_back(v);
    }
    json row = {{"point", i + 1}, {"overrides", points[i]}};
    row["validation_" + first.selectionMetric()] = meanStd(selection);
    json test = json::object();
    for (const auto &[k, v] : values)
      test[k] = meanStd(v);
    row["test"] = test;
    table.push_back(row);
  }
  const std::string key = "validation_" + first.selectionMetric();
  std::sort(table.begin(), table.end(), [&](const json &a, const json &b) {
    const double x = a[key]["mean"].get<double>(), y = b[key]["mean"].get<double>();
    return first.higherIsBetter() ? x > y : x < y;
  });
  std::printf("| point | settings | %s | test %s |\n|---|---|---|---|\n", key.c_str(), first.selectionMetric().c_str());
  for (const json &row : table) {
    std::string settings;
    for (const auto &o : row["overrides"])
      settings += (settings.empty() ? "" : ", ") + o.get<std::string>();
    const json &t = row["test"].contains(first.selectionMetric()) ? row["test"][first.selectionMetric()] : json{{"mean", 0.0}, {"std", 0.0}};
    std::printf("| %d | %s | %.4f ± %.4f | %.4f ± %.4f |\n", row["point"].get<int>(), settings.c_str(),
                row[key]["mean"].get<double>(), row[key]["std"].get<double>(), t["mean"].get<double>(), t["std"].get<double>());
  }
  store.setStatus(parent, "finished", std::to_string(points.size()) + " points × " + std::to_string(seeds) + " seed(s)", 0);
  fs::create_directories(root);
  std::ofstream(root / "sweep.json") << json{{"points", table}, {"seeds", seeds}}.dump(2) << "\n";
  if (args.has("json"))
    std::cout << json{{"root", root.string()}, {"points", table}}.dump() << std::endl;
  return ExitOk;
}

} // namespace tunebench::cli
