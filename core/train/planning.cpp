#include "core/train/planning.h"

#include "core/models/modelfolder.h"
#include "core/train/schedule.h"
#include "core/util/files.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

namespace tunebench {
namespace fs = std::filesystem;

namespace {

// Rows of a data file without parsing it: CoNLL sentences (blank-line separated), CSV/TSV lines
// after the header, other formats' non-empty lines.
long approximateRows(const fs::path &file)
{
  std::ifstream in(file);
  if (!in)
    return 0;
  const std::string ext = file.extension().string();
  const bool conll = ext == ".conll" || ext == ".conllu";
  long rows = 0;
  bool inSentence = false;
  for (std::string line; std::getline(in, line);) {
    const bool blank = line.find_first_not_of(" \t\r") == std::string::npos;
    if (conll) {
      if (!blank && !inSentence)
        ++rows;
      inSentence = !blank;
    } else if (!blank) {
      ++rows;
    }
  }
  if (ext == ".csv" || ext == ".tsv")
    rows = std::max(0L, rows - 1);
  return rows;
}

std::string millions(std::int64_t n)
{
  char text[32];
  std::snprintf(text, sizeof text, n >= 1000000 ? "%.1fM" : "%.0fk", static_cast<double>(n) / (n >= 1000000 ? 1e6 : 1e3));
  return text;
}

TransformerShape scratchShape(const ExperimentConfig &c)
{
  TransformerShape s;
  const bool t5 = c.isEncoderDecoder();
  s.family = t5 ? "t5" : c.task.kind == "masked_lm" ? "bert" : "gpt2";
  s.vocabSize = 30522;
  s.hiddenSize = c.model.scratchHidden;
  s.numLayers = c.model.scratchLayers;
  s.numHeads = c.model.scratchHeads;
  s.intermediateSize = 4 * c.model.scratchHidden;
  s.maxPositions = std::max(c.model.maxLength, 512);
  if (t5) {
    s.decoderLayers = s.numLayers;
    s.headSize = s.hiddenSize / std::max(1, s.numHeads);
    s.buckets = 32;
  }
  if (s.family == "gpt2")
    s.vocabSize = 50257;
  return s;
}

} // namespace

std::int64_t estimateTrainable(const ExperimentConfig &c, const TransformerShape &s, std::int64_t parameters,
                               int headOutputs)
{
  const auto &st = c.strategy;
  const std::int64_t h = s.hiddenSize, L = std::max(1, s.numLayers), inner = s.intermediateSize;
  const std::int64_t head = c.isLanguageModelling() ? 0 : h * headOutputs + headOutputs;
  const std::int64_t perLayer =
      L > 0 ? (parameters - static_cast<std::int64_t>(s.vocabSize) * (s.embeddingSize ? s.embeddingSize : h)) / L : 0;
  const std::string &n = st.name;
  if (n == "full")
    return parameters + head;
  if (n == "linear_probe")
    return head;
  if (n == "bitfit") // the biases: q, k, v, o, the two FFN maps and two norms per layer
    return L * (6 * h + inner + 2 * h) + head;
  if (n == "lora") {
    const std::int64_t targets = st.loraTargets.empty() ? 2 : static_cast<std::int64_t>(st.loraTargets.size());
    return L * targets * st.loraR * (h + h) + head;
  }
  if (n == "adapters") {
    const std::int64_t b = std::max<std::int64_t>(1, h / std::max(1, st.adapterReduction));
    const std::int64_t one = 2 * h * b + h + b;
    return L * one * (st.adapterKind == "pfeiffer" ? 1 : 2) + head;
  }
  if (n == "ia3")
    return L * (2 * h + inner) + head;
  if (n == "prefix")
    return static_cast<std::int64_t>(st.prefixTokens) * L * (s.family == "t5" ? 3 : 1) * 2 * h + head;
  if (n == "prompt")
    return static_cast<std::int64_t>(st.promptTokens) * h + head;
  if (n == "partial") {
    const std::int64_t frozen = st.freezeLayers.empty() ? st.freezeBottomLayers : static_cast<std::int64_t>(st.freezeLayers.size());
    const std::int64_t embeddings = st.freezeEmbeddings ? parameters - perLayer * L : 0;
    return std::max<std::int64_t>(0, parameters - embeddings - perLayer * std::min(frozen, L)) + head;
  }
  return parameters + head;
}

LayerTraining layerTrainingOf(const ExperimentConfig &c, const TransformerShape &s)
{
  const auto &st = c.strategy;
  const double h = s.hiddenSize, inner = s.intermediateSize;
  if (st.name == "full" || st.name == "partial")
    return {};
  if (st.name == "lora") // the maps' input (one tensor for a layer's maps that share it)
    return {false, 0, 0, h};
  if (st.name == "prefix")
    return {false, 0, st.prefixTokens};
  if (st.name == "adapters") // each adapter's input
    return {false, (st.adapterKind == "pfeiffer" ? 1.0 : 2.0) * h, 0};
  if (st.name == "ia3") // the keys and values it scales, and the feed-forward's activation
    return {false, inner, 0, 2.0 * h};
  return {false, 0, 0}; // bitfit, prompt, linear_probe: the frozen layers' own
}

namespace {

// One step of the experiment with `trainable` parameters: memory and FLOPs.
TrainingEstimate stepEstimate(const ExperimentConfig &c, const TransformerShape &shape, std::int64_t trainable)
{
  const auto &t = c.training;
  const bool bf16 = t.precision == "bf16" || t.precision == "auto";
  return estimateTraining(shape, trainable, t.batchSize, c.model.maxLength,
                          bf16 ? Precision::BFloat16 : Precision::Float32, t.optimizer == "sgd" ? 1 : 2,
                          t.activationCheckpointing, layerTrainingOf(c, shape));
}

double stepBytes(const ExperimentConfig &c, const TransformerShape &shape, std::int64_t parameters, int classes)
{
  return stepEstimate(c, shape, estimateTrainable(c, shape, parameters, classes)).totalBytes;
}

// Concrete changes that bring one step under `budget` bytes, each with the memory after it.
std::vector<PlanRemedy> remediesFor(const ExperimentConfig &c, const TransformerShape &shape, std::int64_t parameters,
                                    int classes, double budget)
{
  std::vector<PlanRemedy> out;
  const auto &t = c.training;
  { // the same effective batch in smaller pieces
    ExperimentConfig smaller = c;
    while (smaller.training.batchSize > 1 && stepBytes(smaller, shape, parameters, classes) > budget)
      smaller.training.batchSize /= 2;
    if (smaller.training.batchSize < t.batchSize) {
      const int accumulation = t.gradientAccumulation * ((t.batchSize + smaller.training.batchSize - 1) / smaller.training.batchSize);
      smaller.training.gradientAccumulation = accumulation;
      out.push_back({"batch " + std::to_string(smaller.training.batchSize) + " × gradient accumulation " +
                         std::to_string(accumulation) + " (the same effective batch)",
                     {{"training.batch_size", std::to_string(smaller.training.batchSize)},
                      {"training.gradient_accumulation", std::to_string(accumulation)}},
                     stepBytes(smaller, shape, parameters, classes)});
    }
  }
  if (t.precision == "fp32") {
    ExperimentConfig bf16 = c;
    bf16.training.precision = "bf16";
    out.push_back({"bf16 mixed precision", {{"training.precision", "bf16"}}, stepBytes(bf16, shape, parameters, classes)});
  }
  if (t.activationCheckpointing != 1) {
    ExperimentConfig recomputed = c;
    recomputed.training.activationCheckpointing = 1;
    const std::int64_t trainable = estimateTrainable(c, shape, parameters, classes);
    const TrainingEstimate now = stepEstimate(c, shape, trainable),
                           after = stepEstimate(recomputed, shape, trainable);
    const long extra = std::lround(100.0 * (after.flopsPerStep / now.flopsPerStep - 1.0));
    out.push_back({"activation checkpointing (every layer computed again in the backward pass: about +" +
                       std::to_string(extra) + "% time per step)",
                   {{"training.activation_checkpointing", "1"}},
                   after.totalBytes});
  }
  if (c.strategy.name == "full" || c.strategy.name == "partial") {
    ExperimentConfig lora = c;
    lora.strategy.name = "lora";
    out.push_back({"LoRA (r " + std::to_string(c.strategy.loraR) + ") instead of " + c.strategy.name + " fine-tuning",
                   {{"strategy.name", "lora"}}, stepBytes(lora, shape, parameters, classes)});
  }
  if (c.model.maxLength > 64) {
    ExperimentConfig shorter = c;
    shorter.model.maxLength = c.model.maxLength / 2;
    out.push_back({"max length " + std::to_string(shorter.model.maxLength) + " (longer texts are cut; see the Data tab)",
                   {{"model.max_length", std::to_string(shorter.model.maxLength)}},
                   stepBytes(shorter, shape, parameters, classes)});
  }
  std::stable_sort(out.begin(), out.end(), [](const PlanRemedy &a, const PlanRemedy &b) { return a.bytesAfter < b.bytesAfter; });
  out.push_back({"a smaller model (model.path)", {}, 0});
  return out;
}

} // namespace

double frozenCacheBound(const ExperimentConfig &c, const TransformerShape &shape, long rows)
{
  const auto &st = c.strategy;
  const bool family = shape.family == "bert" || shape.family == "roberta" || shape.family == "distilbert" ||
                      shape.family == "use-lite";
  const bool frozen = st.name == "linear_probe" ||
                      (st.name == "partial" && st.freezeEmbeddings && (st.freezeBottomLayers > 0 || std::find(st.freezeLayers.begin(), st.freezeLayers.end(), 0) != st.freezeLayers.end()));
  if (!st.cacheFrozen || !family || !frozen || c.task.kind == "masked_lm")
    return 0;
  const bool bf16 = c.training.precision == "bf16" || c.training.precision == "auto";
  return static_cast<double>(rows) * c.model.maxLength * shape.hiddenSize * (bf16 ? 2.0 : 4.0);
}

RunPlan planRun(const ExperimentConfig &c, double flopsPerSecond)
{
  RunPlan plan;
  const fs::path folder = c.resolve(c.model.path);
  TransformerShape shape;
  if (c.model.init == "random" && !fileExists(folder / "config.json"))
    shape = scratchShape(c);
  else
    shape = inspectModelFolder(folder).shape;
  plan.parameters = countParameters(shape);
  plan.model = shape.family + " " + std::to_string(shape.numLayers) + "×" + std::to_string(shape.hiddenSize) + ", " +
               millions(plan.parameters) + " parameters";
  plan.rows = c.data.subsetRows > 0 ? c.data.subsetRows : approximateRows(c.resolve(c.data.path));
  plan.rows = static_cast<long>(std::lround(static_cast<double>(plan.rows) * c.data.subsetFraction));
  const int classes = c.task.kind == "token_tagging" ? 20 : 2;
  plan.trainable = estimateTrainable(c, shape, plan.parameters, classes);
  const auto &t = c.training;
  const long trainRows = static_cast<long>(std::lround(static_cast<double>(plan.rows) * c.data.train));
  plan.processes = std::max(1, t.distributed.processes);
  const long globalBatch = static_cast<long>(std::max(1, t.batchSize)) * plan.processes;
  const long batches = (trainRows + globalBatch - 1) / globalBatch;
  plan.stepsPerEpoch = std::max(1L, (batches + t.gradientAccumulation - 1) / std::max(1, t.gradientAccumulation));
  plan.totalSteps = t.maxSteps > 0 ? t.maxSteps : plan.stepsPerEpoch * t.epochs;
  plan.estimate = stepEstimate(c, shape, plan.trainable);
  plan.machineBytes = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  if (plan.processes > 1) // every process its own copy; the float32 gradients are all-reduced
    plan.allReducedBytes = 4.0 * static_cast<double>(plan.trainable);
  if (flopsPerSecond > 0) {
    // Each process computes its own batch on its share of the cores; the all-reduce is assumed
    // hidden behind the backward pass.
    plan.secondsPerStep =
        plan.estimate.flopsPerStep * t.gradientAccumulation / (flopsPerSecond / plan.processes);
    plan.totalSeconds = plan.secondsPerStep * static_cast<double>(plan.totalSteps);
  }
  const long warmup = t.warmupSteps > 0 ? t.warmupSteps : std::lround(t.warmupRatio * static_cast<double>(plan.totalSteps));
  const long points = std::min(200L, plan.totalSteps);
  for (long i = 0; i < points; ++i) {
    const long step = points > 1 ? i * (plan.totalSteps - 1) / (points - 1) : 0;
    plan.learningRates.push_back(t.learningRate *
                                 learningRateFactor(t.scheduler, step, plan.totalSteps, warmup, t.cycles, t.power));
  }
  if (plan.machineBytes > 0 && plan.estimate.totalBytes * plan.processes > 0.8 * plan.machineBytes) {
    plan.warnings.push_back("one step needs about " + formatBytes(plan.estimate.totalBytes * plan.processes) +
                            (plan.processes > 1 ? " (" + std::to_string(plan.processes) + " processes × " +
                                                      formatBytes(plan.estimate.totalBytes) + ")"
                                                : std::string()) +
                            ", more than 80% of this machine's " + formatBytes(plan.machineBytes));
    plan.remedies = remediesFor(c, shape, plan.parameters, classes, 0.8 * plan.machineBytes / plan.processes);
  }
  plan.cacheBytes = frozenCacheBound(c, shape, plan.rows);
  if (plan.machineBytes > 0 && plan.cacheBytes > 0.5 * plan.machineBytes)
    plan.warnings.push_back("the frozen-layer cache (strategy.cache_frozen) may need up to " + formatBytes(plan.cacheBytes) +
                            " (every row at the max length), more than half of this machine's " + formatBytes(plan.machineBytes));
  if (plan.rows == 0)
    plan.warnings.push_back("the data file " + c.resolve(c.data.path).string() + " is missing or empty");
  return plan;
}

} // namespace tunebench
