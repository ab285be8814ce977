// `eval` (error analysis, calibration, threshold tuning, tag repair), `ensemble`, `predict`: what a
// trained run does on its splits and on new text.
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/evaljson.h"
#include "core/config/experiment.h"
#include "core/data/tagging.h"
#include "core/eval/analysis.h"
#include "core/eval/decision.h"
#include "core/eval/metrics.h"
#include "core/experiments/ensemble.h"
#include "core/train/trainedrun.h"
#include "core/train/trainer.h"
#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

namespace tunebench::cli {
namespace fs = std::filesystem;
using nlohmann::json;

json evalJson(const EvalEvent &e)
{
  return {{"split", e.split}, {"step", e.step}, {"loss", e.loss}, {"metrics", e.metrics}};
}

namespace {

void printMetrics(const char *title, const std::map<std::string, double> &metrics)
{
  std::printf("%s:", title);
  for (const auto &[k, v] : metrics)
    std::printf(" %s %.4f", k.c_str(), v);
  std::printf("\n");
}

// Tag repair for tagging runs: invalid transitions in the predictions, and entity F1 as predicted,
// after the rule repair (an orphan I- opens an entity, IOBES entities are closed) and after
// constrained Viterbi decoding over the tagger's own probabilities. The method with the better
// validation F1 is the one a user should apply; it is reported on the split.
int repairTagsReport(TrainedRun &run, const std::string &split, bool asJson)
{
  if (run.config().task.kind != "token_tagging")
    throw Error("--repair-tags applies to token_tagging runs");
  auto measure = [&](const TrainedRun::Detailed &d, TagScheme scheme) {
    const TagRepairScores s =
        scoreTagRepair(d.truthTags, d.predictedTags, d.tagLogProbs, run.labels(), scheme);
    return json{{"invalid_transitions", s.invalidTransitions},
                {"entity_f1", s.entityF1},
                {"entity_f1_rule", s.ruleF1},
                {"entity_f1_constrained", s.constrainedF1}};
  };
  const TrainedRun::Detailed d = run.evaluateDetailed(split);
  const std::string configured = run.config().data.tagScheme;
  const TagScheme scheme = configured.empty() ? detectTagScheme(d.truthTags) : parseTagScheme(configured).value_or(TagScheme::Plain);
  if (scheme == TagScheme::Plain)
    throw Error("--repair-tags needs entity tags (BIO/IOBES); this run's tags are plain (e.g. POS)");
  const json here = measure(d, scheme);
  const json validation = split == "validation" ? here : measure(run.evaluateDetailed("validation"), scheme);
  const bool constrained = validation["entity_f1_constrained"].get<double>() >= validation["entity_f1_rule"].get<double>();
  const json out = {{"split", split}, {"scheme", tagSchemeName(scheme)}, {"metrics", d.event.metrics},
                    {"repair", here}, {"validation", validation},
                    {"chosen", constrained ? "constrained" : "rule"},
                    {"entity_f1_repaired", here[constrained ? "entity_f1_constrained" : "entity_f1_rule"]}};
  if (asJson) {
    std::cout << out.dump() << '\n';
    return ExitOk;
  }
  printMetrics(split.c_str(), d.event.metrics);
  std::printf("\n%s tags; %ld invalid transitions in the predictions\n", tagSchemeName(scheme).c_str(),
              here["invalid_transitions"].get<long>());
  std::printf("entity F1 as predicted        %.4f\n", here["entity_f1"].get<double>());
  std::printf("  rule repair                 %.4f   (validation %.4f)\n", here["entity_f1_rule"].get<double>(),
              validation["entity_f1_rule"].get<double>());
  std::printf("  constrained decoding        %.4f   (validation %.4f)\n", here["entity_f1_constrained"].get<double>(),
              validation["entity_f1_constrained"].get<double>());
  std::printf("chosen on validation: %s\n", constrained ? "constrained decoding" : "rule repair");
  return ExitOk;
}

// --errors N: the most confident mistakes and the most-confused label pairs.
void errorsReport(const TrainedRun::Detailed &d, const std::vector<std::string> &labels, int n, bool jsonOut,
                  json &out)
{
  const ErrorAnalysis a = analyseErrors(d.truth, d.probabilities);
  json list = json::array();
  if (!jsonOut)
    std::printf("\n%zu mistakes of %zu; the most confident:\n", a.mistakes.size(), d.rows.size());
  for (std::size_t k = 0; k < a.mistakes.size() && static_cast<int>(k) < n; ++k) {
    const ClassMistake &m = a.mistakes[k];
    const std::string &truth = labels[static_cast<std::size_t>(m.truth)];
    const std::string &pred = labels[static_cast<std::size_t>(m.predicted)];
    list.push_back({{"row", d.rows[m.index]},
                    {"text", d.texts[m.index]},
                    {"label", truth},
                    {"predicted", pred},
                    {"confidence", m.confidence}});
    if (!jsonOut)
      std::printf("  %.3f  %s -> %s  %s\n", m.confidence, truth.c_str(), pred.c_str(),
                  d.texts[m.index].c_str());
  }
  json confused = json::array();
  if (!jsonOut)
    std::printf("most-confused pairs (true -> predicted):\n");
  for (std::size_t k = 0; k < a.confused.size() && k < 10; ++k) {
    const ConfusedPair &pair = a.confused[k];
    const std::string &truth = labels[static_cast<std::size_t>(pair.truth)];
    const std::string &pred = labels[static_cast<std::size_t>(pair.predicted)];
    confused.push_back({{"label", truth}, {"predicted", pred}, {"count", pair.count}});
    if (!jsonOut)
      std::printf("  %s -> %s: %d\n", truth.c_str(), pred.c_str(), pair.count);
  }
  out["errors"] = list;
  out["confused_pairs"] = confused;
}

// --calibrate: temperature scaling fitted on validation, NLL and ECE on the split before/after.
// Returns the temperature.
double calibrationReport(const TrainedRun::Detailed &v, const TrainedRun::Detailed &d,
                         const std::string &split, bool jsonOut, json &out)
{
  const CalibrationReport r = calibrateOn(v.probabilities, v.truth, d.probabilities, d.truth);
  out["calibration"] = {{"temperature", r.temperature},
                        {"nll_before", r.nllBefore},
                        {"nll_after", r.nllAfter},
                        {"ece_before", r.eceBefore},
                        {"ece_after", r.eceAfter}};
  if (!jsonOut)
    std::printf("\ntemperature %.3f (fitted on validation): NLL %.4f -> %.4f, ECE %.4f -> %.4f on %s\n",
                r.temperature, r.nllBefore, r.nllAfter, r.eceBefore, r.eceAfter, split.c_str());
  return r.temperature;
}

// --tune-threshold: the F1-best threshold of the positive label on validation (probabilities as
// given: tempered when a temperature was fitted too), applied to the split.
ThresholdReport thresholdReport(const TrainedRun::Detailed &v, const TrainedRun::Detailed &d,
                                const std::vector<std::string> &labels,
                                const std::optional<std::string> &positiveLabel, const std::string &split,
                                bool jsonOut, json &out)
{
  if (labels.size() != 2)
    throw Error("--tune-threshold needs a binary task (this run has " + std::to_string(labels.size()) +
                " labels)");
  int positive = 1;
  if (positiveLabel) {
    const auto it = std::find(labels.begin(), labels.end(), *positiveLabel);
    if (it == labels.end())
      throw UsageError("--positive: no label \"" + *positiveLabel + "\"");
    positive = static_cast<int>(it - labels.begin());
  }
  const ThresholdReport r =
      tuneThresholdOn(v.probabilities, v.truth, d.probabilities, d.truth, labels, positive);
  const std::string &name = labels[static_cast<std::size_t>(positive)];
  out["threshold"] = {{"positive", name}, {"threshold", r.threshold}, {"metrics", r.metrics}};
  if (!jsonOut) {
    std::printf("\nthreshold for \"%s\" tuned on validation: %.4f\n", name.c_str(), r.threshold);
    printMetrics((split + " with it").c_str(), r.metrics);
  }
  return r;
}

// --calibrated: the split's metrics with the run's saved decision rule applied.
int calibratedReport(TrainedRun &run, const std::filesystem::path &runDir, const std::string &split,
                     bool jsonOut)
{
  if (run.config().task.kind != "single_label")
    throw Error("--calibrated applies to single-label classification runs");
  const std::optional<DecisionRule> rule = requireDecisionRule(runDir, run.labels());
  const TrainedRun::Detailed d = run.evaluateDetailed(split);
  const auto metrics =
      classificationSummary(d.truth, applyTemperature(d.probabilities, rule->temperature), run.labels(),
                            rule->positive >= 0 ? rule->threshold : -1, std::max(rule->positive, 0));
  json decision = {{"temperature", rule->temperature}};
  if (rule->positive >= 0)
    decision["threshold"] = {{"positive", run.labels()[static_cast<std::size_t>(rule->positive)]},
                             {"value", rule->threshold}};
  if (jsonOut)
    std::cout << json{{"split", split}, {"metrics", metrics}, {"decision", decision}}.dump() << '\n';
  else
    printMetrics((split + " with the saved decision rule").c_str(), metrics);
  return ExitOk;
}

// The split's metrics, one line (or JSON).
int plainReport(TrainedRun &run, const std::string &split, bool jsonOut)
{
  const EvalEvent e = run.evaluate(split);
  if (jsonOut) {
    std::cout << evalJson(e).dump() << '\n';
    return ExitOk;
  }
  std::printf("%s: loss %.4f", e.split.c_str(), e.loss);
  for (const auto &[k, v] : e.metrics)
    if (k != "loss")
      std::printf(", %s %.4f", k.c_str(), v);
  std::printf("\n");
  return ExitOk;
}

// What --int8 quantised, on stderr (stdout stays the command's own output).
void reportInt8(const json &q)
{
  std::fprintf(stderr, "int8: %d linear maps (%s engine), their weights %.1f MB in fp32, %.1f MB in int8\n",
               q["maps"].get<int>(), q["engine"].get<std::string>().c_str(),
               q["fp32_bytes"].get<double>() / 1e6, q["int8_bytes"].get<double>() / 1e6);
}

} // namespace

int runEval(const std::vector<std::string> &argv)
{
  Args args(
      argv,
      {{"split", true, "train, validation or test (default test)"},
       {"json", false, "one JSON line"},
       {"errors", true, "list the N most confident mistakes and the most-confused label pairs"},
       {"calibrate", false, "fit temperature scaling on validation; NLL and ECE before/after"},
       {"tune-threshold", false, "binary tasks: the F1-best threshold on validation, applied to the split"},
       {"positive", true, "the positive label for --tune-threshold (default: the second label)"},
       {"repair-tags", false,
        "tagging: entity F1 with invalid tag sequences repaired by rule and by "
        "constrained decoding; the better on validation is applied to the split"},
       {"save", false, "with --calibrate/--tune-threshold: keep what was fitted in RUN/decision.json"},
       {"calibrated", false, "the split's metrics with the saved decision rule (RUN/decision.json)"},
       {"int8", false, "infer with int8 linear maps (dynamic quantisation; LoRA/IA3 merged first)"}});
  if (args.positionals().size() != 1)
    throw UsageError("eval needs one run folder");
  auto run = TrainedRun::open(args.positionals().front());
  if (args.has("int8"))
    reportInt8(run->useInt8());
  const std::string split = args.value("split").value_or("test");
  const bool jsonOut = args.has("json");
  if (args.has("repair-tags"))
    return repairTagsReport(*run, split, jsonOut);
  if (args.has("calibrated"))
    return calibratedReport(*run, args.positionals().front(), split, jsonOut);
  if (!args.has("errors") && !args.has("calibrate") && !args.has("tune-threshold"))
    return plainReport(*run, split, jsonOut);
  if (run->config().task.kind != "single_label")
    throw Error("--errors, --calibrate and --tune-threshold apply to single-label classification runs");
  const auto &labels = run->labels();
  const TrainedRun::Detailed d = run->evaluateDetailed(split);
  json out = {{"split", split}, {"metrics", d.event.metrics}};
  if (!jsonOut)
    printMetrics(split.c_str(), d.event.metrics);
  if (args.has("errors"))
    errorsReport(d, labels, args.intValue("errors").value_or(10), jsonOut, out);
  if (args.has("calibrate") || args.has("tune-threshold")) {
    TrainedRun::Detailed v = run->evaluateDetailed("validation");
    const std::filesystem::path runDir = args.positionals().front();
    DecisionRule rule = loadDecisionRule(runDir, labels).value_or(DecisionRule{});
    if (args.has("calibrate"))
      rule.temperature = calibrationReport(v, d, split, jsonOut, out);
    if (args.has("tune-threshold")) {
      TrainedRun::Detailed tempered = d; // the threshold applies after the temperature
      v.probabilities = applyTemperature(v.probabilities, rule.temperature);
      tempered.probabilities = applyTemperature(d.probabilities, rule.temperature);
      const ThresholdReport t =
          thresholdReport(v, tempered, labels, args.value("positive"), split, jsonOut, out);
      rule.positive = t.positive;
      rule.threshold = t.threshold;
    }
    if (args.has("save")) {
      saveDecisionRule(runDir, rule, labels);
      out["saved"] = (runDir / "decision.json").string();
      if (!jsonOut)
        std::printf("saved: %s\n", (runDir / "decision.json").c_str());
    }
  } else if (args.has("save")) {
    throw UsageError("--save keeps what --calibrate or --tune-threshold fits");
  }
  if (jsonOut)
    std::cout << out.dump() << '\n';
  return ExitOk;
}

int runEnsemble(const std::vector<std::string> &argv)
{
  Args args(argv, {{"split", true, "validation or test (default test)"}, {"json", false, "one JSON line"}});
  if (args.positionals().size() < 2)
    throw UsageError("ensemble needs two or more run folders of the same task and data");
  const std::vector<fs::path> runs(args.positionals().begin(), args.positionals().end());
  const EnsembleResult e = ensembleRuns(runs, args.value("split").value_or("test"));
  json members = json::array();
  for (const EnsembleMember &m : e.members) {
    members.push_back({{"run", m.run.string()}, {"metrics", m.metrics}});
    if (!args.has("json"))
      printMetrics(m.run.string().c_str(), m.metrics);
  }
  if (args.has("json"))
    std::cout << json{{"split", e.split}, {"members", members}, {"ensemble", e.metrics}}.dump() << '\n';
  else
    printMetrics("ensemble (mean probabilities)", e.metrics);
  return ExitOk;
}

namespace {

// predict --calibrated: the probabilities tempered and the label chosen by the saved rule.
void applySavedRule(TrainedRun &run, const std::filesystem::path &runDir,
                    std::vector<TrainedRun::Prediction> &predictions)
{
  if (run.config().task.kind != "single_label")
    throw Error("--calibrated applies to single-label classification runs");
  const std::optional<DecisionRule> rule = requireDecisionRule(runDir, run.labels());
  for (TrainedRun::Prediction &p : predictions) {
    p.probabilities = applyTemperature({p.probabilities}, rule->temperature).front();
    p.labels = {run.labels()[static_cast<std::size_t>(decide(*rule, p.probabilities))]};
  }
}

// A number in (low, high]; `range` says so in words.
double doubleOption(const Args &args, const std::string &name, double fallback, double low, double high,
                    const char *range)
{
  const std::optional<std::string> text = args.value(name);
  if (!text)
    return fallback;
  char *end = nullptr;
  const double v = std::strtod(text->c_str(), &end);
  if (text->empty() || *end != '\0' || !(v > low && v <= high))
    throw UsageError("--" + name + ": expected " + range + ", got \"" + *text + "\"");
  return v;
}

// --beam, --sample, --temperature, --top-p, --top-k, --max-new-tokens, --seed: how a language
// model's answer is generated (greedy when none is given).
TrainedRun::Decoding decodingOptions(const Args &args)
{
  TrainedRun::Decoding d;
  d.beams = args.intValue("beam").value_or(1);
  d.temperature = doubleOption(args, "temperature", 1.0, 0.0, 100.0, "a number above 0 and at most 100");
  d.topP = doubleOption(args, "top-p", 1.0, 0.0, 1.0, "a number above 0 and at most 1");
  d.topK = args.intValue("top-k", 0).value_or(0); // 0: off
  d.sample = args.has("sample") || args.has("temperature") || args.has("top-p") || args.has("top-k");
  d.maxNewTokens = args.intValue("max-new-tokens").value_or(0);
  d.seed = static_cast<std::uint64_t>(args.intValue("seed", 0).value_or(0));
  if (d.beams > 1 && d.sample)
    throw UsageError("--beam searches deterministically: it does not combine with sampling "
                     "(--sample, --temperature, --top-p, --top-k)");
  return d;
}

} // namespace

int runPredict(const std::vector<std::string> &argv)
{
  Args args(argv,
            {{"text", true, "one text to classify"},
             {"file", true, "a file with one text per line"},
             {"json", false, "one JSON object per text"},
             {"calibrated", false, "apply the run's saved decision rule (RUN/decision.json)"},
             {"beam", true, "language models: beam search with this many beams (default 1: greedy)"},
             {"sample", false, "language models: sample instead of taking the most likely token"},
             {"temperature", true, "language models: sampling temperature (implies --sample; default 1)"},
             {"top-p", true,
              "language models: nucleus sampling, the smallest set of tokens with this "
              "much probability (implies --sample)"},
             {"top-k", true, "language models: sample among the k most likely tokens (implies --sample)"},
             {"max-new-tokens", true,
              "language models: the longest answer (default: the run's "
              "evaluation.max_new_tokens)"},
             {"seed", true, "language models: the sampling seed (text i uses seed + i; default 0)"},
             {"int8", false, "infer with int8 linear maps (dynamic quantisation; LoRA/IA3 merged first)"}});
  if (args.positionals().size() != 1)
    throw UsageError("predict needs one run folder");
  const TrainedRun::Decoding decoding = decodingOptions(args);
  const bool generationAsked =
      args.has("beam") || decoding.sample || args.has("max-new-tokens") || args.has("seed");
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
  if (args.has("int8"))
    reportInt8(run->useInt8());
  if (generationAsked && (!run->config().isLanguageModelling() || run->config().isDenoising()))
    throw UsageError(
        "--beam, --sample, --temperature, --top-p, --top-k, --max-new-tokens and --seed apply to "
        "causal-LM and instruction runs; " +
        args.positionals().front() + " is a " + run->config().task.kind + " run");
  std::vector<TrainedRun::Prediction> predictions = run->predict(texts, decoding);
  if (args.has("calibrated"))
    applySavedRule(*run, args.positionals().front(), predictions);
  for (const TrainedRun::Prediction &p : predictions) {
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
