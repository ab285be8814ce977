#pragma once

#include "core/train/diagnosis.h"
#include "core/util/runstatus.h"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tunebench {

// A training run's events: what the trainer reports as it goes and where a run ended.

// One optimizer step, as the live charts show it.
struct StepEvent
{
  long step = 0; // optimizer steps done
  long totalSteps = 0;
  int epoch = 0;           // 0-based
  double loss = 0;         // mean over the accumulated micro-batches
  double learningRate = 0; // the base group's LR used for this step
  double gradNorm = 0;     // before clipping
  double tokensPerSecond = 0;
  double elapsedSeconds = 0;
  long tokens = 0; // tokens trained on up to and including this step (padding excluded)
  // Data parallel (rank 0, every few seconds): each rank's own tokens/s and how long ago its last
  // heartbeat came (a rank that hangs shows a growing age).
  struct Rank
  {
    int rank = 0;
    long step = 0;
    double tokensPerSecond = 0;
    double heartbeatAge = 0;
  };
  std::vector<Rank> ranks;
};

// One evaluation (validation during training, test at the end).
struct EvalEvent
{
  long step = 0;
  int epoch = 0;
  std::string split;
  double loss = 0;
  std::map<std::string, double>
      metrics;       // accuracy, macro_f1, micro_f1, weighted_f1, entity_f1, token_accuracy
  bool best = false; // the best so far (validation)
};

// What a run is about to do, known once its data and model are prepared (a resumed run's too).
struct StartEvent
{
  long stepsPerEpoch = 1;
  long totalSteps = 0;
  long warmupSteps = 0;
  long startStep = 0; // 0, or the step a resumed run continues from
  std::string metric; // the selection metric (validation)
  bool higherIsBetter = true;
  // The forgetting meter's value on the starting weights (NaN when forgetting.reference is off);
  // validations then carry "reference_loss".
  double referenceLossBefore = std::nan("");
};

// Where a run ended and with what.
struct RunResult
{
  RunStatus status = RunStatus::Finished; // Finished, EarlyStopped, Stopped (resumable) or Failed
  std::string reason; // in words
  long steps = 0;
  long bestStep = -1;
  double bestMetric = 0; // selection metric of the best checkpoint on validation
  std::string metric;    // its name
  EvalEvent test;        // the best checkpoint on the test split (split empty if none)
  EvalEvent validation;  // the best checkpoint on validation
  std::vector<Diagnosis> diagnoses;
  double seconds = 0;
  double peakMemoryMiB = 0; // peak resident memory of the process
  std::int64_t trainableParameters = 0;
  std::int64_t totalParameters = 0;
  double majorityBaseline = 0; // test accuracy of always answering the most frequent training label
  // The forgetting meter (forgetting.reference): its objective, the loss before training and on
  // the best checkpoint (the test event's reference_loss); objective empty when off.
  std::string forgettingObjective;
  double forgettingBefore = 0, forgettingAfter = 0;
  // forgetting.previous_run: the earlier task's metric ("previous_accuracy") before and after.
  std::string previousMetric;
  double previousBefore = 0, previousAfter = 0;
  // Data parallel: the world, the backend, what one step all-reduced and how long this rank waited
  // for communication that the backward pass did not hide.
  int worldSize = 1;
  std::string backend;
  std::int64_t allReducedBytesPerStep = 0;
  double communicationWaitSeconds = 0;
};

// Receives a run's events (the CLI's progress bar, the GUI's charts, the run store).
class TrainingObserver
{
public:
  virtual ~TrainingObserver() = default;
  virtual void onLog(const std::string &) {}
  // Before the first step of this process: the run's plan.
  virtual void onPlanned(const StartEvent &) {}
  virtual void onStep(const StepEvent &) {}
  virtual void onEvaluation(const EvalEvent &) {}
  virtual void onCheckpoint(const std::string & /*kind: best|last*/, const std::filesystem::path &) {}
  virtual void onDiagnosis(const Diagnosis &) {}
  // A resumed run restarts from its saved state at `step`: what was recorded after it is void.
  virtual void onResumed(long /*step*/) {}
  virtual void onFinished(const RunResult &) {}
};

// The lines of a run's events.jsonl (and of results.json's evaluations and diagnoses).
nlohmann::json eventJson(const StepEvent &e);
nlohmann::json eventJson(const EvalEvent &e);
nlohmann::json diagnosisJson(const Diagnosis &d);

} // namespace tunebench
