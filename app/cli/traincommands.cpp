// `train`, `resume`, `eval`, `predict`: experiments from YAML, headless.
#include "cli/args.h"
#include "cli/commands.h"

#include "core/config/experiment.h"
#include "core/train/trainer.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <atomic>
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
    if (m_quiet)
      return;
    if (!m_tty && e.step % 50 != 0 && e.step != e.totalSteps)
      return;
    const double done = static_cast<double>(e.step) / static_cast<double>(std::max(1L, e.totalSteps));
    if (m_firstStep < 0) {
      m_firstStep = e.step - 1;
      m_firstElapsed = e.elapsedSeconds;
    }
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

int trainInto(const ExperimentConfig &config, const fs::path &runDir, bool jsonOut, bool quiet, bool sanity)
{
  Trainer trainer(config, runDir);
  ConsoleObserver console(config, quiet);
  trainer.setObserver(&console);
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
    return trainInto(config, runDir, jsonOut, quiet, false);
  }
  g_trainer = &trainer;
  std::signal(SIGINT, onSigint);
  std::signal(SIGTERM, onSigint);
  const RunResult r = trainer.run();
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
  for (int k = 0; k < folds; ++k) {
    ExperimentConfig c = base;
    c.data.fold = k;
    const fs::path dir = root / ("fold-" + std::to_string(k + 1));
    if (!args.has("quiet"))
      std::fprintf(stderr, "fold %d/%d: %s\n", k + 1, folds, dir.string().c_str());
    Trainer trainer(c, dir);
    ConsoleObserver console(c, true);
    trainer.setObserver(&console);
    g_trainer = &trainer;
    std::signal(SIGINT, onSigint);
    const RunResult r = trainer.run();
    g_trainer = nullptr;
    std::signal(SIGINT, SIG_DFL);
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
    double mean = 0, var = 0;
    for (double x : v)
      mean += x / static_cast<double>(v.size());
    for (double x : v)
      var += (x - mean) * (x - mean) / static_cast<double>(v.size() > 1 ? v.size() - 1 : 1);
    summary[name] = {{"mean", mean}, {"std", std::sqrt(var)}};
    if (!args.has("quiet"))
      std::fprintf(stderr, "%s: %.4f ± %.4f over %d folds\n", name.c_str(), mean, std::sqrt(var), folds);
  }
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

int runEval(const std::vector<std::string> &argv)
{
  Args args(argv, {{"split", true, "train, validation or test (default test)"}, {"json", false, "one JSON line"}});
  if (args.positionals().size() != 1)
    throw Error("eval needs one run folder");
  auto run = TrainedRun::open(args.positionals().front());
  const EvalEvent e = run->evaluate(args.value("split").value_or("test"));
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
      if (run->config().isLanguageModelling())
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
