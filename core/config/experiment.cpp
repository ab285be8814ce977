#include "core/config/experiment.h"

#include "core/config/schema.h"
#include "core/runtime/paths.h"
#include "core/util/error.h"
#include "core/util/files.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace tunebench {
namespace fs = std::filesystem;

namespace {

using Config = ExperimentConfig;
using namespace config_schema;

struct Parser
{
  Config config;
  std::vector<ConfigProblem> problems;
  std::map<std::string, YAML::Mark> marks;

  void problem(const YAML::Mark &mark, const std::string &field, const std::string &message)
  {
    problems.push_back({mark.is_null() ? 0 : mark.line + 1, mark.is_null() ? 0 : mark.column + 1, field, message});
  }

  void walk(const YAML::Node &node, const std::string &section)
  {
    if (!node.IsMap()) {
      problem(node.Mark(), section.empty() ? "(top level)" : section, "expected a map of settings");
      return;
    }
    std::set<std::string> seen;
    for (const auto &kv : node) {
      const std::string key = kv.first.Scalar();
      const std::string path = section.empty() ? key : section + "." + key;
      if (!seen.insert(key).second) { // YAML forbids it; yaml-cpp would keep one of them silently
        problem(kv.first.Mark(), path, "appears twice in the same map (remove one)");
        continue;
      }
      marks[path] = kv.second.Mark().is_null() ? kv.first.Mark() : kv.second.Mark();
      if (const Field *f = findField(path)) {
        if (std::string err = f->read(kv.second, config); !err.empty())
          problem(marks[path], path, err);
      } else if (isSection(path)) {
        walk(kv.second, path);
      } else {
        const std::string near = closestMatch(key, childNames(section));
        problem(kv.first.Mark(), path,
                "unknown key" + (near.empty() ? std::string() : " (did you mean \"" + near + "\"?)"));
      }
    }
  }

  YAML::Mark markOf(const std::string &path) const
  {
    const auto it = marks.find(path);
    return it == marks.end() ? YAML::Mark::null_mark() : it->second;
  }

  void check(bool ok, const std::string &path, const std::string &message)
  {
    if (!ok)
      problem(markOf(path), path, message);
  }

  void crossCheck()
  {
    const Config &c = config;
    check(!c.model.path.empty(), "model.path", "is required (a model folder)");
    check(!c.data.path.empty(), "data.path", "is required (a data file)");
    std::error_code ec;
    if (!c.model.path.empty())
      check(fs::is_directory(c.resolve(c.model.path), ec), "model.path",
            "no such folder: " + c.resolve(c.model.path).string());
    if (!c.data.path.empty())
      check(fs::exists(c.resolve(c.data.path), ec), "data.path", "no such file: " + c.resolve(c.data.path).string());
    if (!c.strategy.adapter.empty())
      check(fs::exists(c.resolve(c.strategy.adapter) / "adapter_config.json", ec), "strategy.adapter",
            "no adapter_config.json in " + c.resolve(c.strategy.adapter).string() +
                " (a PEFT adapter folder)");
    if (c.data.folds > 0) {
      check(c.data.folds >= 2, "data.split.folds", "k-fold needs at least 2 folds");
      check(c.data.fold < c.data.folds, "data.split.fold",
            "must be below data.split.folds (" + std::to_string(c.data.folds) + ")");
    }
    const double sum = c.data.train + c.data.validation + c.data.test;
    check(std::abs(sum - 1.0) < 1e-6, "data.split.train",
          "train + validation + test must add up to 1 (they add up to " + fmt(sum) + ")");
    check(c.data.validation > 0, "data.split.validation", "must be above 0 (evaluation and early stopping need it)");
    if (c.task.kind != "token_tagging" || c.data.tagScheme == "plain")
      check(c.evaluation.metric != "entity_f1", "evaluation.metric",
            "entity_f1 needs task.kind token_tagging with an entity tag scheme (not plain)");
    if (c.isLanguageModelling())
      for (const char *m : {"accuracy", "macro_f1", "micro_f1", "weighted_f1", "entity_f1"})
        check(c.evaluation.metric != m, "evaluation.metric",
              std::string(m) + " does not apply to language modelling (loss or perplexity do)");
    check(c.data.paraphrase.perRow == 1 || c.data.paraphrase.sampling, "data.augmentation.paraphrase.per_row",
          "more than one paraphrase per row needs data.augmentation.paraphrase.sampling: true (greedy "
          "decoding gives "
          "the same paraphrase every time)");
    check(c.data.paraphrase.backModel.empty() || !c.data.paraphrase.model.empty(),
          "data.augmentation.paraphrase.back_model",
          "needs data.augmentation.paraphrase.model (the first leg)");
    check(c.forgetting.previousRun.empty() || (!c.isLanguageModelling() && !c.isMultiTask()),
          "forgetting.previous_run", "needs a single classification or tagging task");
    check(c.forgetting.rehearsal == 0 || !c.forgetting.reference.empty(), "forgetting.rehearsal",
          "rehearsal needs forgetting.reference (the text it rehearses)");
    for (const char *m : {"rouge_l", "exact_match", "bleu"})
      check(c.evaluation.metric != m || (c.answersPrompts() && c.evaluation.generate > 0),
            "evaluation.metric",
            std::string(m) + " scores generated answers: it needs task.kind instruction or seq2seq and "
                             "evaluation.generate above 0");
    if (c.model.init == "random" && c.isLanguageModelling())
      check(c.model.scratchHidden % c.model.scratchHeads == 0, "model.scratch.hidden",
            "must be a multiple of model.scratch.heads");
    check(c.evaluation.mode == "auto" || c.evaluation.metric != "auto", "evaluation.mode",
          "set evaluation.metric when you set the mode");
    check(!(c.training.precision == "fp16" && c.training.device == "cpu"), "training.precision",
          "fp16 needs a CUDA device (use bf16 on the CPU)");
    if (c.isMultiTask())
      check(!c.isLanguageModelling(), "multitask.tasks",
            "multi-task learning shares an encoder between classification and tagging tasks (not " + c.task.kind + ")");
    if (!c.isMultiTask())
      check(c.evaluation.metric != "multitask_score", "evaluation.metric", "multitask_score needs multitask.tasks");
    if (c.strategy.name == "partial")
      for (int layer : c.strategy.freezeLayers)
        check(layer >= 0, "strategy.freeze_layers", "layer indices start at 0 (got " + std::to_string(layer) + ")");
  }
};

int editDistance(const std::string &a, const std::string &b)
{
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    prev[j] = static_cast<int>(j);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Sets root[dotted.path] = value, creating maps on the way.
void setDotted(YAML::Node &root, const std::string &path, const YAML::Node &value)
{
  std::vector<std::string> parts;
  std::stringstream in(path);
  for (std::string p; std::getline(in, p, '.');)
    parts.push_back(p);
  YAML::Node cur = root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = cur[parts[i]];
    if (!next.IsMap()) {
      next = YAML::Node(YAML::NodeType::Map);
      cur[parts[i]] = next;
    }
    cur.reset(next);
  }
  cur[parts.back()] = value;
}

} // namespace

fs::path ExperimentConfig::resolve(const std::string &path) const
{
  // $ASSETS/... and $WORKSPACE/... name the fetched assets and the workspace wherever they are.
  for (const auto &[prefix, dir] : {std::pair<std::string, fs::path (*)()>{"$ASSETS", &assetsDir},
                                    {"$WORKSPACE", &defaultWorkspaceDir}})
    if (path == prefix || path.rfind(prefix + "/", 0) == 0)
      return (dir() / path.substr(std::min(path.size(), prefix.size() + 1))).lexically_normal();
  const fs::path p(path);
  return p.is_absolute() || baseDir.empty() ? p : (baseDir / p).lexically_normal();
}

ExperimentConfig ExperimentConfig::withAbsolutePaths() const
{
  ExperimentConfig c = *this;
  const auto absolute = [this](std::string &p) {
    if (!p.empty())
      p = resolve(p).string();
  };
  absolute(c.model.path);
  absolute(c.data.path);
  absolute(c.data.paraphrase.model);
  absolute(c.data.paraphrase.backModel);
  absolute(c.strategy.adapter);
  absolute(c.forgetting.reference);
  absolute(c.forgetting.previousRun);
  absolute(c.output.runs);
  for (AuxiliaryTask &t : c.multitask.tasks)
    absolute(t.path);
  return c;
}

ExperimentConfig ExperimentConfig::auxiliaryConfig(const AuxiliaryTask &t) const
{
  ExperimentConfig c = *this;
  c.name = t.name;
  c.multitask = {};
  c.task.kind = t.kind;
  c.data.path = t.path;
  c.data.columns = t.columns;
  c.data.tagScheme = t.tagScheme;
  c.data.subsetRows = t.subsetRows;
  c.data.subsetFraction = 1.0;
  c.data.folds = 0;
  c.data.stratified = data.stratified && t.kind == "single_label";
  c.evaluation.metric = "auto";
  c.evaluation.mode = "auto";
  return c;
}

std::string ExperimentConfig::selectionMetric() const
{
  if (evaluation.metric != "auto")
    return evaluation.metric;
  if (isMultiTask())
    return "multitask_score";
  if (isLanguageModelling())
    return "loss";
  if (task.kind == "token_tagging")
    return data.tagScheme == "plain" ? "accuracy" : "entity_f1";
  return "macro_f1";
}

bool ExperimentConfig::higherIsBetter() const
{
  if (evaluation.mode != "auto")
    return evaluation.mode == "max";
  return selectionMetric() != "loss" && selectionMetric() != "perplexity";
}

std::string ExperimentConfig::toYaml() const
{
  YAML::Node root(YAML::NodeType::Map);
  for (const Field &f : schema())
    setDotted(root, f.path, f.write(*this));
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

std::string ConfigProblem::str(const std::string &file) const
{
  std::string where = file;
  if (line > 0)
    where += ":" + std::to_string(line) + ":" + std::to_string(column);
  return where + ": " + field + ": " + message;
}

std::string withOverride(const std::string &yaml, const std::string &dottedKey, const std::string &value)
{
  YAML::Node root = YAML::Load(yaml);
  if (!root.IsMap())
    root = YAML::Node(YAML::NodeType::Map);
  setDotted(root, dottedKey, YAML::Load(value));
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

std::string closestMatch(const std::string &word, const std::vector<std::string> &candidates)
{
  std::string best;
  int bestDistance = 1 << 30;
  for (const std::string &c : candidates) {
    const int d = editDistance(word, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  const int limit = std::max(2, static_cast<int>(word.size()) / 3);
  return bestDistance <= limit ? best : std::string();
}

ConfigResult parseExperimentConfig(const std::string &yaml, const fs::path &baseDir,
                                   const std::vector<std::string> &overrides)
{
  Parser parser;
  parser.config.baseDir = baseDir;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException &e) {
    parser.problem(e.mark, "(syntax)", e.msg);
    return {parser.config, parser.problems};
  }
  if (root.IsNull()) {
    if (overrides.empty())
      parser.problem(YAML::Mark::null_mark(), "(top level)", "the file holds no settings (it is empty)");
    root = YAML::Node(YAML::NodeType::Map);
  }
  for (const std::string &o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0) {
      parser.problem(YAML::Mark::null_mark(), o, "an override is key.path=value");
      continue;
    }
    const std::string key = o.substr(0, eq);
    if (!findField(key)) {
      std::vector<std::string> all;
      for (const Field &f : schema())
        all.push_back(f.path);
      const std::string near = closestMatch(key, all);
      parser.problem(YAML::Mark::null_mark(), key,
                     "unknown key" + (near.empty() ? std::string() : " (did you mean \"" + near + "\"?)"));
      continue;
    }
    try {
      setDotted(root, key, YAML::Load(o.substr(eq + 1)));
    } catch (const YAML::Exception &e) {
      parser.problem(YAML::Mark::null_mark(), key, std::string("bad value: ") + e.what());
    }
  }
  parser.walk(root, "");
  parser.crossCheck();
  return {parser.config, parser.problems};
}

ConfigResult loadExperimentConfig(const fs::path &file, const std::vector<std::string> &overrides)
{
  const std::string what = "an experiment file (YAML)";
  std::string problem = inputFileProblem(file, what), text;
  if (problem.empty()) {
    try {
      text = readInputFile(file, what);
    } catch (const Error &) {
      problem = "cannot be read (permission denied?)";
    }
  }
  if (!problem.empty()) {
    ConfigResult r;
    r.problems.push_back({0, 0, "(file)", problem});
    return r;
  }
  return parseExperimentConfig(text, fs::absolute(file).parent_path(), overrides);
}

} // namespace tunebench
