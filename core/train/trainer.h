#pragma once

#include "core/config/experiment.h"
#include "core/train/events.h"

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

namespace tunebench {

class ProcessGroup;

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
  // Data-parallel training: this Trainer is one rank of `group` (which outlives the run). Every
  // rank trains its share of each global batch (batch_size × ranks) and the gradients are
  // averaged; rank 0 alone claims and writes the run folder (the others must not call
  // claimFolder()), and resumes need the same number of ranks. A rank that stops answering ends
  // the run as interrupted, naming it.
  void setProcessGroup(ProcessGroup *group);
  // Makes the run folder (it must not exist or be empty; run.json holds the run's new id) or
  // opens the existing run of a resume, locks it against a second process for this Trainer's life,
  // and returns the run's id (the history's key). run() calls it when the caller has not.
  std::string claimFolder();
  // After claimFolder(): whether the folder holds a run to continue (from its saved state, or
  // from its first step when it died before its first checkpoint).
  bool resumes() const;
  // Trains (or resumes) to the end. Problems with the data or model throw tunebench::Error before
  // any step; problems during training end the run with status "failed" and a reason.
  RunResult run();

  // Thread-safe controls (GUI buttons, Ctrl-C): stop saves resumable state first.
  void requestStop();
  void setPaused(bool paused);
  bool paused() const;

  // The sanity check: trains on one small batch without dropout for up to `steps` steps; the loss
  // must approach zero. Returns "" when it does, else what looks broken. Trains this Trainer's model
  // in memory only: the run folder is neither claimed nor written.
  std::string overfitOneBatch(int steps = 100);

  const std::filesystem::path &runDir() const;
  const ExperimentConfig &config() const;

private:
  struct Impl;
  std::unique_ptr<Impl> d;
};

// A new run folder name under the config's runs folder: NAME-YYYYMMDD-HHMMSS (unique).
std::filesystem::path newRunDir(const ExperimentConfig &config);

// Whether a run of this config computes in bf16 autocast (precision bf16, or auto on a CPU with
// bf16): training, its final evaluation and later evaluations of the saved run alike.
bool computesInBf16(const ExperimentConfig &config);

} // namespace tunebench
