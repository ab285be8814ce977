#pragma once

#include "core/config/experiment.h"
#include "core/train/diagnosis.h"

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tunebench {

// One optimizer step, as the live charts show it.
struct StepEvent
{
  long step = 0;        // optimizer steps done
  long totalSteps = 0;
  int epoch = 0;        // 0-based
  double loss = 0;      // mean over the accumulated micro-batches
  double learningRate = 0; // the base group's LR used for this step
  double gradNorm = 0;  // before clipping
  double tokensPerSecond = 0;
  double elapsedSeconds = 0;
};

// One evaluation (validation during training, test at the end).
struct EvalEvent
{
  long step = 0;
  int epoch = 0;
  std::string split;
  double loss = 0;
  std::map<std::string, double> metrics; // accuracy, macro_f1, micro_f1, weighted_f1, entity_f1, token_accuracy
  bool best = false;                     // the best so far (validation)
};

// Where a run ended and with what.
struct RunResult
{
  std::string status;      // finished, early_stopped, stopped (resumable), failed
  std::string reason;      // in words
  long steps = 0;
  long bestStep = -1;
  double bestMetric = 0;   // selection metric of the best checkpoint on validation
  std::string metric;      // its name
  EvalEvent test;          // the best checkpoint on the test split (split empty if none)
  EvalEvent validation;    // the best checkpoint on validation
  std::vector<Diagnosis> diagnoses;
  double seconds = 0;
  double peakMemoryMiB = 0; // peak resident memory of the process
  std::int64_t trainableParameters = 0;
  std::int64_t totalParameters = 0;
  double majorityBaseline = 0; // test accuracy of always answering the most frequent training label
};

// Receives a run's events (the CLI's progress bar, the GUI's charts, the run store).
class TrainingObserver
{
public:
  virtual ~TrainingObserver() = default;
  virtual void onLog(const std::string &) {}
  virtual void onStep(const StepEvent &) {}
  virtual void onEvaluation(const EvalEvent &) {}
  virtual void onCheckpoint(const std::string & /*kind: best|last*/, const std::filesystem::path &) {}
  virtual void onDiagnosis(const Diagnosis &) {}
  // A resumed run restarts from its saved state at `step`: what was recorded after it is void.
  virtual void onResumed(long /*step*/) {}
  virtual void onFinished(const RunResult &) {}
};

// Trains one experiment into a run folder:
//   config.yaml   the resolved config        labels.json   the head's output names
//   split.json    row indices per split      events.jsonl  every step and evaluation
//   state/        resumable state (model, optimizer, scheduler, RNG, data position)
//   best/         the best model (model.pt)  results.json  the final result
//   run.json      the run's id               run.lock      held while a process trains it
// A run folder that already has state/ is resumed exactly where that state was saved. A new run
// never goes into a folder that holds anything (tunebench deletes nothing it did not make).
class Trainer
{
public:
  Trainer(ExperimentConfig config, std::filesystem::path runDir);
  ~Trainer();
  Trainer(const Trainer &) = delete;
  Trainer &operator=(const Trainer &) = delete;

  void setObserver(TrainingObserver *observer);
  // Makes the run folder (it must not exist or be empty; run.json holds the run's new id) or
  // opens the existing run of a resume, locks it against a second process for this Trainer's life,
  // and returns the run's id (the history's key). run() calls it when the caller has not.
  std::string claimFolder();
  // After claimFolder(): whether the folder holds a run to continue.
  bool resumes() const;
  // Trains (or resumes) to the end. Problems with the data or model throw tunebench::Error before
  // any step; problems during training end the run with status "failed" and a reason.
  RunResult run();

  // Thread-safe controls (GUI buttons, Ctrl-C): stop saves resumable state first.
  void requestStop();
  void setPaused(bool paused);
  bool paused() const;

  // The sanity check: trains on one small batch without dropout for up to `steps` steps; the loss
  // must approach zero. Returns "" when it does, else what looks broken.
  std::string overfitOneBatch(int steps = 100);

  const std::filesystem::path &runDir() const;
  const ExperimentConfig &config() const;

private:
  struct Impl;
  std::unique_ptr<Impl> d;
};

// A run's folder opened again for evaluation and prediction with its best model.
class TrainedRun
{
public:
  static std::unique_ptr<TrainedRun> open(const std::filesystem::path &runDir);
  ~TrainedRun();
  const ExperimentConfig &config() const;
  const std::vector<std::string> &labels() const;
  EvalEvent evaluate(const std::string &split); // train, validation or test (the run's own split)

  // Per-example results of a classification or tagging run on one split (error analysis,
  // calibration, threshold tuning, ensembles, tag repair).
  struct Detailed
  {
    EvalEvent event;
    std::vector<int> rows;     // dataset rows of the split, in split order
    std::vector<std::string> texts;
    std::vector<int> truth;    // single-label class index (-1 when unknown)
    std::vector<std::vector<double>> probabilities; // per row, per label
    // Tagging: per row, the reference and predicted tags and per word the labels' log-probabilities.
    std::vector<std::vector<std::string>> truthTags, predictedTags;
    std::vector<std::vector<std::vector<double>>> tagLogProbs;
    // Instruction tuning: greedy answers to the split's first `evaluation.generate` prompts
    // beside the reference answers.
    struct Generation
    {
      std::string prompt, generated, reference;
    };
    std::vector<Generation> generations;
  };
  Detailed evaluateDetailed(const std::string &split);

  struct Prediction
  {
    std::string text;
    std::vector<std::string> labels;   // predicted label(s), or one tag per word for tagging
    std::vector<double> probabilities; // per label (classification)
  };
  // Classification: the label(s) and probabilities; tagging: a tag per whitespace-separated word;
  // language models: the generated continuation (causal LM) or answer (instruction) as labels[0];
  // masked LM: the most likely token at each [MASK]; span corruption: the spans for the text's
  // <extra_id_N> markers, as generated.
  std::vector<Prediction> predict(const std::vector<std::string> &texts);
  // Writes the trained model: a Hugging Face folder for language models (config.json,
  // model.safetensors, tokenizer files: usable as model.path of a next run), else
  // model.safetensors + labels.json + tunebench.yaml.
  void exportTo(const std::filesystem::path &folder) const;

private:
  TrainedRun();
  std::vector<std::string> fillIn(const std::string &text);
  struct Impl;
  std::unique_ptr<Impl> d;
};

// A new run folder name under the config's runs folder: NAME-YYYYMMDD-HHMMSS (unique).
std::filesystem::path newRunDir(const ExperimentConfig &config);

// Whether a run of this config computes in bf16 autocast (precision bf16, or auto on a CPU with
// bf16): training, its final evaluation and later evaluations of the saved run alike.
bool computesInBf16(const ExperimentConfig &config);

} // namespace tunebench
