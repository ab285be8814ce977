#pragma once

#include "core/experiments/plan.h"
#include "core/train/trainer.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tunebench {

class RunStore;

// What a front end sees of a plan as it runs.
class PlanObserver
{
public:
  virtual ~PlanObserver() = default;
  // The child's training events (progress bars, charts); nullptr: none. Called before each child.
  virtual TrainingObserver *runObserver(std::size_t /*index*/) { return nullptr; }
  virtual void onRunStarted(std::size_t /*index*/, const PlannedRun & /*run*/) {}
  virtual void onRunFinished(std::size_t /*index*/, const PlannedRun & /*run*/, const RunResult & /*result*/)
  {}
};

struct PlanOutcome
{
  // Finished; Stopped (the current child saved resumable state); Failed (a cross-validation fold
  // failed: the mean would leave it out)
  RunStatus status = RunStatus::Finished;
  std::string reason;
  std::vector<RunResult> results; // of the children that ended, in plan order
  nlohmann::json summary;         // what cv.json / sweep.json hold (empty unless finished)
};

// Runs a plan's children one after the other, each recorded in the history under the plan's
// parent row (the root folder's run.json is its identity: a root made before is continued, a new
// one must be empty). When all are done the aggregate goes to the parent's summaries and to
// ROOT/cv.json or ROOT/sweep.json. Problems with a child's data or model throw tunebench::Error
// after the child and the parent are marked failed.
class PlanRunner
{
public:
  explicit PlanRunner(RunStore &store);
  PlanOutcome run(const ExperimentPlan &plan, PlanObserver *observer = nullptr);
  // Thread- and signal-safe: the running child stops at its next step (resumable), the plan ends.
  void requestStop();

private:
  RunStore &m_store;
  std::atomic<bool> m_stop{false};
  std::atomic<Trainer *> m_current{nullptr};
};

// Mean and sample standard deviation ({"mean", "std"}).
nlohmann::json meanAndStd(const std::vector<double> &values);

// The aggregate of finished children: cross-validation {"folds", "runs", "test", "root"}, a sweep
// {"points" (sorted by the validation selection metric, best first), "seeds", "root"}.
nlohmann::json summarizePlan(const ExperimentPlan &plan, const std::vector<RunResult> &results);

} // namespace tunebench
