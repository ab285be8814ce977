#include "core/train/modelcard.h"

#include "core/eval/significance.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"
#include "core/util/sha256.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string number(const json &v)
{
  if (!v.is_number())
    return "-";
  std::ostringstream out;
  out.precision(4);
  out << std::fixed << v.get<double>();
  return out.str();
}

void metricsTable(std::ostringstream &out, const json &results)
{
  out << "| split | loss |";
  std::vector<std::string> names;
  if (results.contains("test") && results["test"].contains("metrics"))
    for (const auto &[k, v] : results["test"]["metrics"].items())
      if (k != "loss")
        names.push_back(k);
  for (const std::string &n : names)
    out << ' ' << n << " |";
  out << "\n|---|---|";
  for (std::size_t i = 0; i < names.size(); ++i)
    out << "---|";
  out << '\n';
  for (const char *split : {"validation", "test"}) {
    if (!results.contains(split) || !results[split].is_object())
      continue;
    const json &e = results[split];
    out << "| " << split << " | " << number(e.value("loss", json())) << " |";
    for (const std::string &n : names)
      out << ' ' << number(e.contains("metrics") ? e["metrics"].value(n, json()) : json()) << " |";
    out << '\n';
  }
}

} // namespace

namespace {

void exportSection(std::ostringstream &out, const json &v)
{
  if (!v.is_object())
    return;
  const json &info = v.value("export", json::object());
  out << "\n## Export\n\n- Format: " << v.value("format", std::string("?"))
      << "; layout: " << info.value("layout", std::string("?")) << "\n";
  if (info.contains("quantization") && info["quantization"].is_string())
    out << "- Quantised: " << info["quantization"].get<std::string>() << "; model file "
        << info.value("file_bytes", 0L) / 1000 << " kB, the fp32 weights "
        << info.value("fp32_weight_bytes", 0L) / 1000 << " kB\n";
  if (info.contains("merged") && info["merged"].is_string())
    out << "- The " << info["merged"].get<std::string>() << " update is merged into the weights\n";
  out << "- Verified on " << v.value("rows", 0L) << " " << v.value("split", std::string("validation"))
      << " rows by " << v.value("engine", std::string("?")) << ": max |logit difference| "
      << number(v.value("max_abs_logit_difference", json())) << " (tolerance "
      << number(v.value("tolerance", json())) << "), predicted labels agree on "
      << number(v.value("label_agreement", json())) << ", loss " << number(v.value("loss_export", json()))
      << " (run " << number(v.value("loss_run", json())) << ")";
  if (v.contains("accuracy_export"))
    out << ", accuracy " << number(v["accuracy_export"]) << " (run " << number(v["accuracy_run"]) << ")";
  out << "; " << (v.value("passed", false) ? "passed" : "FAILED") << "\n";
}

} // namespace

std::string modelCard(const ExperimentConfig &c, const json &results, const json &split,
                      const std::vector<std::string> &labels, const std::string &dataSha256,
                      const std::vector<std::string> &files, const json &verification)
{
  const auto rows = [&](const char *s) {
    return split.contains(s) ? std::to_string(split[s].size()) : std::string("0");
  };
  std::ostringstream out;
  out << "# " << c.name << "\n\nFine-tuned with tunebench " << TUNEBENCH_VERSION << " ("
      << results.value("status", "?") << ", " << results.value("steps", 0L) << " steps).\n\n## Model\n\n"
      << "- Base model: `" << c.model.path << "`"
      << (c.model.init == "random" ? " (initialised at random)" : "") << "\n"
      << "- Task: " << c.task.kind;
  if (!labels.empty()) {
    out << "; labels:";
    for (std::size_t i = 0; i < labels.size() && i < 50; ++i)
      out << (i ? ", " : " ") << labels[i];
    if (labels.size() > 50)
      out << " … (" << labels.size() << " in all)";
  }
  out << "\n- Strategy: " << c.strategy.name << "; trainable parameters "
      << results.value("trainable_parameters", 0L) << " of " << results.value("total_parameters", 0L)
      << "\n\n## Data\n\n"
      << "- File: `" << c.data.path << "` (SHA-256 " << dataSha256 << ")\n"
      << "- Rows: train " << rows("train") << ", validation " << rows("validation") << ", test "
      << rows("test");
  if (c.data.folds > 0)
    out << " (fold " << c.data.fold + 1 << " of " << c.data.folds << ")";
  else
    out << " (ratios " << c.data.train << " / " << c.data.validation << " / " << c.data.test
        << (c.data.stratified ? ", stratified" : "") << ")";
  out << ", seed " << c.seed << "\n\n## Training\n\n"
      << "- Epochs " << c.training.epochs << ", batch " << c.training.batchSize << " × accumulation "
      << c.training.gradientAccumulation << ", learning rate " << c.training.learningRate << ", optimizer "
      << c.training.optimizer << ", weight decay " << c.training.weightDecay << ", schedule "
      << c.training.scheduler << " (warm-up ratio " << c.training.warmupRatio << "), clipping "
      << c.training.maxGradNorm << ", label smoothing " << c.training.labelSmoothing << ", precision "
      << c.training.precision << "\n"
      << "- Best checkpoint: step " << results.value("best_step", -1L) << " by validation "
      << results.value("metric", std::string("?")) << "\n\n## Results (best checkpoint)\n\n";
  metricsTable(out, results);
  // The test accuracy's 95% interval over the test rows (Wilson score interval).
  if (results.contains("test") && results["test"].is_object() && results["test"].contains("metrics") &&
      results["test"]["metrics"].contains("accuracy") && results["test"]["metrics"]["accuracy"].is_number() &&
      split.contains("test") && !split["test"].empty() && !c.isLanguageModelling() &&
      c.task.kind != "token_tagging") {
    const auto n = static_cast<std::int64_t>(split["test"].size());
    const double accuracy = results["test"]["metrics"]["accuracy"].get<double>();
    const auto [low, high] = wilsonInterval(std::llround(accuracy * static_cast<double>(n)), n);
    out << "\nTest accuracy " << number(accuracy) << ", 95% interval " << number(low) << " – " << number(high)
        << " (Wilson score interval over " << n
        << " test rows: the spread a test split of this size allows)\n";
  }
  if (results.contains("majority_baseline") && results["majority_baseline"].is_number() &&
      results["majority_baseline"].get<double>() > 0)
    out << "\nMajority-class baseline (test accuracy): " << number(results["majority_baseline"]) << "\n";
  exportSection(out, verification);
  out << "\n## Files\n\n";
  for (const std::string &f : files)
    out << "- `" << f << "`\n";
  out << "\n## Intended use and limitations\n\n"
      << "The metrics above hold for text like the test split: the same source and the same split seed. "
      << "Measure on your own data before relying on the model. The model learned whatever biases the "
      << "training rows carry; it was not evaluated for fairness or robustness. tunebench's own tensor names "
      << "are used where the folder is not a Hugging Face layout (`tunebench.yaml` and `labels.json` "
         "describe "
      << "it).\n";
  return out.str();
}

void writeModelCard(const fs::path &runDir, const ExperimentConfig &config,
                    const std::vector<std::string> &labels, const fs::path &folder, const json &verification)
{
  const json results =
      fileExists(runDir / "results.json") ? readJsonFile(runDir / "results.json") : json::object();
  const json split = fileExists(runDir / "split.json") ? readJsonFile(runDir / "split.json") : json::object();
  const fs::path data = config.resolve(config.data.path);
  const std::string hash = fileExists(data) ? sha256File(data) : std::string("unknown (the file is gone)");
  std::vector<std::string> files;
  for (const fs::directory_entry &e : fs::directory_iterator(folder))
    if (e.is_regular_file() && e.path().filename() != "README.md")
      files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  files.push_back("README.md");
  writeFileAtomically(folder / "README.md",
                      modelCard(config, results, split, labels, hash, files, verification));
}

} // namespace tunebench
