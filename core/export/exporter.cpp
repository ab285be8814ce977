#include "core/export/exporter.h"

#include "core/eval/decision.h"
#include "core/export/exportfiles.h"
#include "core/export/onnxexport.h"
#include "core/export/peftexport.h"
#include "core/models/checkpoint.h"
#include "core/models/hflayout.h"
#include "core/models/modelconfig.h"
#include "core/models/safetensors.h"
#include "core/models/uselite.h"
#include "core/strategies/peft.h"
#include "core/tokenize/tokenizer.h"
#include "core/train/batches.h"
#include "core/train/builtmodel.h"
#include "core/train/modelcard.h"
#include "core/train/trainedrun.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<std::pair<ExportFormat, std::string>> kFormats = {{ExportFormat::HuggingFace, "hf"},
                                                                    {ExportFormat::Merged, "merged"},
                                                                    {ExportFormat::Peft, "peft"},
                                                                    {ExportFormat::Tunebench, "tunebench"},
                                                                    {ExportFormat::Onnx, "onnx"}};

// hf and merged: a Hugging Face folder. Returns what the card and verification.json say of it.
json writeHuggingFace(TrainedRun &run, const fs::path &dir, bool mergedOnly)
{
  BuiltModel &built = run.model();
  Strategy &strategy = *built.strategy;
  const bool merge = strategy.canMerge();
  if (mergedOnly && !merge)
    throw Error("nothing to merge: the run's strategy is " + strategy.name() +
                " (LoRA and IA3 merge into the weights; export --format hf for this run)");
  if (!merge && hasStrategyTensors(built))
    throw Error(
        "a " + strategy.name() + " run has no Hugging Face folder: its " + strategy.name() +
        " parameters are not part of any Hugging Face class (export --format " +
        (strategy.name() == "adapters" ? std::string("tunebench") : std::string("peft or tunebench")) + ")");
  const MergeScope scope(built);
  const ExperimentConfig &config = run.config();
  json info = {{"merged", merge ? json(strategy.name()) : json(nullptr)}};
  TensorMap tensors;
  json hfConfig;
  if (built.task) {
    const std::string family = built.task->backbone().family();
    const HfLayout layout = hfLayoutFor(family, built.task->headSpecs());
    tensors = layout.toFolder(stateDict(*built.task));
    hfConfig = layout.config(baseModelConfig(built, config), run.labels());
    if (family == "gpt2")
      hfConfig["pad_token_id"] = std::max(0, run.tokenizer().specialTokens().pad);
    info["architecture"] = layout.architecture;
    info["layout"] = layout.reference ? "Hugging Face (" + layout.architecture + ")"
                                      : hfConfig.value("tunebench_layout", std::string());
  } else {
    for (auto &[name, t] : stateDict(*built.model))
      if (!isStrategyTensor(name))
        tensors.emplace(name, t);
    hfConfig = json::parse(built.configJson);
    info["architecture"] = hfConfig["architectures"][0];
    info["layout"] = "Hugging Face (" + hfConfig["architectures"][0].get<std::string>() + ")";
  }
  fs::create_directories(dir);
  writeSafetensors(dir / "model.safetensors", tensors);
  writeJsonFile(dir / "config.json", hfConfig);
  copyTokenizerFiles(config.resolve(config.model.path), dir);
  writeJsonFile(dir / "labels.json", run.labels());
  ExperimentConfig saved = config;
  saved.strategy.name = "full"; // the weights hold the update now
  saved.strategy.adapter.clear();
  writeRunConfig(saved, dir, ".");
  return info;
}

// tunebench's own layout: every tensor under tunebench's names, the strategy as it trained.
json writeTunebench(TrainedRun &run, const fs::path &dir)
{
  const ExperimentConfig &config = run.config();
  fs::create_directories(dir);
  writeSafetensors(dir / "model.safetensors", stateDict(*run.model().model));
  writeJsonFile(dir / "labels.json", run.labels());
  copyTokenizerFiles(config.resolve(config.model.path), dir);
  writeRunConfig(config, dir, config.resolve(config.model.path).string());
  return {{"layout", "tunebench's own tensor names (model.safetensors), the strategy's tensors as trained; "
                     "tunebench.yaml names the base model"},
          {"architecture", nullptr}};
}

torch::Tensor outputsOf(BuiltModel &built, const Batch &batch)
{
  built.model->eval();
  torch::NoGradGuard noGrad;
  return built.forward(batch).to(torch::kFloat32);
}

// Where predictions are compared: a sequence head's rows, a tagger's or language model's real
// positions (labelled ones where labels exist), a masked LM's selected positions.
torch::Tensor comparedPositions(const torch::Tensor &logits, const Batch &b)
{
  if (logits.dim() <= 2)
    return torch::ones({logits.size(0)}, torch::kBool);
  const torch::Tensor &mask =
      b.decoderMask.defined() && b.decoderMask.size(1) == logits.size(1) ? b.decoderMask : b.mask;
  if (mask.defined() && mask.size(1) == logits.size(1))
    return mask.ne(0);
  return torch::ones({logits.size(0), logits.size(1)}, torch::kBool);
}

double accuracyOf(const torch::Tensor &logits, const Batch &b, const std::string &task)
{
  if (task == "single_label" && b.labels.defined() && b.labels.dim() == 1 && logits.dim() == 2)
    return logits.argmax(-1).eq(b.labels).to(torch::kFloat64).mean().item<double>();
  if (task == "token_tagging" && logits.dim() == 3 && b.labels.defined() &&
      b.labels.sizes() == logits.sizes().slice(0, 2)) {
    const torch::Tensor valid = b.labels.ne(-100);
    const double n = valid.sum().item<double>();
    return n ? (logits.argmax(-1).eq(b.labels) & valid).sum().item<double>() / n : std::nan("");
  }
  return std::nan("");
}

json verify(TrainedRun &run, const fs::path &dir, const ExportOptions &options, ExportFormat format)
{
  const bool int8 = options.int8;
  std::vector<Batch> batches = run.sampleBatches("validation", options.verifyRows, 16);
  const bool onnx = format == ExportFormat::Onnx;
  std::vector<torch::Tensor> fromOnnx;
  std::unique_ptr<TrainedRun> exported;
  if (onnx)
    fromOnnx = runOnnxRuntime(dir / "model.onnx", batches);
  else
    exported = TrainedRun::open(dir);
  double maxDiff = 0, maxLogit = 0, lossRun = 0, lossExport = 0, accRun = 0, accExport = 0;
  long agree = 0, compared = 0, rows = 0;
  int accuracyBatches = 0;
  const std::string &task = run.config().task.kind;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const Batch &b = batches[i];
    const torch::Tensor a = outputsOf(run.model(), b),
                        e = onnx ? fromOnnx[i] : outputsOf(exported->model(), b);
    if (a.sizes() != e.sizes())
      throw Error(
          "the export's outputs have another shape than the run's: the folder does not hold the same model");
    maxDiff = std::max(maxDiff, (a - e).abs().max().item<double>());
    maxLogit = std::max(maxLogit, a.abs().max().item<double>());
    if (task != "multi_label") { // (multi-label: one decision per label, not an argmax)
      const torch::Tensor where = comparedPositions(a, b);
      agree += (a.argmax(-1).eq(e.argmax(-1)) & where).sum().item<long>();
      compared += where.sum().item<long>();
    }
    const double w = static_cast<double>(b.rows.size());
    lossRun += w * lossOf(a, b, task, 0).item<double>();
    lossExport += w * lossOf(e, b, task, 0).item<double>();
    if (const double ar = accuracyOf(a, b, task); !std::isnan(ar)) {
      accRun += ar;
      accExport += accuracyOf(e, b, task);
      ++accuracyBatches;
    }
    rows += static_cast<long>(b.rows.size());
  }
  // fp32 throughout: a folder that holds the same weights gives the same logits; merged LoRA/IA3
  // weights differ by rounding only.
  // onnxruntime computes the same with its own kernels, in another order: 1e-4.
  const double tolerance = (onnx ? 1e-4 : 1e-5) * std::max(1.0, maxLogit) *
                           (!onnx && run.model().strategy->canMerge() ? 10.0 : 1.0);
  json v = {
      {"format", exportFormatName(format)},
      {"engine", onnx ? "onnxruntime 1.30.0 (onnxruntime-node, CPU)"
                      : "tunebench (the exported folder loaded again, fp32)"},
      {"rows", rows},
      {"split", "validation"},
      {"max_abs_logit_difference", maxDiff},
      {"tolerance", tolerance},
      {"label_agreement",
       compared ? json(static_cast<double>(agree) / static_cast<double>(compared)) : json(nullptr)},
      {"loss_run", rows ? lossRun / static_cast<double>(rows) : 0.0},
      {"loss_export", rows ? lossExport / static_cast<double>(rows) : 0.0},
      {"passed", int8 ? compared > 0 && static_cast<double>(agree) >= 0.95 * static_cast<double>(compared)
                      : maxDiff <= tolerance}};
  if (int8)
    v["criterion"] =
        "int8: predicted labels agree with the fp32 run's on at least 95% of the rows (positions)";
  if (accuracyBatches) {
    v["accuracy_run"] = accRun / accuracyBatches;
    v["accuracy_export"] = accExport / accuracyBatches;
  }
  return v;
}

// Moves the verified folder into place; what was at `folder` goes only once the new one is there.
void moveIntoPlace(const fs::path &staged, const fs::path &folder)
{
  std::error_code ec;
  fs::path old;
  if (fs::exists(folder, ec)) {
    old = folder.string() + ".old-" + std::to_string(::getpid());
    fs::rename(folder, old, ec);
    if (ec)
      throw Error(folder.string() + ": cannot replace the folder: " + ec.message());
  }
  fs::rename(staged, folder, ec);
  if (ec) {
    if (!old.empty())
      fs::rename(old, folder);
    throw Error(folder.string() + ": cannot write the export: " + ec.message());
  }
  if (!old.empty())
    fs::remove_all(old, ec);
}

} // namespace

ExportFormat parseExportFormat(const std::string &name)
{
  for (const auto &[format, n] : kFormats)
    if (n == name)
      return format;
  throw Error("unknown export format \"" + name + "\" (hf, merged, peft, tunebench or onnx)");
}

std::string exportUnavailable(ExportFormat format, const ExperimentConfig &c)
{
  const std::string &s = c.strategy.name;
  const bool mergeable = s == "lora" || s == "ia3";
  switch (format) {
  case ExportFormat::HuggingFace:
    return mergeable || (!hasPeftLayout(s) && s != "adapters")
               ? std::string()
               : "a " + s + " run's parameters are part of no Hugging Face class";
  case ExportFormat::Merged:
    return mergeable ? std::string() : "nothing to merge: the strategy is " + s;
  case ExportFormat::Peft:
    if (!hasPeftLayout(s))
      return "PEFT has no layout for the " + s + " strategy";
    return c.model.init == "random" ? "the base model was initialised at random: no other tool can rebuild it"
                                    : std::string();
  case ExportFormat::Tunebench:
    return {};
  case ExportFormat::Onnx:
    break;
  }
  if (!mergeable && s != "full" && s != "partial" && s != "bitfit" && s != "linear_probe")
    return "a " + s + " run's parameters are not part of the weights";
  if (c.isMultiTask() || c.isEncoderDecoder() || c.isDenoising())
    return "ONNX export covers classifiers, taggers and GPT-2 language models of one task";
  const fs::path config = c.resolve(c.model.path) / "config.json";
  try {
    if (fileExists(config) && readModelType(config) == "t5")
      return "T5 is not among the ONNX export's families";
  } catch (const Error &) { // an unreadable config.json: the export itself says what is wrong
  }
  return {};
}

std::string exportFormatName(ExportFormat format)
{
  for (const auto &[f, n] : kFormats)
    if (f == format)
      return n;
  return "?";
}

ExportOutcome exportRun(TrainedRun &run, const fs::path &folder, const ExportOptions &options,
                        const std::function<void(const std::string &)> &progress)
{
  const auto say = [&](const std::string &what) {
    if (progress)
      progress(what);
  };
  if (options.int8 && options.format != ExportFormat::Onnx)
    throw Error("int8 applies to the ONNX export (--format onnx); tunebench's own int8 inference is "
                "eval/predict --int8");
  if (run.isExport())
    throw Error(run.folder().string() + ": an exported folder; export its run instead");
  const fs::path target = fs::absolute(folder).lexically_normal();
  fs::create_directories(target.parent_path());
  const fs::path staged = target.string() + ".partial";
  std::error_code ec;
  fs::remove_all(staged, ec);
  struct Cleanup
  {
    fs::path path;
    ~Cleanup()
    {
      std::error_code e;
      if (!path.empty())
        fs::remove_all(path, e);
    }
  } cleanup{staged};
  say("writing the " + exportFormatName(options.format) + " folder");
  json info;
  switch (options.format) {
  case ExportFormat::HuggingFace:
    info = writeHuggingFace(run, staged, false);
    break;
  case ExportFormat::Merged:
    info = writeHuggingFace(run, staged, true);
    break;
  case ExportFormat::Peft:
    info = writePeftFolder(run, staged);
    break;
  case ExportFormat::Tunebench:
    info = writeTunebench(run, staged);
    break;
  case ExportFormat::Onnx:
    info = writeOnnxFolder(run, staged, options.int8);
    break;
  }
  if (options.rule)
    saveDecisionRule(staged, *options.rule, run.labels());
  say("verifying the export on the validation rows");
  json verification = verify(run, staged, options, options.format);
  verification["export"] = info;
  if (!verification["passed"].get<bool>() && options.int8)
    throw Error("the int8 export failed its check: predicted labels agree with the run's on " +
                std::to_string(verification["label_agreement"].is_number()
                                   ? verification["label_agreement"].get<double>()
                                   : 0.0) +
                " of " + std::to_string(verification["rows"].get<long>()) +
                " validation rows (at least 0.95 needed; nothing was written to " + target.string() + ")");
  if (!verification["passed"].get<bool>())
    throw Error("the export failed its check: max |logit difference| " +
                std::to_string(verification["max_abs_logit_difference"].get<double>()) + " > tolerance " +
                std::to_string(verification["tolerance"].get<double>()) + " on " +
                std::to_string(verification["rows"].get<long>()) +
                " validation rows (nothing was written to " + target.string() + ")");
  writeJsonFile(staged / "verification.json", verification);
  writeModelCard(run.folder(), run.config(), run.labels(), staged, verification);
  moveIntoPlace(staged, target);
  cleanup.path.clear();
  say("written and verified: " + target.string());
  return {target, verification};
}

} // namespace tunebench
