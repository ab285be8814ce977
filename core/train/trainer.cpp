#include "core/train/trainer.h"

#include "core/data/splits.h"
#include "core/eval/metrics.h"
#include "core/models/bf16linear.h"
#include "core/runtime/runtime.h"
#include "core/tokenize/tokenizer.h"
#include "core/tokenize/tokenizerloader.h"
#include "core/train/batches.h"
#include "core/train/builtmodel.h"
#include "core/train/dataprep.h"
#include "core/train/evaluation.h"
#include "core/train/events.h"
#include "core/train/fusedadam.h"
#include "core/train/schedule.h"
#include "core/train/trainstate.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"
#include "core/util/runfolder.h"

#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/serialize.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;
namespace F = torch::nn::functional;

// ---------------------------------------------------------------------------------------------
// Trainer

struct Trainer::Impl
{
  ExperimentConfig config;
  fs::path runDir;
  std::string runId;                   // run.json's id, once the folder is claimed
  std::unique_ptr<RunFolderLock> lock; // held while this Trainer owns the folder
  bool resumes = false;                // the claimed folder holds a run to continue
  TrainingObserver defaultObserver;
  TrainingObserver *observer = &defaultObserver;
  std::atomic<bool> stop{false};
  std::atomic<bool> paused{false};

  std::unique_ptr<Tokenizer> tokenizer;
  PreparedData data;
  // Multi-task learning: the other tasks, each with its data and head on the shared encoder.
  struct Auxiliary
  {
    std::string name;
    ExperimentConfig config;
    PreparedData data;
    double weight = 1.0;
  };
  std::vector<Auxiliary> auxiliary;
  BuiltModel built;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::vector<double> groupLr; // base LR of each optimizer group (before the schedule)
  int padId = 0;
  bool bf16 = false;
  bool prepared = false;

  TrainingState st; // where the run stands (saved in state/trainer.json)
  long stepsPerEpoch = 1;
  long totalSteps = 1;
  long warmup = 0;
  TrainingCurves curves;
  std::vector<Diagnosis> diagnoses;
  std::ofstream events;

  void log(const std::string &message) { observer->onLog(message); }

  bool better(double value, double reference) const
  {
    if (std::isnan(reference))
      return true;
    const double t = config.evaluation.threshold;
    return config.higherIsBetter() ? value > reference + t : value < reference - t;
  }

  void prepare()
  {
    if (prepared)
      return;
    if (config.training.threads > 0)
      torch::set_num_threads(config.training.threads);
    const fs::path modelDir = config.resolve(config.model.path);
    tokenizer = loadTokenizer(modelDir);
    DataReport report;
    data = prepareData(config, *tokenizer, report);
    for (const std::string &line : data.log)
      log(line);
    if (!config.isLanguageModelling() &&
        static_cast<int>(data.labels.size()) < (config.task.kind == "single_label" ? 2 : 1))
      throw Error(config.resolve(config.data.path).string() + ": the training data has " +
                  std::to_string(data.labels.size()) + " label(s); classification needs at least 2");
    std::vector<HeadSpec> extraHeads;
    auxiliary.clear();
    for (const ExperimentConfig::AuxiliaryTask &t : config.multitask.tasks) {
      Auxiliary a{t.name, config.auxiliaryConfig(t), {}, t.weight};
      DataReport auxReport;
      a.data = prepareData(a.config, *tokenizer, auxReport);
      for (const std::string &line : a.data.log)
        log(t.name + ": " + line);
      if (static_cast<int>(a.data.labels.size()) < (t.kind == "single_label" ? 2 : 1))
        throw Error(a.config.resolve(t.path).string() + ": task \"" + t.name + "\" has " +
                    std::to_string(a.data.labels.size()) + " label(s); classification needs at least 2");
      extraHeads.push_back(headSpecFor(a.config, t.name, static_cast<int>(a.data.labels.size())));
      auxiliary.push_back(std::move(a));
    }
    padId = std::max(0, tokenizer->specialTokens().pad);
    torch::manual_seed(config.seed);
    built = buildModel(config, static_cast<int>(data.labels.size()), *tokenizer, extraHeads);
    if (!built.loadReport.empty())
      log(built.loadReport);
    const TrainableReport tr = trainableReport(*built.model);
    log(tr.summary());
    if (config.strategy.cacheFrozen)
      log(describeFrozenCache(built.frozenCache.get()));
    if (tr.trainable == 0)
      throw Error("strategy \"" + config.strategy.name + "\" leaves no parameter to train");
    // Devices: Debian's LibTorch is built without CUDA; a CUDA request says so instead of
    // silently training on the CPU.
    if (config.training.device == "cuda" && !torch::cuda::is_available())
      throw Error("training.device is cuda, but this LibTorch build has no CUDA device available "
                  "(`tunebench-cli --version` shows it); use cpu or auto");
    if (config.training.precision == "fp16")
      throw Error("training.precision fp16 needs CUDA (loss scaling on a GPU); on this CPU use bf16 or fp32");
    bf16 = computesInBf16(config);
    if (bf16)
      log("mixed precision: bf16 autocast on the CPU");

    const auto batchesOf = [&](const PreparedData &d) {
      return static_cast<long>((d.split.train.size() + static_cast<std::size_t>(config.training.batchSize) - 1) /
                               static_cast<std::size_t>(config.training.batchSize));
    };
    long batches = batchesOf(data);
    for (const Auxiliary &a : auxiliary)
      batches += batchesOf(a.data);
    stepsPerEpoch = std::max(1L, (batches + config.training.gradientAccumulation - 1) / config.training.gradientAccumulation);
    totalSteps = config.training.maxSteps > 0 ? config.training.maxSteps : stepsPerEpoch * config.training.epochs;
    warmup = config.training.warmupSteps > 0 ? config.training.warmupSteps
                                             : std::lround(config.training.warmupRatio * static_cast<double>(totalSteps));
    curves.stepsPerEpoch = stepsPerEpoch;
    buildOptimizer();
    prepared = true;
  }

  void buildOptimizer()
  {
    const auto &t = config.training;
    double lr = t.learningRate;
    if (t.scaleLrWithBatch)
      lr *= static_cast<double>(t.batchSize * t.gradientAccumulation) / 32.0;
    std::map<const void *, std::string> names;
    for (const auto &p : built.model->named_parameters())
      names[p.value().unsafeGetTensorImpl()] = p.key();
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groupLr.clear();
    auto options = [&](double groupLrValue, double decay) -> std::unique_ptr<torch::optim::OptimizerOptions> {
      if (t.optimizer == "sgd")
        return std::make_unique<torch::optim::SGDOptions>(
            torch::optim::SGDOptions(groupLrValue).momentum(t.momentum).nesterov(t.nesterov && t.momentum > 0).weight_decay(decay));
      if (t.optimizer == "adam")
        return std::make_unique<torch::optim::AdamOptions>(
            torch::optim::AdamOptions(groupLrValue).betas({t.beta1, t.beta2}).eps(t.eps).weight_decay(decay));
      return std::make_unique<torch::optim::AdamWOptions>(
          torch::optim::AdamWOptions(groupLrValue).betas({t.beta1, t.beta2}).eps(t.eps).weight_decay(decay));
    };
    for (const ParameterGroup &g : built.strategy->parameterGroups(*built.model)) {
      std::vector<torch::Tensor> decayed, plain;
      for (const torch::Tensor &p : g.parameters)
        (excludedFromWeightDecay(names[p.unsafeGetTensorImpl()]) ? plain : decayed).push_back(p);
      for (auto *list : {&decayed, &plain}) {
        if (list->empty())
          continue;
        const double groupLrValue = lr * g.learningRateScale;
        groups.emplace_back(*list, options(groupLrValue, list == &decayed ? t.weightDecay : 0.0));
        groupLr.push_back(groupLrValue);
      }
    }
    if (t.optimizer == "sgd")
      optimizer = std::make_unique<torch::optim::SGD>(groups, torch::optim::SGDOptions(lr));
    else if (t.optimizer == "adam")
      optimizer = std::make_unique<FusedAdam>(groups, torch::optim::AdamOptions(lr));
    else
      optimizer = std::make_unique<FusedAdamW>(groups, torch::optim::AdamWOptions(lr));
  }

  double applySchedule()
  {
    const auto &t = config.training;
    const double factor =
        learningRateFactor(t.scheduler, st.step, totalSteps, warmup, t.cycles, t.power) * st.plateauScale;
    auto &groups = optimizer->param_groups();
    for (std::size_t i = 0; i < groups.size(); ++i)
      groups[i].options().set_lr(groupLr[i] * factor);
    return groupLr.empty() ? 0.0 : groupLr.front() * factor;
  }

  // --- state -------------------------------------------------------------------------------
  fs::path stateDir() const { return runDir / "state"; }

  // The run folder made (new: it must be empty) or opened (resume), and locked against a second
  // process. Returns the run's id.
  const std::string &claim()
  {
    if (!runId.empty())
      return runId;
    recoverFolder(stateDir());
    resumes = fileExists(stateDir() / "trainer.json") || fileExists(runDir / "results.json");
    if (resumes)
      runId = adoptRunFolder(runDir);
    else if (const auto id = runFolderId(runDir))
      runId = *id; // claimed by the caller, or a run that never reached its first checkpoint
    else
      runId = createRunFolder(runDir);
    lock = std::make_unique<RunFolderLock>(runDir);
    return runId;
  }

  // The new state is written beside the old one, complete, then swapped in: a crash at any
  // point leaves one whole state/ to resume from.
  void saveState()
  {
    const fs::path tmp = runDir / "state.tmp";
    try {
      writeState(tmp);
    } catch (const std::exception &e) {
      std::error_code ec;
      fs::remove_all(tmp, ec); // give the space back; the previous state/ is untouched
      throw Error(
          "the run's state could not be saved (the last saved state is kept; resume continues from it): " +
          std::string(e.what()));
    }
    faultPoint("state-written");
    replaceFolder(tmp, stateDir());
    observer->onCheckpoint("last", stateDir());
  }

  void writeState(const fs::path &tmp)
  {
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    saveModel(*built.model, tmp / "model.pt");
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    opt.write("rng", torch::globalContext().defaultGenerator(at::kCPU).get_state(), true);
    saveArchive(opt, tmp / "optimizer.pt");
    writeJsonFile(tmp / "trainer.json", st.toJson(st.elapsedBefore + elapsed()));
  }

  void loadState()
  {
    const fs::path file = stateDir() / "trainer.json";
    TrainingState::Limits limits;
    limits.totalSteps = totalSteps;
    limits.epochs = std::max<long>(config.training.epochs, totalSteps);
    limits.batchesInEpoch = (std::max(1L, stepsPerEpoch) + 1) * config.training.gradientAccumulation;
    st = TrainingState::fromJson(readJsonFile(file), file, limits);
    loadModel(*built.model, stateDir() / "model.pt");
    torch::serialize::InputArchive opt;
    opt.load_from((stateDir() / "optimizer.pt").string());
    optimizer->load(opt);
    torch::Tensor rng;
    if (opt.try_read("rng", rng, true))
    {
      at::Generator generator = torch::globalContext().defaultGenerator(at::kCPU);
      generator.set_state(rng);
    }
    // The event log keeps what happened up to the saved step; curves are rebuilt from it.
    std::vector<std::string> kept;
    std::ifstream in(runDir / "events.jsonl");
    for (std::string line; std::getline(in, line);) {
      json j;
      try {
        j = json::parse(line);
      } catch (const json::exception &) {
        break; // a line cut by the crash
      }
      if (j.value("step", 0L) > st.step)
        continue;
      kept.push_back(line);
      addToCurves(j);
    }
    std::string text;
    for (const std::string &line : kept)
      text += line + "\n";
    writeFileAtomically(runDir / "events.jsonl", text);
    observer->onResumed(st.step);
    log("resumed at step " + std::to_string(st.step) + " (epoch " + std::to_string(st.epoch + 1) + ")");
  }

  void addToCurves(const json &j)
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

  void record(const json &j)
  {
    events << j.dump() << "\n";
    events.flush();
    addToCurves(j);
  }

  // --- tasks ---------------------------------------------------------------------------------
  std::vector<std::pair<int, std::vector<int>>> epochSchedule(int e) const
  {
    std::vector<const PreparedData *> tasks = {&data};
    for (const Auxiliary &a : auxiliary)
      tasks.push_back(&a.data);
    return taskSchedule(tasks, config.training.batchSize, config.training.bucketByLength, config.seed, e,
                        config.multitask.sampling == "round_robin");
  }

  // Multi-task runs: every other task evaluated on its own split (metrics named TASK/metric) and
  // multitask_score, the mean of every task's own selection metric.
  void addAuxiliaryMetrics(EvalEvent &e, const std::string &split)
  {
    if (auxiliary.empty())
      return;
    double sum = taskSelectionScore(config, e.metrics, "");
    int tasks = 1;
    for (Auxiliary &a : auxiliary) {
      const std::vector<int> &rows = split == "test" ? a.data.split.test : a.data.split.validation;
      if (rows.empty())
        continue;
      const Evaluation ev = evaluateRows(built, a.data, rows, a.config, padId, bf16, tokenizer.get(), a.name);
      for (const auto &[k, v] : ev.event.metrics)
        e.metrics[a.name + "/" + k] = v;
      sum += taskSelectionScore(a.config, e.metrics, a.name + "/");
      ++tasks;
    }
    e.metrics["multitask_score"] = sum / tasks;
  }

  // --- time --------------------------------------------------------------------------------
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  double elapsed() const
  {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  // --- evaluation, early stopping, diagnosis -----------------------------------------------
  // The status training ends with when it should stop here: "early_stopped" (patience ran out) or
  // "failed" (a critical diagnosis), with the reason in `why`; "" to go on.
  std::string validate(std::string &why)
  {
    Evaluation ev = evaluateRows(built, data, data.split.validation, config, padId, bf16, tokenizer.get());
    EvalEvent &e = ev.event;
    addAuxiliaryMetrics(e, "validation");
    e.step = st.step;
    e.epoch = st.epoch;
    e.split = "validation";
    // The selection metric (accuracy when the data has no such metric, e.g. entity F1 on POS tags).
    const auto found = e.metrics.find(config.selectionMetric());
    const double value = found != e.metrics.end() ? found->second : e.metrics["accuracy"];
    e.best = better(value, st.best);
    if (e.best) {
      st.best = value;
      st.bestStep = st.step;
      st.badEvals = 0;
      if (config.output.saveBest) {
        saveModel(*built.model, runDir / "best" / "model.pt");
        observer->onCheckpoint("best", runDir / "best");
      }
    } else {
      ++st.badEvals;
    }
    if (config.training.scheduler == "plateau") {
      if (better(value, st.plateauBest)) {
        st.plateauBest = value;
        st.plateauBad = 0;
      } else if (++st.plateauBad > config.training.plateauPatience) {
        st.plateauScale *= config.training.plateauFactor;
        st.plateauBad = 0;
        log("learning rate reduced to " + std::to_string(st.plateauScale) + " × base (no improvement)");
      }
    }
    record(eventJson(e));
    observer->onEvaluation(e);
    for (std::size_t i = 0; i < std::min<std::size_t>(3, ev.samples.size()); ++i) { // the log shows three
      const Evaluation::Sample &sample = ev.samples[i];
      log("sample: " + sample.prompt + sample.generated + "\n  (reference: " + sample.reference + ")");
    }
    for (const Diagnosis &d : diagnose(curves, std::max(2, std::min(3, config.evaluation.patience)))) {
      const std::string kind = diagnosisKindName(d.kind);
      if (st.raised.count(kind))
        continue;
      st.raised.insert(kind);
      diagnoses.push_back(d);
      record({{"type", "diagnosis"}, {"step", st.step}, {"diagnosis", diagnosisJson(d)}});
      observer->onDiagnosis(d);
      if (d.critical) {
        why = d.title + ": " + d.evidence;
        return "failed";
      }
    }
    if (config.evaluation.patience > 0 && st.badEvals >= config.evaluation.patience) {
      why = "early stopping: " + config.selectionMetric() + " did not improve for " +
            std::to_string(st.badEvals) + " evaluations (best " + std::to_string(st.best) + " at step " +
            std::to_string(st.bestStep) + ")";
      return "early_stopped";
    }
    return {};
  }

  RunResult finish(const std::string &status, const std::string &reason)
  {
    RunResult r;
    r.status = status;
    r.reason = reason;
    r.steps = st.step;
    r.bestStep = st.bestStep;
    r.bestMetric = std::isnan(st.best) ? 0.0 : st.best;
    r.metric = config.selectionMetric();
    r.seconds = st.elapsedBefore + elapsed();
    const TrainableReport tr = trainableReport(*built.model);
    r.trainableParameters = tr.trainable;
    r.totalParameters = tr.total;
    curves.finished = true;
    for (const Diagnosis &d : diagnose(curves, 2)) {
      const std::string kind = diagnosisKindName(d.kind);
      if (!st.raised.count(kind)) {
        st.raised.insert(kind);
        diagnoses.push_back(d);
        observer->onDiagnosis(d);
      }
    }
    r.diagnoses = diagnoses;
    if (status != "stopped") {
      if (fileExists(runDir / "best" / "model.pt"))
        loadModel(*built.model, runDir / "best" / "model.pt");
      Evaluation v = evaluateRows(built, data, data.split.validation, config, padId, bf16, tokenizer.get());
      r.validation = v.event;
      addAuxiliaryMetrics(r.validation, "validation");
      r.validation.split = "validation";
      r.validation.step = st.bestStep;
      if (!data.split.test.empty()) {
        Evaluation t = evaluateRows(built, data, data.split.test, config, padId, bf16, tokenizer.get());
        r.test = t.event;
        addAuxiliaryMetrics(r.test, "test");
        r.test.split = "test";
        r.test.step = st.bestStep;
        record(eventJson(r.test));
        observer->onEvaluation(r.test);
      }
      if (config.task.kind == "single_label" && !data.split.test.empty()) {
        std::map<int, int> counts;
        for (int row : data.split.train)
          ++counts[data.encoded[static_cast<std::size_t>(row)].label];
        int majority = 0, most = -1;
        for (const auto &[label, n] : counts)
          if (n > most) {
            most = n;
            majority = label;
          }
        int right = 0;
        for (int row : data.split.test)
          right += data.encoded[static_cast<std::size_t>(row)].label == majority;
        r.majorityBaseline = static_cast<double>(right) / static_cast<double>(data.split.test.size());
      }
    }
    r.peakMemoryMiB = peakResidentMiB();
    json diag = json::array();
    for (const Diagnosis &d : r.diagnoses)
      diag.push_back(diagnosisJson(d));
    writeJsonFile(runDir / "results.json",
              {{"status", r.status}, {"reason", r.reason}, {"steps", r.steps}, {"total_steps", totalSteps},
               {"best_step", r.bestStep}, {"metric", r.metric}, {"best_metric", r.bestMetric},
               {"validation", eventJson(r.validation)}, {"test", eventJson(r.test)}, {"diagnoses", diag},
               {"seconds", r.seconds}, {"peak_memory_mib", r.peakMemoryMiB},
               {"trainable_parameters", r.trainableParameters}, {"total_parameters", r.totalParameters},
               {"majority_baseline", r.majorityBaseline}, {"strategy", config.strategy.name},
               {"frozen_cache", frozenCacheJson(built.frozenCache.get())}});
    observer->onFinished(r);
    return r;
  }

  RunResult run()
  {
    claim();
    const bool resuming = fileExists(stateDir() / "trainer.json");
    if (fileExists(runDir / "results.json")) {
      // A stopped run's interim result is replaced; a finished run is never trained again.
      if (!resuming || readJsonFile(runDir / "results.json").value("status", "") != "stopped")
        throw Error(runDir.string() + ": this run has finished; nothing to resume (results.json)");
      fs::remove(runDir / "results.json");
    }
    prepare();
    if (resuming) {
      loadState();
    } else {
      ExperimentConfig resolved = config;
      resolved.model.path = config.resolve(config.model.path).string();
      resolved.data.path = config.resolve(config.data.path).string();
      resolved.output.runs = config.resolve(config.output.runs).string();
      writeFileAtomically(runDir / "config.yaml", resolved.toYaml());
      writeJsonFile(runDir / "labels.json", data.labels);
      writeJsonFile(runDir / "split.json", {{"train", data.split.train}, {"validation", data.split.validation},
                                        {"test", data.split.test}});
      fs::remove(runDir / "events.jsonl");
    }
    events.open(runDir / "events.jsonl", std::ios::app);
    started = std::chrono::steady_clock::now();
    log("training: " + std::to_string(totalSteps) + " steps (" + std::to_string(stepsPerEpoch) + " per epoch), warm-up " +
        std::to_string(warmup));

    const auto &t = config.training;
    built.model->train();
    std::string why;
    bool done = st.step >= totalSteps;
    std::string status = "finished";
    for (; !done && st.epoch < std::max(t.epochs, t.maxSteps > 0 ? 1 << 30 : 0);) {
      const auto batches = epochSchedule(st.epoch);
      while (!done && st.batchInEpoch < static_cast<long>(batches.size())) {
        const auto stepStart = std::chrono::steady_clock::now();
        dropGradients(*optimizer);
        const long micro =
            std::min<long>(t.gradientAccumulation, static_cast<long>(batches.size()) - st.batchInEpoch);
        double lossSum = 0;
        long tokens = 0;
        std::string stepTask; // multi-task: the task of this step's batches ("mixed" when several)
        for (long m = 0; m < micro; ++m, ++st.batchInEpoch) {
          // Pre-training noise differs per epoch and batch, and repeats exactly on resume.
          const std::uint64_t noiseSeed = config.seed * 1000003ULL +
                                          static_cast<std::uint64_t>(st.epoch) * 7919ULL +
                                          static_cast<std::uint64_t>(st.batchInEpoch);
          const auto &[taskIndex, rows] = batches[static_cast<std::size_t>(st.batchInEpoch)];
          const Auxiliary *aux = taskIndex > 0 ? &auxiliary[static_cast<std::size_t>(taskIndex - 1)] : nullptr;
          const PreparedData &taskData = aux ? aux->data : data;
          const std::string &kind = aux ? aux->config.task.kind : config.task.kind;
          const std::string taskName = aux ? aux->name : std::string(kTaskHead);
          stepTask = stepTask.empty() || stepTask == taskName ? taskName : "mixed";
          const Batch b = collate(taskData.encoded, rows, padId, kind, static_cast<int>(taskData.labels.size()),
                                  built.noiseOrNull(), noiseSeed);
          torch::Tensor loss;
          {
            AutocastScope autocast(bf16);
            const torch::Tensor logits = built.forward(b, aux ? aux->name : std::string(kTaskHead));
            loss = lossOf(logits, b, kind, t.labelSmoothing);
            if (aux)
              loss = loss * aux->weight;
          }
          (loss / static_cast<double>(micro)).backward();
          lossSum += loss.item<double>();
          tokens += b.tokens;
        }
        const double loss = lossSum / static_cast<double>(micro);
        std::vector<torch::Tensor> params;
        for (const auto &g : optimizer->param_groups())
          for (const auto &p : g.params())
            if (p.grad().defined())
              params.push_back(p);
        double gradNorm = 0;
        if (t.maxGradNorm > 0) {
          gradNorm = torch::nn::utils::clip_grad_norm_(params, t.maxGradNorm);
        } else {
          for (const auto &p : params)
            gradNorm += p.grad().pow(2).sum().item<double>();
          gradNorm = std::sqrt(gradNorm);
        }
        StepEvent e;
        e.epoch = st.epoch;
        e.totalSteps = totalSteps;
        e.loss = loss;
        e.gradNorm = gradNorm;
        e.learningRate = applySchedule();
        if (std::isfinite(loss) && std::isfinite(gradNorm))
          optimizer->step();
        ++st.step;
        e.step = st.step;
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - stepStart).count();
        e.tokensPerSecond = seconds > 0 ? static_cast<double>(tokens) / seconds : 0;
        e.elapsedSeconds = st.elapsedBefore + elapsed();
        json stepJson = eventJson(e);
        if (!auxiliary.empty())
          stepJson["task"] = stepTask;
        record(stepJson);
        observer->onStep(e);
        if (!std::isfinite(loss) || !std::isfinite(gradNorm)) {
          for (const Diagnosis &d : diagnose(curves))
            if (d.critical && !st.raised.count(diagnosisKindName(d.kind))) {
              st.raised.insert(diagnosisKindName(d.kind));
              diagnoses.push_back(d);
              observer->onDiagnosis(d);
              why = d.title + ": " + d.evidence;
            }
          status = "failed";
          done = true;
          break;
        }
        if (t.maxSteps > 0 && st.step >= t.maxSteps)
          done = true;
        if (config.evaluation.everySteps > 0 && st.step % config.evaluation.everySteps == 0 && !done) {
          if (const std::string end = validate(why); !end.empty()) {
            status = end;
            done = true;
          }
          saveState();
        }
        while (paused && !stop)
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (stop && !done) {
          saveState();
          return finish("stopped", "stopped by the user at step " + std::to_string(st.step) +
                                       "; resume continues from here");
        }
      }
      if (status == "failed")
        break;
      const bool epochEnded = st.batchInEpoch >= static_cast<long>(batches.size());
      if (epochEnded) {
        ++st.epoch;
        st.batchInEpoch = 0;
      }
      if ((epochEnded && config.evaluation.everySteps == 0) || done) {
        if (const std::string end = validate(why); !end.empty() && status == "finished") {
          status = end;
          done = true;
        }
        saveState();
      }
      if (st.epoch >= t.epochs && t.maxSteps == 0)
        done = true;
    }
    if (why.empty())
      why = status == "finished" ? "completed " + std::to_string(st.step) + " steps" : why;
    return finish(status, why);
  }
};

Trainer::Trainer(ExperimentConfig config, fs::path runDir) : d(std::make_unique<Impl>())
{
  d->config = std::move(config);
  d->runDir = std::move(runDir);
}

// The run's model, optimizer state and activations go back to the system.
// The run's bf16 weight copies (core/models/bf16linear.h) and freed memory go back.
Trainer::~Trainer() { d.reset(); releaseBf16Shadows(); releaseFreeMemory(); }
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
