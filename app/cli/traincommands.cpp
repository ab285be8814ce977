// `train`, `resume`, `eval`, `predict`: experiments from YAML, headless.
#include "cli/args.h"
#include "cli/commands.h"

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

json evalJson(const EvalEvent &e)
{
  return {{"split", e.split}, {"step", e.step}, {"loss", e.loss}, {"metrics", e.metrics}};
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

void printMetrics(const char *title, const std::map<std::string, double> &metrics)
{
  std::printf("%s:", title);
  for (const auto &[k, v] : metrics)
    std::printf(" %s %.4f", k.c_str(), v);
  std::printf("\n");
}

std::map<std::string, double> classificationSummary(const std::vector<int> &truth,
                                                   const std::vector<std::vector<double>> &probabilities,
                                                   const std::vector<std::string> &labels, double threshold = -1,
                                                   int positive = 1)
{
  std::vector<int> predicted;
  for (const auto &p : probabilities) {
    int best = 0;
    for (std::size_t k = 0; k < p.size(); ++k)
      if (p[k] > p[static_cast<std::size_t>(best)])
        best = static_cast<int>(k);
    if (threshold >= 0 && p.size() == 2)
      best = p[static_cast<std::size_t>(positive)] >= threshold ? positive : 1 - positive;
    predicted.push_back(best);
  }
  const ClassificationMetrics m = classificationMetrics(truth, predicted, labels);
  return {{"accuracy", m.accuracy}, {"macro_f1", m.macro.f1}, {"micro_f1", m.micro.f1}, {"weighted_f1", m.weighted.f1}};
}

double ece(const std::vector<std::vector<double>> &probabilities, const std::vector<int> &truth)
{
  std::vector<double> confidence;
  std::vector<bool> correct;
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    const auto &p = probabilities[i];
    const auto best = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
    confidence.push_back(p[static_cast<std::size_t>(best)]);
    correct.push_back(best == truth[i]);
  }
  return expectedCalibrationError(confidence, correct);
}

std::vector<std::vector<double>> logOf(const std::vector<std::vector<double>> &p)
{
  std::vector<std::vector<double>> out = p;
  for (auto &row : out)
    for (double &v : row)
      v = std::log(std::max(v, 1e-12));
  return out;
}

} // namespace

int runEval(const std::vector<std::string> &argv)
{
  Args args(argv, {{"split", true, "train, validation or test (default test)"},
                   {"json", false, "one JSON line"},
                   {"errors", true, "list the N most confident mistakes and the most-confused label pairs"},
                   {"calibrate", false, "fit temperature scaling on validation; NLL and ECE before/after"},
                   {"tune-threshold", false, "binary tasks: the F1-best threshold on validation, applied to the split"},
                   {"positive", true, "the positive label for --tune-threshold (default: the second label)"}});
  if (args.positionals().size() != 1)
    throw Error("eval needs one run folder");
  auto run = TrainedRun::open(args.positionals().front());
  const std::string split = args.value("split").value_or("test");
  const bool detailed = args.has("errors") || args.has("calibrate") || args.has("tune-threshold");
  if (!detailed) {
    const EvalEvent e = run->evaluate(split);
    if (args.has("json")) {
      std::cout << evalJson(e).dump() << '\n';
    } else {
      std::printf("%s: loss %.4f", e.split.c_str(), e.loss);
      for (const auto &[k, v] : e.metrics)
        if (k != "loss")
          std::printf(", %s %.4f", k.c_str(), v);
      std::printf("\n");
    }
    return ExitOk;
  }
  if (run->config().task.kind != "single_label")
    throw Error("--errors, --calibrate and --tune-threshold apply to single-label classification runs");
  const auto &labels = run->labels();
  const TrainedRun::Detailed d = run->evaluateDetailed(split);
  json out = {{"split", split}, {"metrics", d.event.metrics}};
  if (!args.has("json"))
    printMetrics(split.c_str(), d.event.metrics);

  if (args.has("errors")) {
    const int n = args.intValue("errors").value_or(10);
    struct Mistake
    {
      std::size_t i;
      int predicted;
      double confidence;
    };
    std::vector<Mistake> mistakes;
    std::map<std::pair<int, int>, int> pairs;
    for (std::size_t i = 0; i < d.rows.size(); ++i) {
      const auto &p = d.probabilities[i];
      const auto best = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
      if (best != d.truth[i]) {
        mistakes.push_back({i, best, p[static_cast<std::size_t>(best)]});
        ++pairs[{d.truth[i], best}];
      }
    }
    std::sort(mistakes.begin(), mistakes.end(), [](const Mistake &a, const Mistake &b) { return a.confidence > b.confidence; });
    json list = json::array();
    if (!args.has("json"))
      std::printf("\n%zu mistakes of %zu; the most confident:\n", mistakes.size(), d.rows.size());
    for (std::size_t k = 0; k < mistakes.size() && static_cast<int>(k) < n; ++k) {
      const Mistake &m = mistakes[k];
      const std::string &truth = labels[static_cast<std::size_t>(d.truth[m.i])];
      const std::string &pred = labels[static_cast<std::size_t>(m.predicted)];
      list.push_back({{"row", d.rows[m.i]}, {"text", d.texts[m.i]}, {"label", truth}, {"predicted", pred},
                      {"confidence", m.confidence}});
      if (!args.has("json"))
        std::printf("  %.3f  %s -> %s  %s\n", m.confidence, truth.c_str(), pred.c_str(), d.texts[m.i].c_str());
    }
    std::vector<std::pair<std::pair<int, int>, int>> ranked(pairs.begin(), pairs.end());
    std::sort(ranked.begin(), ranked.end(), [](const auto &a, const auto &b) { return a.second > b.second; });
    json confused = json::array();
    if (!args.has("json"))
      std::printf("most-confused pairs (true -> predicted):\n");
    for (std::size_t k = 0; k < ranked.size() && k < 10; ++k) {
      const auto &[pair, count] = ranked[k];
      confused.push_back({{"label", labels[static_cast<std::size_t>(pair.first)]},
                          {"predicted", labels[static_cast<std::size_t>(pair.second)]}, {"count", count}});
      if (!args.has("json"))
        std::printf("  %s -> %s: %d\n", labels[static_cast<std::size_t>(pair.first)].c_str(),
                    labels[static_cast<std::size_t>(pair.second)].c_str(), count);
    }
    out["errors"] = list;
    out["confused_pairs"] = confused;
  }

  if (args.has("calibrate") || args.has("tune-threshold")) {
    const TrainedRun::Detailed v = run->evaluateDetailed("validation");
    if (args.has("calibrate")) {
      const double t = fitTemperature(logOf(v.probabilities), v.truth);
      const auto scaled = softmaxWithTemperature(logOf(d.probabilities), t);
      const json c = {{"temperature", t},
                      {"nll_before", negativeLogLikelihood(d.probabilities, d.truth)},
                      {"nll_after", negativeLogLikelihood(scaled, d.truth)},
                      {"ece_before", ece(d.probabilities, d.truth)},
                      {"ece_after", ece(scaled, d.truth)}};
      out["calibration"] = c;
      if (!args.has("json"))
        std::printf("\ntemperature %.3f (fitted on validation): NLL %.4f -> %.4f, ECE %.4f -> %.4f on %s\n", t,
                    c["nll_before"].get<double>(), c["nll_after"].get<double>(), c["ece_before"].get<double>(),
                    c["ece_after"].get<double>(), split.c_str());
    }
    if (args.has("tune-threshold")) {
      if (labels.size() != 2)
        throw Error("--tune-threshold needs a binary task (this run has " + std::to_string(labels.size()) + " labels)");
      int positive = 1;
      if (args.value("positive")) {
        const auto it = std::find(labels.begin(), labels.end(), *args.value("positive"));
        if (it == labels.end())
          throw Error("--positive: no label \"" + *args.value("positive") + "\"");
        positive = static_cast<int>(it - labels.begin());
      }
      std::vector<double> p;
      std::vector<bool> isPositive;
      for (std::size_t i = 0; i < v.rows.size(); ++i) {
        p.push_back(v.probabilities[i][static_cast<std::size_t>(positive)]);
        isPositive.push_back(v.truth[i] == positive);
      }
      const double threshold = tuneThreshold(p, isPositive);
      const auto tuned = classificationSummary(d.truth, d.probabilities, labels, threshold, positive);
      out["threshold"] = {{"positive", labels[static_cast<std::size_t>(positive)]}, {"threshold", threshold}, {"metrics", tuned}};
      if (!args.has("json")) {
        std::printf("\nthreshold for \"%s\" tuned on validation: %.4f\n", labels[static_cast<std::size_t>(positive)].c_str(),
                    threshold);
        printMetrics((split + " with it").c_str(), tuned);
      }
    }
  }
  if (args.has("json"))
    std::cout << out.dump() << '\n';
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

int runEnsemble(const std::vector<std::string> &argv)
{
  Args args(argv, {{"split", true, "validation or test (default test)"}, {"json", false, "one JSON line"}});
  if (args.positionals().size() < 2)
    throw Error("ensemble needs two or more run folders of the same task and data");
  const std::string split = args.value("split").value_or("test");
  std::vector<std::vector<double>> sum;
  std::vector<int> truth, rows;
  std::vector<std::string> labels;
  json members = json::array();
  for (const std::string &dir : args.positionals()) {
    auto run = TrainedRun::open(dir);
    if (run->config().task.kind != "single_label")
      throw Error(dir + ": ensembles average class probabilities of single-label classification runs");
    const TrainedRun::Detailed d = run->evaluateDetailed(split);
    if (labels.empty()) {
      labels = run->labels();
      rows = d.rows;
      truth = d.truth;
      sum.assign(d.probabilities.size(), std::vector<double>(labels.size(), 0.0));
    } else if (run->labels() != labels || d.rows != rows) {
      throw Error(dir + ": its labels or its " + split + " split differ from " + args.positionals().front() +
                  " (ensemble runs of the same data, split and seed)");
    }
    for (std::size_t i = 0; i < d.probabilities.size(); ++i)
      for (std::size_t k = 0; k < labels.size(); ++k)
        sum[i][k] += d.probabilities[i][k] / static_cast<double>(args.positionals().size());
    members.push_back({{"run", dir}, {"metrics", d.event.metrics}});
    if (!args.has("json"))
      printMetrics(dir.c_str(), d.event.metrics);
  }
  const auto metrics = classificationSummary(truth, sum, labels);
  if (args.has("json"))
    std::cout << json{{"split", split}, {"members", members}, {"ensemble", metrics}}.dump() << '\n';
  else
    printMetrics("ensemble (mean probabilities)", metrics);
  return ExitOk;
}

int runPredict(const std::vector<std::string> &argv)
{
  Args args(argv, {{"text", true, "one text to classify"}, {"file", true, "a file with one text per line"},
                   {"json", false, "one JSON object per text"}});
  if (args.positionals().size() != 1)
    throw Error("predict needs one run folder");
  std::vector<std::string> texts;
  if (args.value("text"))
    texts.push_back(*args.value("text"));
  if (args.value("file")) {
    std::ifstream in(*args.value("file"));
    if (!in)
      throw Error(*args.value("file") + ": cannot be read");
    for (std::string line; std::getline(in, line);)
      texts.push_back(line);
  }
  if (texts.empty())
    for (std::string line; std::getline(std::cin, line);)
      texts.push_back(line);
  auto run = TrainedRun::open(args.positionals().front());
  for (const TrainedRun::Prediction &p : run->predict(texts)) {
    if (args.has("json")) {
      json probs = json::object();
      for (std::size_t k = 0; k < p.probabilities.size(); ++k)
        probs[run->labels()[k]] = p.probabilities[k];
      std::cout << json{{"text", p.text}, {"labels", p.labels}, {"probabilities", probs}}.dump() << '\n';
    } else {
      std::string labels;
      for (const std::string &l : p.labels)
        labels += (labels.empty() ? "" : " ") + l;
      double top = 0;
      for (double v : p.probabilities)
        top = std::max(top, v);
      if (run->config().isLanguageModelling() && !run->config().isDenoising())
        std::printf("%s\n", p.labels.empty() ? "" : p.labels.front().c_str());
      else if (p.probabilities.empty())
        std::printf("%s\n", labels.c_str());
      else
        std::printf("%s\t%.3f\t%s\n", labels.c_str(), top, p.text.c_str());
    }
  }
  return ExitOk;
}

} // namespace tunebench::cli
