#include "core/runtime/kernels.h"
#include "core/tokenize/tokenizerloader.h"
#include "core/train/device.h"
#include "core/train/runstate.h"
#include "core/train/schedule.h"
#include "core/train/trainerimpl.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <torch/cuda.h>
#include <torch/nn/modules/embedding.h>

#include <cmath>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

// --- preparation -------------------------------------------------------------------------
void Trainer::Impl::prepare()
{
  if (prepared)
    return;
  GeneratorScope scope(generator);
  std::vector<HeadSpec> extraHeads = loadTasks();
  if (!config.forgetting.previousRun.empty()) {
    previous = std::make_unique<PreviousTask>(config);
    extraHeads.push_back(previous->head());
  }
  prepareModel(extraHeads);
  planSteps();
  ExperimentConfig::Training training = config.training;
  training.batchSize = globalBatch(); // the linear scaling rule sees the global batch
  opt = buildOptimizer(training, *built.model, *built.strategy);
  if (group)
    joinGroup();
  prepared = true;
}

void Trainer::Impl::joinGroup()
{
  std::vector<torch::Tensor> trainable;
  for (const auto &p : built.model->parameters())
    if (p.requires_grad())
      trainable.push_back(p);
  // Every rank starts from rank 0's weights (the same seed made them; this makes sure).
  torch::NoGradGuard noGrad;
  for (torch::Tensor &p : trainable) {
    torch::Tensor mine = rank() == 0 ? p.detach().clone() : torch::zeros_like(p);
    group->allReduce(mine);
    p.copy_(mine);
  }
  // Embedding tables of many rows: a batch's gradient touches few of them (all-reduced by rows).
  std::vector<torch::Tensor> tables;
  for (const auto &m : built.model->modules(/*include_self=*/true))
    if (const auto *e = dynamic_cast<const torch::nn::EmbeddingImpl *>(m.get());
        e && e->weight.requires_grad() && e->weight.dim() == 2 && e->weight.size(0) >= 1024)
      tables.push_back(e->weight);
  gradSync = std::make_unique<GradientSync>(
      *group, trainable, static_cast<std::size_t>(config.training.distributed.bucketMb * 1024 * 1024),
      tables);
  // Each rank draws its own dropout masks (rank 0 as one process would).
  if (rank() > 0)
    generator.set_current_seed(config.seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(rank()));
  log("data parallel: rank " + std::to_string(rank()) + " of " + std::to_string(world()) + " (" +
      group->backend() + "), global batch " + std::to_string(globalBatch()) + ", " +
      std::to_string(gradSync->buckets()) + " gradient bucket(s), " +
      std::to_string(gradSync->bytesPerStep() / 1024) + " KiB all-reduced per step");
}

void Trainer::Impl::requireLabels(const PreparedData &d, const std::string &kind,
                                  const std::string &what) const
{
  if (static_cast<int>(d.labels.size()) < (kind == "single_label" ? 2 : 1))
    throw Error(what + " has " + std::to_string(d.labels.size()) +
                " label(s); classification needs at least 2");
}

std::vector<HeadSpec> Trainer::Impl::loadTasks()
{
  tokenizer = loadTokenizer(config.resolve(config.model.path));
  DataReport report;
  data = tunebench::prepareData(config, *tokenizer, report);
  for (const std::string &line : data.log)
    log(line);
  if (!config.isLanguageModelling())
    requireLabels(data, config.task.kind, config.resolve(config.data.path).string() + ": the training data");
  std::vector<HeadSpec> extraHeads;
  auxiliary.clear();
  for (const ExperimentConfig::AuxiliaryTask &t : config.multitask.tasks) {
    Auxiliary a{t.name, config.auxiliaryConfig(t), {}, t.weight};
    DataReport auxReport;
    a.data = tunebench::prepareData(a.config, *tokenizer, auxReport);
    for (const std::string &line : a.data.log)
      log(t.name + ": " + line);
    requireLabels(a.data, t.kind, a.config.resolve(t.path).string() + ": task \"" + t.name + "\"");
    extraHeads.push_back(headSpecFor(a.config, t.name, static_cast<int>(a.data.labels.size())));
    auxiliary.push_back(std::move(a));
  }
  padId = std::max(0, tokenizer->specialTokens().pad);
  return extraHeads;
}

void Trainer::Impl::prepareModel(const std::vector<HeadSpec> &extraHeads)
{
  generator.set_current_seed(config.seed); // initialisation draws from the seed alone
  ExperimentConfig modelConfig = config;
  if (atenKernels() && config.strategy.cacheFrozen) {
    modelConfig.strategy.cacheFrozen = false;
    log("frozen-layer cache off: runtime.kernels is aten (LibTorch's own operations)");
  }
  built = buildModel(modelConfig, static_cast<int>(data.labels.size()), *tokenizer, extraHeads);
  if (previous) // the earlier run's weights and head, before anything takes the starting point
    previous->start(built, *tokenizer);
  if (!built.loadReport.empty())
    log(built.loadReport);
  const TrainableReport tr = trainableReport(*built.model);
  log(tr.summary());
  if (modelConfig.strategy.cacheFrozen)
    log(describeFrozenCache(built.frozenCache.get()));
  if (tr.trainable == 0)
    throw Error("strategy \"" + config.strategy.name + "\" leaves no parameter to train");
  // The model, and with it the optimizer's state, on training.device (a CUDA request without a
  // CUDA device says so instead of silently training on the CPU).
  device = trainingDevice(config.training.device);
  if (!device.is_cpu()) {
    built.model->to(device);
    torch::cuda::manual_seed_all(config.seed); // LibTorch's dropout masks there
    log("device: " + device.str());
  }
  if (config.training.precision == "fp16")
    throw Error(
        "training.precision fp16 (with loss scaling) is not implemented in this build; use bf16 or fp32");
  bf16 = computesInBf16(config);
  if (bf16)
    log("mixed precision: bf16 autocast on the CPU");
  // Before a resume restores the trained weights: θ₀ and the meters' first values are the start's.
  if (previous) {
    previousBefore = previous->measure(built, padId, bf16, *tokenizer);
    log("forgetting: the earlier run's " + previous->metricName() + " before training " +
        std::to_string(previousBefore));
  }
  if (config.training.l2sp > 0) {
    l2sp.emplace(*built.model, config.training.l2sp);
    log("L2-SP: λ = " + std::to_string(config.training.l2sp) + " toward the starting values of " +
        std::to_string(l2sp->tensors()) + " tensors");
  }
  if (!config.forgetting.reference.empty()) {
    meter = std::make_unique<ForgettingMeter>(config, built, *tokenizer);
    forgettingBefore = meter->measure(bf16);
    log("forgetting meter: " + meter->describe() + "; before training " + std::to_string(forgettingBefore));
  }
}

void Trainer::Impl::planSteps()
{
  const auto &t = config.training;
  const auto batchesOf = [&](const PreparedData &d) {
    return static_cast<long>((d.split.train.size() + static_cast<std::size_t>(globalBatch()) - 1) /
                             static_cast<std::size_t>(globalBatch()));
  };
  long batches = batchesOf(data);
  for (const Auxiliary &a : auxiliary)
    batches += batchesOf(a.data);
  stepsPerEpoch = std::max(1L, (batches + t.gradientAccumulation - 1) / t.gradientAccumulation);
  totalSteps = t.maxSteps > 0 ? t.maxSteps : stepsPerEpoch * t.epochs;
  warmup = t.warmupSteps > 0 ? t.warmupSteps : std::lround(t.warmupRatio * static_cast<double>(totalSteps));
  curves.stepsPerEpoch = stepsPerEpoch;
}

double Trainer::Impl::applySchedule()
{
  const auto &t = config.training;
  return opt.setLearningRate(learningRateFactor(t.scheduler, st.step, totalSteps, warmup, t.cycles, t.power) *
                             st.plateauScale);
}

const std::string &Trainer::Impl::claim()
{
  if (!runId.empty())
    return runId;
  recoverFolder(stateDir());
  resumes = fileExists(stateDir() / "trainer.json") || fileExists(runDir / "results.json");
  // A run that started here and died before its first checkpoint: it starts again from step 0 in
  // its own folder and history row.
  restarts = !resumes && fileExists(runDir / "config.yaml") && fileExists(runDir / "run.json");
  resumes = resumes || restarts;
  if (resumes)
    runId = adoptRunFolder(runDir);
  else if (const auto id = runFolderId(runDir))
    runId = *id; // claimed by the caller, or a run that never reached its first checkpoint
  else
    runId = createRunFolder(runDir);
  lock = std::make_unique<RunFolderLock>(runDir);
  return runId;
}

void Trainer::Impl::saveState()
{
  std::vector<torch::Tensor> generators; // data parallel: the other ranks' dropout generators
  if (group) {
    generators = group->allGather(generator.get_state());
    generators.erase(generators.begin());
  }
  if (!writes())
    return;
  json j = st.toJson(st.elapsedBefore + elapsed());
  j["world_size"] = world();
  saveTrainingState(runDir, *built.model, *opt.optimizer, generator, j, generators);
  observer->onCheckpoint("last", stateDir());
}

void Trainer::Impl::loadState()
{
  TrainingState::Limits limits;
  limits.totalSteps = totalSteps;
  limits.epochs = std::max<long>(config.training.epochs, totalSteps);
  limits.batchesInEpoch = (std::max(1L, stepsPerEpoch) + 1) * config.training.gradientAccumulation;
  requireSavedWorldSize(runDir, world(), config.training.batchSize);
  st = loadTrainingState(runDir, *built.model, *opt.optimizer, generator, limits, rank());
  // The event log keeps what happened up to the saved step; curves are rebuilt from it.
  for (const json &j : keepEventsUpTo(runDir, st.step, writes()))
    addToCurves(j);
  observer->onResumed(st.step);
  log("resumed at step " + std::to_string(st.step) + " (epoch " + std::to_string(st.epoch + 1) + ")");
}

void Trainer::Impl::addToCurves(const json &j)
{
  const long s = j.value("step", 0L);
  if (j.value("type", "") == "step") {
    // Multi-task: the tasks' losses differ in scale; the curves follow the main task's steps.
    if (j.value("task", std::string(kTaskHead)) == kTaskHead)
      curves.trainLoss.push_back({s, j.value("loss", 0.0)});
    curves.gradNorm.push_back({s, j.value("grad_norm", 0.0)});
    curves.learningRate.push_back({s, j.value("lr", 0.0)});
  } else if (j.value("type", "") == "eval" && j.value("split", "") == "validation") {
    curves.validationLoss.push_back({s, j.value("loss", 0.0)});
    const auto metrics = j.value("metrics", std::map<std::string, double>());
    const auto it = metrics.find(config.selectionMetric());
    if (it != metrics.end())
      curves.validationMetric.push_back({s, config.higherIsBetter() ? it->second : -it->second});
  }
}

void Trainer::Impl::record(const json &j)
{
  if (writes()) {
    events << j.dump() << "\n";
    events.flush();
  }
  addToCurves(j);
}

} // namespace tunebench
