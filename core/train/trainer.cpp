#include "core/train/batches.h"
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
  return taskSchedule(tasks, config.training.batchSize, config.training.bucketByLength, config.seed, e,
                      config.multitask.sampling == "round_robin");
}

// --- one optimizer step --------------------------------------------------------------------
double Trainer::Impl::microStep(const EpochSchedule::value_type &batch, long micro, std::string &stepTask,
                                long &tokens)
{
  // Pre-training noise differs per epoch and batch, and repeats exactly on resume.
  const std::uint64_t noiseSeed = config.seed * 1000003ULL + static_cast<std::uint64_t>(st.epoch) * 7919ULL +
                                  static_cast<std::uint64_t>(st.batchInEpoch);
  const auto &[taskIndex, rows] = batch;
  const Auxiliary *aux = taskIndex > 0 ? &auxiliary[static_cast<std::size_t>(taskIndex - 1)] : nullptr;
  const PreparedData &taskData = aux ? aux->data : data;
  const std::string &kind = aux ? aux->config.task.kind : config.task.kind;
  const std::string taskName = aux ? aux->name : std::string(kTaskHead);
  stepTask = stepTask.empty() || stepTask == taskName ? taskName : "mixed";
  const Batch b = collate(taskData.encoded, rows, padId, kind, static_cast<int>(taskData.labels.size()),
                          built.noiseOrNull(), noiseSeed);
  torch::Tensor loss, total;
  {
    AutocastScope autocast(bf16);
    loss = lossOf(built.forward(b, taskName), b, kind, config.training.labelSmoothing);
    if (aux)
      loss = loss * aux->weight;
  }
  total = loss; // the step's loss reports the task's alone
  if (l2sp)
    total = total + (*l2sp)();
  if (meter && ForgettingMeter::rehearses(st.step, config.forgetting.rehearsal))
    total = total + meter->rehearsalLoss(noiseSeed, bf16);
  (total / static_cast<double>(micro)).backward();
  tokens += b.tokens;
  return loss.item<double>();
}

StepEvent Trainer::Impl::takeStep(const EpochSchedule &batches, std::string &stepTask)
{
  const auto &t = config.training;
  const auto stepStart = std::chrono::steady_clock::now();
  dropGradients(*opt.optimizer);
  const long micro =
      std::min<long>(t.gradientAccumulation, static_cast<long>(batches.size()) - st.batchInEpoch);
  double lossSum = 0;
  long tokens = 0;
  for (long m = 0; m < micro; ++m, ++st.batchInEpoch)
    lossSum += microStep(batches[static_cast<std::size_t>(st.batchInEpoch)], micro, stepTask, tokens);
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
  return e;
}

// --- the run -------------------------------------------------------------------------------
void Trainer::Impl::start()
{
  claim();
  const bool resuming = fileExists(stateDir() / "trainer.json");
  if (fileExists(runDir / "results.json")) {
    // A stopped run's interim result is replaced; a finished run is never trained again.
    if (!resuming ||
        readJsonFile(runDir / "results.json").value("status", "") != runStatusName(RunStatus::Stopped))
      throw Error(runDir.string() + ": this run has finished; nothing to resume (results.json)");
    fs::remove(runDir / "results.json");
  }
  prepare();
  if (resuming) {
    loadState();
  } else {
    writeRunStart(runDir, config, data);
    if (restarts) {
      observer->onResumed(0); // what the first attempt recorded is void
      log("no saved state yet: the run starts again from its first step");
    }
  }
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
      while (paused && !stop)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (stop && !done)
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

RunResult Trainer::Impl::run()
{
  GeneratorScope scope(generator);
  StopScope stopScope(&stop); // data preparation, model loading and evaluations stop part-way
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
    return train();
  } catch (const Stopped &) {
    if (!finishing) // the final evaluation has the best model loaded: the state saved before stays
      saveState();
    return finish(RunStatus::Stopped,
                  "stopped by the user at step " + std::to_string(st.step) + "; resume continues from here");
  }
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
