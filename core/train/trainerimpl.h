#pragma once

// The trainer's insides, shared by the files that implement it (not for use elsewhere):
//   trainer.cpp      the run: start, the loop, the one step function, the sanity check
//   trainerprep.cpp  preparation (data, model, plan, optimizer) and the run folder's state
//   trainereval.cpp  evaluation, best model, plateau, early stopping, diagnosis, the result

#include "core/runtime/distributed.h"
#include "core/runtime/generator.h"
#include "core/tokenize/tokenizer.h"
#include "core/train/builtmodel.h"
#include "core/train/dataprep.h"
#include "core/train/diagnosis.h"
#include "core/train/evaluation.h"
#include "core/train/forgetting.h"
#include "core/train/gradsync.h"
#include "core/train/optimizers.h"
#include "core/train/trainer.h"
#include "core/train/trainstate.h"
#include "core/util/runfolder.h"
#include "core/util/runstatus.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tunebench {

using EpochSchedule = std::vector<std::pair<int, std::vector<int>>>; // (task, rows) per micro-batch

inline double secondsSince(std::chrono::steady_clock::time_point t)
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

struct Trainer::Impl
{
  using json = nlohmann::json;
  using path = std::filesystem::path;

  ExperimentConfig config;
  path runDir;
  std::string runId;                   // run.json's id, once the folder is claimed
  std::unique_ptr<RunFolderLock> lock; // held while this Trainer owns the folder
  bool resumes = false;                // the claimed folder holds a run to continue
  TrainingObserver defaultObserver;
  TrainingObserver *observer = &defaultObserver;
  std::atomic<bool> stop{false};
  std::atomic<bool> paused{false};
  // The run's own random numbers (initialisation, dropout): never the process-wide generator.
  at::Generator generator;

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
  std::unique_ptr<ForgettingMeter> meter;   // forgetting.reference
  std::optional<StartingPointPenalty> l2sp; // training.l2_sp
  double forgettingBefore = std::nan("");   // the meter on the starting weights
  std::unique_ptr<PreviousTask> previous;   // forgetting.previous_run
  double previousBefore = std::nan("");
  Optimization opt;
  int padId = 0;
  bool bf16 = false;
  bool prepared = false;
  bool finishing = false; // the final evaluation began
  bool restarts = false;  // the folder's run never reached a checkpoint: it starts again

  TrainingState st; // where the run stands (saved in state/trainer.json)
  long stepsPerEpoch = 1;
  long totalSteps = 1;
  long warmup = 0;
  TrainingCurves curves;
  std::vector<Diagnosis> diagnoses;
  std::ofstream events;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  // Data parallel (setProcessGroup): this rank's group, and its gradient averaging. Rank 0 alone
  // writes the run folder; every rank computes the same decisions from the same gathered numbers.
  torch::Device device{torch::kCPU}; // training.device, resolved when the model is built
  ProcessGroup *group = nullptr;
  std::unique_ptr<GradientSync> gradSync;
  std::chrono::steady_clock::time_point lastHeartbeats; // when rank 0 last read them
  bool pauseAgreed = false;                             // a rank asked for a pause at the last step
  bool stopAgreed = false;                              // a rank asked for a stop at the last step
  bool stopping() const { return group ? stopAgreed : stop.load(); }
  // Paused (the GUI's button): the ranks wait together until it is released or a stop comes.
  void waitWhilePaused();
  int rank() const { return group ? group->rank() : 0; }
  int world() const { return group ? group->worldSize() : 1; }
  bool writes() const { return rank() == 0; }
  // The batch the schedule cuts: batch_size per rank × ranks.
  int globalBatch() const { return config.training.batchSize * world(); }
  // This rank's share of a global batch's rows (contiguous, as even as the rows allow).
  std::vector<int> shareOf(const std::vector<int> &rows) const;

  Impl(ExperimentConfig c, path dir)
    : config(std::move(c))
    , runDir(std::move(dir))
    , generator(seededGenerator(config.seed))
  {}

  void log(const std::string &message) { observer->onLog(message); }
  double elapsed() const { return secondsSince(started); }

  bool better(double value, double reference) const;

  // --- preparation -------------------------------------------------------------------------
  void prepare();

  void requireLabels(const PreparedData &d, const std::string &kind, const std::string &what) const;

  // The tokenizer and every task's data; returns the other tasks' heads.
  std::vector<HeadSpec> loadTasks();

  void prepareModel(const std::vector<HeadSpec> &extraHeads);

  void planSteps();

  // Data parallel: the weights made equal, the gradient buckets hooked, the rank's generator.
  void joinGroup();

  double applySchedule();

  // --- the run folder ------------------------------------------------------------------------
  path stateDir() const { return runDir / "state"; }

  // The run folder made (new: it must be empty) or opened (resume), and locked against a second
  // process. Returns the run's id.
  const std::string &claim();

  void saveState();

  void loadState();

  void addToCurves(const json &j);

  void record(const json &j);

  // --- tasks ---------------------------------------------------------------------------------
  EpochSchedule epochSchedule(int e) const;

  // Multi-task runs: every other task evaluated on its own split (metrics named TASK/metric) and
  // multitask_score, the mean of every task's own selection metric.
  void addAuxiliaryMetrics(EvalEvent &e, const std::string &split);

  // Every task on one split: the main task's metrics with the others' beside them.
  // With forgetting.* the meters' values go along (measured, or taken from `measured`: an event of
  // the same weights).
  Evaluation evaluateSplit(const std::string &split, long step, const EvalEvent *measured = nullptr);

  // --- one optimizer step --------------------------------------------------------------------
  // The pre-training noise and rehearsal seed of the epoch's micro-batch `index`.
  std::uint64_t noiseSeedAt(long index) const;
  // This rank's part of the epoch's micro-batch `index` as tensors.
  Batch collateAt(const EpochSchedule &batches, long index) const;
  // One micro-batch's forward and backward pass (the loss × weight divided by the step's
  // micro-batches; weight: this rank's share of the global batch's loss terms × ranks, 1 alone);
  // returns its part of the global batch's loss.
  double microStep(const Batch &b, int taskIndex, long micro, double weight, std::uint64_t noiseSeed,
                   std::string &stepTask);
  // Data parallel: each micro-batch's weight from every rank's count of loss terms (one all-reduce).
  std::vector<double> weightsOf(const std::vector<Batch> &micro, const std::vector<int> &tasks);

  // The one step function: up to gradient_accumulation micro-batches of the epoch's schedule, the
  // gradient norm (clipped), the scheduled LR and the update (skipped when anything is not finite).
  // stepTask: multi-task runs, the task of the step's batches ("mixed" when several).
  StepEvent takeStep(const EpochSchedule &batches, std::string &stepTask);

  // --- evaluation, early stopping, diagnosis -----------------------------------------------
  void keepBest(EvalEvent &e, double value);

  void reduceOnPlateau(double value);

  enum class Raise {
    RecordUntilCritical, // during training: recorded in events.jsonl; the first critical one stops
    All,                 // the final result's
    CriticalOnly,        // a step that was not finite
  };
  // Reports the diagnoses not raised before; returns the first critical one's reason ("" when none
  // is critical).
  std::string raiseDiagnoses(const std::vector<Diagnosis> &found, Raise how);

  // Validation during training. Returns the status training ends with when it should stop here
  // (EarlyStopped: patience ran out; Failed: a critical diagnosis), with the reason in `why`.
  std::optional<RunStatus> validate(std::string &why);

  // The best checkpoint evaluated on validation and test (test recorded and reported).
  void evaluateBest(RunResult &r);

  RunResult finish(RunStatus status, const std::string &reason);

  // --- the run -------------------------------------------------------------------------------
  // The folder claimed; whether it holds a run to resume (a finished run is refused).
  bool claimToStart();
  // claimToStart() on rank 0, its answer (or its error) on every rank.
  bool agreeOnStart();
  // The step of the saved state (0: none).
  long savedStep() const;
  // A new run's files, or a resumed run's state; the event log opened.
  void start();

  // The step's event recorded and reported; a loss or gradient that is not finite fails the run.
  bool recordStep(const StepEvent &e, const std::string &stepTask, std::string &why);

  // A due validation run and the state saved (keepEarlierEnd: an end already decided stands).
  void validateAndSave(RunStatus &status, bool &done, std::string &why, bool keepEarlierEnd);
  // The loop from where the state stands to the result; throws Stopped when asked to stop.
  RunResult train();
  // Trains (or resumes) under the run's generator and stop flag.
  RunResult run();
};

} // namespace tunebench
