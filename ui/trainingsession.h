#pragma once

#include "core/experiments/plan.h"
#include "core/train/trainer.h"

#include <QObject>
#include <QString>
#include <QStringList>
#include <QTimer>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace tunebench {

class PlanRunner;
class RunStore;

// Runs one experiment in a worker thread and hands its events to the GUI thread in coalesced
// batches (a timer drains a locked queue every 100 ms): the GUI never touches tensors and never
// waits on training. The run is recorded in the workspace's run history like a CLI run.
class TrainingSession final : public QObject
{
  Q_OBJECT

public:
  explicit TrainingSession(QObject *parent = nullptr);
  ~TrainingSession() override; // stops a running run and waits for it

  // Starts a parsed, valid experiment (ExperimentView::parsed) in workspace/runs and returns {},
  // or why it cannot start.
  QStringList start(ExperimentConfig config, const QString &workspace);
  // Runs a plan's children one at a time (PlanRunner) in workspace/runs, each recorded under the
  // plan's parent; their training events arrive as a single run's do, each child announced first.
  // `workers` > 1: that many children at once, each a tunebench-cli process (no live events).
  QStringList startPlan(ExperimentPlan plan, const QString &workspace, int workers = 1);
  bool planRunning() const { return running() && m_planRunner != nullptr; }
  // The plan's child `index` does not run (queued) or stops now, resumable (running); the plan goes on.
  void skip(int index);
  // Continues a stopped or interrupted run folder.
  QStringList resume(const QString &runDir, const QString &workspace);
  bool running() const { return m_worker.joinable() && !m_done; }
  void setPaused(bool paused);
  bool paused() const;
  void stop();
  QString runDir() const { return m_runDir; }
  // The metric that selects the best checkpoint of the run started or resumed (its own config).
  QString selectionMetric() const;

Q_SIGNALS:
  void started(const QString &runDir);
  // The run's plan from the trainer (steps per epoch, metric), before its first step.
  void planned(const tunebench::StartEvent &plan);
  void steps(const std::vector<tunebench::StepEvent> &batch);
  void evaluation(const tunebench::EvalEvent &event);
  void diagnosis(const tunebench::Diagnosis &diagnosis);
  void logLine(const QString &line);
  void finished(const QString &status, const QString &reason);
  // A plan's child began (its folder) or ended (status as the history names it, or "skipped").
  void childStarted(int index, const QString &runDir);
  void childFinished(int index, const QString &status, const QString &reason);

private:
  void drain();
  // On the worker thread: body() trains and returns the status and reason finished() reports (an
  // exception: "failed" and its message).
  void runWorker(std::function<std::pair<std::string, std::string>()> body);

  class Forwarder;
  class PlanForwarder;
  struct RankProcesses;
  // The run (a new one, or a resume) on the worker thread; data parallel with its other ranks.
  QStringList launch(ExperimentConfig config, const QString &runDir, const QString &workspace, bool resuming);
  std::unique_ptr<RankProcesses> startOtherRanks(const ExperimentConfig &config, bool resuming);
  struct ChildEvent
  {
    int index = 0;
    bool started = false;
    std::string status, reason, dir;
  };
  std::unique_ptr<Trainer> m_trainer;
  std::unique_ptr<RunStore> m_planStore; // the plan's history connection (its worker alone uses it)
  std::unique_ptr<PlanRunner> m_planRunner;
  QString m_planMetric;
  std::unique_ptr<Forwarder> m_forwarder;
  std::thread m_worker;
  std::atomic<bool> m_done{true};
  QTimer m_timer;
  QString m_runDir;

  std::mutex m_mutex; // guards the queues below
  std::optional<StartEvent> m_plan;
  std::vector<StepEvent> m_steps;
  std::vector<EvalEvent> m_evals;
  std::vector<Diagnosis> m_diagnoses;
  std::vector<std::string> m_logs;
  std::vector<ChildEvent> m_children;
  bool m_finished = false;
  std::string m_status, m_reason;
};

} // namespace tunebench

Q_DECLARE_METATYPE(std::vector<tunebench::StepEvent>)
Q_DECLARE_METATYPE(tunebench::EvalEvent)
Q_DECLARE_METATYPE(tunebench::StartEvent)
Q_DECLARE_METATYPE(tunebench::Diagnosis)
