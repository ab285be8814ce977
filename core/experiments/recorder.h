#pragma once

#include "core/runs/runstore.h"
#include "core/train/trainer.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace tunebench {

// Records a training run into the store as it happens (batched: a transaction every 200 points
// and at evaluations, checkpoints and the end); a resume deletes what was recorded after the
// restored step. Events go on to `next`.
class RunRecorder final : public TrainingObserver
{
public:
  RunRecorder(RunStore &store, std::int64_t run, TrainingObserver *next = nullptr);
  void onLog(const std::string &message) override;
  void onPlanned(const StartEvent &plan) override;
  void onStep(const StepEvent &e) override;
  void onEvaluation(const EvalEvent &e) override;
  void onCheckpoint(const std::string &kind, const std::filesystem::path &path) override;
  void onDiagnosis(const Diagnosis &d) override;
  void onResumed(long step) override;
  void onFinished(const RunResult &r) override;

private:
  RunStore &m_store;
  std::int64_t m_run;
  TrainingObserver *m_next;
  double m_wall = 0; // elapsed seconds at the last step (evaluations are stamped with it)
};

// One training run recorded in the history, the way every front end starts one: the folder is
// claimed (made, or opened and locked for a resume), its row found by the folder's run id or
// created under `parent`, every event recorded and passed on to `next`; a run that cannot start
// (bad data, model) is marked failed with the reason before the error goes on.
class RecordedRun
{
public:
  RecordedRun(RunStore &store, Trainer &trainer, std::int64_t parent = 0, TrainingObserver *next = nullptr);
  std::int64_t id() const { return m_id; }
  RunResult run();

private:
  RunStore &m_store;
  Trainer &m_trainer;
  std::int64_t m_id = 0;
  RunRecorder m_recorder;
};

} // namespace tunebench
