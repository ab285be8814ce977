#pragma once

#include "core/experiments/plan.h"
#include "core/train/trainer.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
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
  // Of the children that ran, in plan order (one per child up to where the plan ended); a child
  // skipped before it started is Stopped with reason "skipped", one skipped while running is
  // Stopped and resumable. Only finished and early-stopped children enter the summary.
  std::vector<RunResult> results;
  nlohmann::json summary;         // what cv.json / sweep.json hold (empty unless finished)
};

// Children as separate processes (`PROGRAM train CHILD.yaml --run-dir DIR --parent ID --quiet`,
// the config written to ROOT/workers/NAME.yaml, its output to ROOT/workers/NAME.log), `workers` at
// a time, each with `threadsEach` intra-op threads, recording into `workspace`'s history.
struct PlanWorkers
{
  int workers = 1;                 // 1: every child in this process, one after the other (live events)
  std::string program;             // tunebench-cli
  std::filesystem::path workspace; // the history the runner's store holds
  int threadsEach = 1;
};

// Runs a plan's children one after the other (or `workers` at a time, each a process of its own), each
// recorded in the history under the plan's parent row (the root folder's run.json is its identity: a root
// made before is continued, a new one must be empty; a child that finished before is not trained again). When
// all are done the aggregate goes to the parent's summaries and to ROOT/cv.json or ROOT/sweep.json. Problems
// with a child's data or model throw tunebench::Error after the child and the parent are marked failed.
class PlanRunner
{
public:
  explicit PlanRunner(RunStore &store);
  // Before run(): children as concurrent processes. A worker's events reach the observer only as
  // onRunStarted / onRunFinished (runObserver is not asked); stop, skip and pause reach the child
  // processes as SIGINT (it stops at its next step, resumable), SIGSTOP and SIGCONT.
  void setWorkers(PlanWorkers workers) { m_workers = std::move(workers); }
  PlanOutcome run(const ExperimentPlan &plan, PlanObserver *observer = nullptr);
  // Thread- and signal-safe: the running child stops at its next step (resumable), the plan ends.
  void requestStop();
  // Thread-safe: the child at `index` does not run (a queued one is left out; the running one
  // stops at its next step, resumable) and the plan goes on with the next.
  void skip(std::size_t index);
  // Thread-safe: the running child waits between steps (and so does every later one until resumed).
  void setPaused(bool paused);
  bool paused() const { return m_paused; }

private:
  friend class PlanWorkerPool; // core/experiments/workers.cpp
  bool skipped(std::size_t index);
  // The children up to where the plan ended: status Finished when every child got its turn.
  PlanOutcome runInProcess(const ExperimentPlan &plan, PlanObserver &observer, std::int64_t parent);
  PlanOutcome runInWorkers(const ExperimentPlan &plan, PlanObserver &observer, std::int64_t parent);

  RunStore &m_store;
  std::atomic<bool> m_stop{false}, m_paused{false};
  std::atomic<Trainer *> m_current{nullptr};
  std::atomic<std::size_t> m_currentIndex{0};
  std::mutex m_skipMutex; // guards m_skip
  std::vector<std::size_t> m_skip;
  PlanWorkers m_workers;
};

// The result of a child that is not to run: one whose folder already holds a finished (or
// early-stopped) run (a plan continued), or one skipped before it started (Stopped, "skipped").
std::optional<RunResult> resultWithoutRunning(const PlannedRun &child, bool skipped);

// Mean and sample standard deviation ({"mean", "std"}).
nlohmann::json meanAndStd(const std::vector<double> &values);

// The aggregate of finished children: cross-validation {"folds", "runs", "test", "root"}, a sweep
// {"points" (sorted by the validation selection metric, best first), "seeds", "root"}.
nlohmann::json summarizePlan(const ExperimentPlan &plan, const std::vector<RunResult> &results);

} // namespace tunebench
