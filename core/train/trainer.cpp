#include "core/models/checkpointing.h"
#include "core/runtime/kernels.h"
#include "core/train/batches.h"
#include "core/train/device.h"
#include "core/train/fusedadam.h"
#include "core/train/runstate.h"
#include "core/train/trainerimpl.h"
#include "core/util/cancel.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"
#include "core/util/runfolder.h"

#include <torch/optim/adamw.h>

#include <cmath>
#include <thread>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

EpochSchedule Trainer::Impl::epochSchedule(int e) const
{
  std::vector<const PreparedData *> tasks = {&data};
  for (const Auxiliary &a : auxiliary)
    tasks.push_back(&a.data);
  return taskSchedule(tasks, globalBatch(), config.training.bucketByLength, config.seed, e,
                      config.multitask.sampling == "round_robin");
}

std::vector<int> Trainer::Impl::shareOf(const std::vector<int> &rows) const
{
  if (world() == 1)
    return rows;
  const std::size_t part =
      (rows.size() + static_cast<std::size_t>(world()) - 1) / static_cast<std::size_t>(world());
  const std::size_t from = std::min(rows.size(), part * static_cast<std::size_t>(rank()));
  const std::size_t to = std::min(rows.size(), from + part);
  return {rows.begin() + static_cast<std::ptrdiff_t>(from), rows.begin() + static_cast<std::ptrdiff_t>(to)};
}

// --- one optimizer step --------------------------------------------------------------------
std::uint64_t Trainer::Impl::noiseSeedAt(long index) const
{
  // Pre-training noise differs per epoch and batch, and repeats exactly on resume.
  return config.seed * 1000003ULL + static_cast<std::uint64_t>(st.epoch) * 7919ULL +
         static_cast<std::uint64_t>(index);
}

Batch Trainer::Impl::collateAt(const EpochSchedule &batches, long index) const
{
  const auto &[taskIndex, rows] = batches[static_cast<std::size_t>(index)];
  const Auxiliary *aux = taskIndex > 0 ? &auxiliary[static_cast<std::size_t>(taskIndex - 1)] : nullptr;
  const PreparedData &taskData = aux ? aux->data : data;
  const std::string &kind = aux ? aux->config.task.kind : config.task.kind;
  return onDevice(collate(taskData.encoded, shareOf(rows), padId, kind,
                          static_cast<int>(taskData.labels.size()), built.noiseOrNull(), noiseSeedAt(index)),
                  device);
}

double Trainer::Impl::microStep(const Batch &b, int taskIndex, long micro, double weight,
                                std::uint64_t noiseSeed, std::string &stepTask)
{
  const Auxiliary *aux = taskIndex > 0 ? &auxiliary[static_cast<std::size_t>(taskIndex - 1)] : nullptr;
  const std::string &kind = aux ? aux->config.task.kind : config.task.kind;
  const std::string taskName = aux ? aux->name : std::string(kTaskHead);
  stepTask = stepTask.empty() || stepTask == taskName ? taskName : "mixed";
  torch::Tensor loss, total;
  if (!b.rows.empty() && weight > 0) { // a rank's share of a short last batch can be empty (or unlabelled)
    AutocastScope autocast(bf16);
    CheckpointScope checkpointing(config.training.activationCheckpointing);
    loss = lossOf(built.forward(b, taskName), b, kind, config.training.labelSmoothing);
    if (aux)
      loss = loss * aux->weight;
    total = weight == 1.0 ? loss : loss * weight; // the step's loss reports the task's alone
  }
  // The penalty and the rehearsal are every rank's whole: their mean over the ranks is themselves.
  const auto add = [&total](const torch::Tensor &t) { total = total.defined() ? total + t : t; };
  if (l2sp)
    add((*l2sp)());
  if (meter && ForgettingMeter::rehearses(st.step, config.forgetting.rehearsal))
    add(meter->rehearsalLoss(noiseSeed, bf16));
  if (total.defined())
    (total / static_cast<double>(micro)).backward();
  return loss.defined() ? loss.item<double>() * weight / static_cast<double>(world()) : 0.0;
}

std::vector<double> Trainer::Impl::weightsOf(const std::vector<Batch> &micro, const std::vector<int> &tasks)
{
  if (!group)
    return std::vector<double>(micro.size(), 1.0);
  torch::Tensor counts = torch::zeros({static_cast<long>(micro.size())}, torch::kDouble);
  for (std::size_t m = 0; m < micro.size(); ++m) {
    const int t = tasks[m];
    counts[static_cast<long>(m)] = lossTerms(
        micro[m], t > 0 ? auxiliary[static_cast<std::size_t>(t - 1)].config.task.kind : config.task.kind);
  }
  torch::Tensor all = counts.clone();
  group->allReduce(all);
  std::vector<double> w;
  for (std::size_t m = 0; m < micro.size(); ++m) {
    const double total = all[static_cast<long>(m)].item<double>();
    w.push_back(total > 0 ? counts[static_cast<long>(m)].item<double>() / total * world() : 0.0);
  }
  return w;
}

StepEvent Trainer::Impl::takeStep(const EpochSchedule &batches, std::string &stepTask)
{
  const auto &t = config.training;
  const auto stepStart = std::chrono::steady_clock::now();
  dropGradients(*opt.optimizer);
  const long micro =
      std::min<long>(t.gradientAccumulation, static_cast<long>(batches.size()) - st.batchInEpoch);
  std::vector<Batch> parts;
  std::vector<int> tasks;
  for (long m = 0; m < micro; ++m) {
    parts.push_back(collateAt(batches, st.batchInEpoch + m));
    tasks.push_back(batches[static_cast<std::size_t>(st.batchInEpoch + m)].first);
  }
  const std::vector<double> weights = weightsOf(parts, tasks);
  const auto computeStart = std::chrono::steady_clock::now(); // a rank's own speed: no waiting
  double lossSum = 0;
  long tokens = 0;
  for (long m = 0; m < micro; ++m, ++st.batchInEpoch) {
    if (gradSync) // gradient accumulation: the all-reduce comes with the step's last backward pass
      gradSync->setReducing(m == micro - 1);
    const auto mi = static_cast<std::size_t>(m);
    lossSum += microStep(parts[mi], tasks[mi], micro, weights[mi], noiseSeedAt(st.batchInEpoch), stepTask);
    tokens += parts[mi].tokens;
  }
  const double localSeconds = secondsSince(computeStart);
  if (gradSync) {
    gradSync->finish();
    // The global batch's loss and tokens, and a stop or pause asked of any rank (every rank stops
    // or pauses here).
    torch::Tensor agreed = torch::tensor(
        {lossSum, static_cast<double>(tokens), stop ? 1.0 : 0.0, paused ? 1.0 : 0.0}, torch::kDouble);
    group->allReduce(agreed);
    pauseAgreed = agreed[3].item<double>() > 0;
    stopAgreed = agreed[2].item<double>() > 0;
    group->reportProgress(st.step + 1, localSeconds > 0 ? static_cast<double>(tokens) / localSeconds : 0);
    lossSum = agreed[0].item<double>();
    tokens = static_cast<long>(agreed[1].item<double>());
  }
  StepEvent e;
  e.epoch = st.epoch;
  e.totalSteps = totalSteps;
  e.loss = lossSum / static_cast<double>(micro);
  e.gradNorm = opt.gradientNorm(t.maxGradNorm);
  e.learningRate = applySchedule();
  if (std::isfinite(e.loss) && std::isfinite(e.gradNorm))
    opt.optimizer->step();
  e.step = ++st.step;
  const double seconds = secondsSince(stepStart);
  e.tokensPerSecond = seconds > 0 ? static_cast<double>(tokens) / seconds : 0;
  st.tokens += tokens;
  e.tokens = st.tokens;
  e.elapsedSeconds = st.elapsedBefore + elapsed();
  if (group && writes() && (st.step == 1 || secondsSince(lastHeartbeats) >= 5.0)) {
    lastHeartbeats = std::chrono::steady_clock::now();
    for (const json &b : group->heartbeats())
      e.ranks.push_back({b.value("rank", 0), b.value("step", 0L), b.value("tokens_per_second", 0.0),
                         b.value("age_seconds", -1.0)});
  }
  return e;
}

// --- the run -------------------------------------------------------------------------------
bool Trainer::Impl::claimToStart()
{
  claim();
  const bool resuming = fileExists(stateDir() / "trainer.json");
  if (fileExists(runDir / "results.json")) {
    // A stopped or interrupted run's interim result is replaced; a finished run is never trained again.
    const std::string status = readJsonFile(runDir / "results.json").value("status", "");
    if (!resuming ||
        (status != runStatusName(RunStatus::Stopped) && status != runStatusName(RunStatus::Interrupted)))
      throw Error(runDir.string() + ": this run has finished; nothing to resume (results.json)");
    fs::remove(runDir / "results.json");
  }
  return resuming;
}

bool Trainer::Impl::agreeOnStart()
{
  if (!group)
    return claimToStart();
  if (writes()) {
    bool resuming = false;
    try {
      resuming = claimToStart();
    } catch (const Error &e) {
      group->broadcast(json{{"error", e.what()}}.dump());
      throw;
    }
    group->broadcast(json{{"resuming", resuming}, {"restarts", restarts}, {"run", runId}}.dump());
    return resuming;
  }
  const json j = json::parse(group->broadcast({}));
  if (j.contains("error"))
    throw Error("rank 0 could not start the run: " + j["error"].get<std::string>());
  restarts = j.value("restarts", false);
  runId = j.value("run", std::string());
  return j.value("resuming", false);
}

void Trainer::Impl::start()
{
  const bool resuming = agreeOnStart();
  prepare();
  if (resuming) {
    loadState();
  } else if (writes()) {
    writeRunStart(runDir, config, data);
    if (restarts) {
      observer->onResumed(0); // what the first attempt recorded is void
      log("no saved state yet: the run starts again from its first step");
    }
  }
  if (writes())
    events.open(runDir / "events.jsonl", std::ios::app);
  started = std::chrono::steady_clock::now();
  observer->onPlanned({stepsPerEpoch, totalSteps, warmup, st.step, config.selectionMetric(),
                       config.higherIsBetter(), forgettingBefore});
  log("training: " + std::to_string(totalSteps) + " steps (" + std::to_string(stepsPerEpoch) +
      " per epoch), warm-up " + std::to_string(warmup));
}

bool Trainer::Impl::recordStep(const StepEvent &e, const std::string &stepTask, std::string &why)
{
  json stepJson = eventJson(e);
  if (!auxiliary.empty())
    stepJson["task"] = stepTask;
  record(stepJson);
  observer->onStep(e);
  faultPoint("step");
  if (std::isfinite(e.loss) && std::isfinite(e.gradNorm))
    return true;
  if (std::string critical = raiseDiagnoses(diagnose(curves), Raise::CriticalOnly); !critical.empty())
    why = critical;
  return false;
}

void Trainer::Impl::validateAndSave(RunStatus &status, bool &done, std::string &why, bool keepEarlierEnd)
{
  st.validationDue = true; // a stop inside the validation saves it as due: the resume runs it first
  const auto end = validate(why);
  st.validationDue = false;
  if (end && (!keepEarlierEnd || status == RunStatus::Finished)) {
    status = *end;
    done = true;
  }
  saveState();
}

RunResult Trainer::Impl::train()
{
  const auto &t = config.training;
  built.model->train();
  std::string why;
  bool done = st.step >= totalSteps;
  RunStatus status = RunStatus::Finished;
  if (st.validationDue)
    validateAndSave(status, done, why, true);
  for (; !done && st.epoch < std::max(t.epochs, t.maxSteps > 0 ? 1 << 30 : 0);) {
    const EpochSchedule batches = epochSchedule(st.epoch);
    while (!done && st.batchInEpoch < static_cast<long>(batches.size())) {
      std::string stepTask;
      if (!recordStep(takeStep(batches, stepTask), stepTask, why)) {
        status = RunStatus::Failed;
        done = true;
        break;
      }
      done = t.maxSteps > 0 && st.step >= t.maxSteps;
      if (config.evaluation.everySteps > 0 && st.step % config.evaluation.everySteps == 0 && !done)
        validateAndSave(status, done, why, false);
      waitWhilePaused();
      if (stopping() && !done)
        throw Stopped();
    }
    if (status == RunStatus::Failed)
      break;
    const bool epochEnded = st.batchInEpoch >= static_cast<long>(batches.size());
    if (epochEnded) {
      ++st.epoch;
      st.batchInEpoch = 0;
    }
    if ((epochEnded && config.evaluation.everySteps == 0) || done)
      validateAndSave(status, done, why, true);
    if (st.epoch >= t.epochs && t.maxSteps == 0)
      done = true;
  }
  if (why.empty() && status == RunStatus::Finished)
    why = "completed " + std::to_string(st.step) + " steps";
  finishing = true;
  return finish(status, why);
}

void Trainer::Impl::waitWhilePaused()
{
  if (!group) {
    while (paused && !stop)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return;
  }
  // Data parallel: the ranks wait together, asking each other every 200 ms (within any timeout).
  while (pauseAgreed && !stopAgreed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    torch::Tensor t = torch::tensor({paused ? 1.0 : 0.0, stop ? 1.0 : 0.0}, torch::kDouble);
    group->allReduce(t);
    pauseAgreed = t[0].item<double>() > 0;
    stopAgreed = t[1].item<double>() > 0;
  }
}

RunResult Trainer::Impl::run()
{
  GeneratorScope scope(generator);
  KernelScope kernels(choosesAtenKernels(config.runtime.kernels, trainsOnCpu(config.training.device)));
  // Data preparation, model loading and evaluations stop part-way; data parallel, the ranks stop
  // together at a step (a stop is agreed there).
  StopScope stopScope(group ? nullptr : &stop);
  try {
    start();
  } catch (const Stopped &) {
    RunResult r;
    r.status = RunStatus::Stopped;
    r.reason = "stopped before the first step (nothing was trained)";
    r.steps = st.step;
    observer->onFinished(r);
    return r;
  }
  try {
    RunResult r;
    try {
      r = train();
    } catch (const Stopped &) {
      if (!finishing) // the final evaluation has the best model loaded: the state saved before stays
        saveState();
      r = finish(RunStatus::Stopped,
                 "stopped by the user at step " + std::to_string(st.step) + "; resume continues from here");
    }
    if (group) // no rank leaves (taking the rendezvous with it, rank 0) before the others are done
      group->barrier();
    return r;
  } catch (const PeerFailure &e) {
    // Another rank stopped mid-step: this step is void; the last saved state is where resume starts.
    return finish(RunStatus::Interrupted, std::string(e.what()) +
                                              "; resume continues from the last saved state (step " +
                                              std::to_string(savedStep()) + ")");
  }
}

long Trainer::Impl::savedStep() const
{
  const path file = stateDir() / "trainer.json";
  return fileExists(file) ? readJsonFile(file).value("step", 0L) : 0L;
}

Trainer::Trainer(ExperimentConfig config, fs::path runDir)
  : d(std::make_unique<Impl>(std::move(config), std::move(runDir)))
{}

// The run's model (with its bf16 weight copies), optimizer state and activations go back to the
// system.
Trainer::~Trainer()
{
  d.reset();
  releaseFreeMemory();
}
void Trainer::setProcessGroup(ProcessGroup *group)
{
  d->group = group;
}
void Trainer::setObserver(TrainingObserver *observer) { d->observer = observer ? observer : &d->defaultObserver; }
RunResult Trainer::run() { return d->run(); }
std::string Trainer::claimFolder()
{
  return d->claim();
}
bool Trainer::resumes() const
{
  return d->resumes;
}
void Trainer::requestStop() { d->stop = true; }
void Trainer::setPaused(bool paused) { d->paused = paused; }
bool Trainer::paused() const { return d->paused; }
const fs::path &Trainer::runDir() const { return d->runDir; }
const ExperimentConfig &Trainer::config() const
{
  return d->config;
}

std::string Trainer::overfitOneBatch(int steps)
{
  GeneratorScope scope(d->generator);
  KernelScope kernels(choosesAtenKernels(d->config.runtime.kernels, trainsOnCpu(d->config.training.device)));
  d->prepare();
  const ExperimentConfig &c = d->config;
  std::vector<int> rows(d->data.split.train.begin(),
                        d->data.split.train.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(8, d->data.split.train.size())));
  const Batch b = collate(d->data.encoded, rows, d->padId, c.task.kind, static_cast<int>(d->data.labels.size()),
                          d->built.noiseOrNull(), c.seed);
  std::vector<torch::Tensor> params;
  for (const auto &p : d->built.model->parameters())
    if (p.requires_grad())
      params.push_back(p);
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-3).weight_decay(0));
  d->built.model->eval(); // no dropout
  double first = 0, last = 0, firstGrad = 0;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    const torch::Tensor loss = lossOf(d->built.forward(b), b, c.task.kind, 0.0);
    loss.backward();
    double g = 0;
    for (const auto &p : params)
      if (p.grad().defined())
        g += p.grad().pow(2).sum().item<double>();
    if (s == 0) {
      first = loss.item<double>();
      firstGrad = std::sqrt(g);
    }
    last = loss.item<double>();
    if (!std::isfinite(last))
      return "the loss became " + std::to_string(last) + " at step " + std::to_string(s + 1) +
             ": the model or the loss is numerically broken";
    opt.step();
    if (last < 0.02)
      break;
  }
  d->built.model->train();
  if (firstGrad == 0)
    return "no gradient reaches the trainable parameters (loss " + std::to_string(first) +
           "): the head or the strategy is not connected to the loss";
  if (last < 0.1 || last < 0.1 * first)
    return {};
  return "the loss only fell from " + std::to_string(first) + " to " + std::to_string(last) + " in " +
         std::to_string(steps) + " steps on one batch of " + std::to_string(rows.size()) +
         ": check the labels (are they aligned with the texts?) and that the strategy trains enough parameters";
}

} // namespace tunebench
