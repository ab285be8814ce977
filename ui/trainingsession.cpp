#include "ui/trainingsession.h"

#include "core/config/experiment.h"
#include "core/experiments/recorder.h"
#include "core/experiments/runner.h"
#include "core/runs/runstore.h"
#include "core/runtime/launch.h"
#include "core/runtime/paths.h"
#include "core/runtime/runtime.h"
#include "core/util/error.h"
#include "core/util/files.h"

#include <QDir>

#include <unistd.h>

namespace tunebench {
namespace fs = std::filesystem;

// Collects the trainer's events (worker thread) into the session's queues.
class TrainingSession::Forwarder final : public TrainingObserver
{
public:
  explicit Forwarder(TrainingSession &s) : m_s(s) {}
  void onLog(const std::string &m) override
  {
    std::lock_guard lock(m_s.m_mutex);
    m_s.m_logs.push_back(m);
  }
  void onPlanned(const StartEvent &p) override
  {
    std::lock_guard lock(m_s.m_mutex);
    m_s.m_plan = p;
  }
  void onStep(const StepEvent &e) override
  {
    std::lock_guard lock(m_s.m_mutex);
    m_s.m_steps.push_back(e);
  }
  void onEvaluation(const EvalEvent &e) override
  {
    std::lock_guard lock(m_s.m_mutex);
    m_s.m_evals.push_back(e);
  }
  void onDiagnosis(const Diagnosis &d) override
  {
    std::lock_guard lock(m_s.m_mutex);
    m_s.m_diagnoses.push_back(d);
  }

private:
  TrainingSession &m_s;
};

// A plan's children: each announced (the previous child's undrawn events dropped, so no chart mixes
// two runs) and its training events through the one forwarder.
class TrainingSession::PlanForwarder final : public PlanObserver
{
public:
  explicit PlanForwarder(TrainingSession &s)
    : m_s(s)
  {}
  TrainingObserver *runObserver(std::size_t) override { return m_s.m_forwarder.get(); }
  void onRunStarted(std::size_t index, const PlannedRun &run) override
  {
    std::lock_guard lock(m_s.m_mutex);
    m_s.m_plan.reset();
    m_s.m_steps.clear();
    m_s.m_evals.clear();
    m_s.m_diagnoses.clear();
    m_s.m_children.push_back({static_cast<int>(index), true, {}, {}, run.dir.string()});
  }
  void onRunFinished(std::size_t index, const PlannedRun &run, const RunResult &r) override
  {
    std::lock_guard lock(m_s.m_mutex);
    m_s.m_children.push_back({static_cast<int>(index), false,
                              r.reason == "skipped" ? "skipped" : runStatusName(r.status), r.reason,
                              run.dir.string()});
  }

private:
  TrainingSession &m_s;
};

TrainingSession::TrainingSession(QObject *parent) : QObject(parent)
{
  qRegisterMetaType<std::vector<StepEvent>>();
  qRegisterMetaType<EvalEvent>();
  qRegisterMetaType<StartEvent>();
  qRegisterMetaType<Diagnosis>();
  m_timer.setInterval(100);
  connect(&m_timer, &QTimer::timeout, this, &TrainingSession::drain);
}

TrainingSession::~TrainingSession()
{
  stop();
  if (m_worker.joinable())
    m_worker.join();
}

QStringList TrainingSession::start(ExperimentConfig config, const QString &workspace)
{
  if (running())
    return {tr("a run is already training")};
  config.output.runs = (fs::path(workspace.toStdString()) / "runs").string();
  return launch(config, QString::fromStdString(newRunDir(config).string()), workspace, false);
}

QStringList TrainingSession::startPlan(ExperimentPlan plan, const QString &workspace, int workers)
{
  if (running())
    return {tr("a run is already training")};
  if (m_worker.joinable())
    m_worker.join();
  try {
    m_planStore = std::make_unique<RunStore>(workspace.toStdString());
  } catch (const std::exception &e) {
    return {QString::fromUtf8(e.what())};
  }
  m_trainer.reset();
  m_planRunner = std::make_unique<PlanRunner>(*m_planStore);
  m_planMetric = QString::fromStdString(plan.parent.selectionMetric());
  m_runDir = QString::fromStdString(plan.root.string());
  const int threads = applyTrainingThreads(plan.parent.training.threads);
  if (workers > 1)
    m_planRunner->setWorkers({workers, (executableDir() / "tunebench-cli").string(), workspace.toStdString(),
                              std::max(1, threads / workers)});
  runWorker([this, plan = std::move(plan)] {
    PlanForwarder observer(*this);
    const PlanOutcome outcome = m_planRunner->run(plan, &observer);
    return std::pair(std::string(runStatusName(outcome.status)), outcome.reason);
  });
  return {};
}

void TrainingSession::skip(int index)
{
  if (m_planRunner && index >= 0)
    m_planRunner->skip(static_cast<std::size_t>(index));
}

QStringList TrainingSession::resume(const QString &runDir, const QString &workspace)
{
  if (running())
    return {tr("a run is already training")};
  const fs::path dir = runDir.toStdString();
  const ConfigResult r = loadExperimentConfig(dir / "config.yaml");
  if (!r.ok())
    return {QString::fromStdString(r.problems.front().str((dir / "config.yaml").string()))};
  return launch(r.config, runDir, workspace, true);
}

// Data parallel: ranks 1… as tunebench-cli processes beside this one, which trains rank 0 (its
// config written where they can read it, paths made absolute).
struct TrainingSession::RankProcesses
{
  fs::path config;
  LocalRankGroup ranks;
  RankProcesses(const ExperimentConfig &c, const fs::path &file, const fs::path &runDir, bool resuming)
    : config(file)
    , ranks((executableDir() / "tunebench-cli").string(),
            resuming ? std::vector<std::string>{"resume", runDir.string(), "--quiet"}
                     : std::vector<std::string>{"train", file.string(), "--quiet"},
            c.training.distributed.processes,
            {c.training.distributed.backend, std::chrono::seconds(c.training.distributed.timeout)}, runDir)
  {}
  ~RankProcesses()
  {
    std::error_code ec;
    fs::remove(config, ec);
  }
};

std::unique_ptr<TrainingSession::RankProcesses>
TrainingSession::startOtherRanks(const ExperimentConfig &config, bool resuming)
{
  if (config.training.distributed.processes <= 1)
    return nullptr;
  const fs::path file =
      fs::temp_directory_path() / ("tunebench-ranks-" + std::to_string(::getpid()) + ".yaml");
  writeFileAtomically(file, config.withAbsolutePaths().toYaml());
  auto others = std::make_unique<RankProcesses>(config, file, m_runDir.toStdString(), resuming);
  m_trainer->setProcessGroup(&others->ranks.group());
  return others;
}

QStringList TrainingSession::launch(ExperimentConfig config, const QString &runDir, const QString &workspace,
                                    bool resuming)
{
  if (m_worker.joinable())
    m_worker.join();
  const int ranks = config.training.distributed.processes;
  try {
    if (ranks > 1)
      config.training.distributed.backend = ProcessGroup::backendFor(config.training.distributed.backend);
  } catch (const Error &e) {
    return {QString::fromUtf8(e.what())};
  }
  m_runDir = runDir;
  m_planRunner.reset();
  m_planStore.reset();
  // The process's threads, set here on the GUI thread (data parallel: this process's share).
  applyTrainingThreads(config.training.threads > 0 || ranks <= 1 ? config.training.threads
                                                                 : std::max(1, usableCores() / ranks));
  m_trainer = std::make_unique<Trainer>(config, runDir.toStdString());
  runWorker([this, ws = workspace.toStdString(), config, resuming] {
    const std::unique_ptr<RankProcesses> others = startOtherRanks(config, resuming);
    RunStore store(ws);
    RecordedRun recorded(store, *m_trainer, 0, m_forwarder.get()); // a run that cannot start is marked failed
    const RunResult result = recorded.run();
    if (others)
      for (const RankExit &e :
           others->ranks.finish(std::chrono::seconds(config.training.distributed.timeout + 30)))
        m_forwarder->onLog(e.describe());
    return std::pair(std::string(runStatusName(result.status)), result.reason);
  });
  return {};
}

void TrainingSession::runWorker(std::function<std::pair<std::string, std::string>()> body)
{
  m_forwarder = std::make_unique<Forwarder>(*this);
  {
    std::lock_guard lock(m_mutex);
    m_finished = false;
    m_children.clear();
  }
  m_done = false;
  m_timer.start();
  Q_EMIT started(m_runDir);
  m_worker = std::thread([this, body = std::move(body)] {
    std::pair<std::string, std::string> end;
    try {
      end = body();
    } catch (const std::exception &e) {
      end = {"failed", e.what()};
    }
    std::lock_guard lock(m_mutex);
    m_finished = true;
    m_status = end.first;
    m_reason = end.second;
  });
}

QString TrainingSession::selectionMetric() const
{
  if (m_planRunner)
    return m_planMetric;
  return m_trainer ? QString::fromStdString(m_trainer->config().selectionMetric())
                   : QStringLiteral("accuracy");
}

void TrainingSession::setPaused(bool paused)
{
  if (m_planRunner)
    m_planRunner->setPaused(paused);
  else if (m_trainer)
    m_trainer->setPaused(paused);
}

bool TrainingSession::paused() const
{
  return m_planRunner ? m_planRunner->paused() : m_trainer && m_trainer->paused();
}

void TrainingSession::stop()
{
  if (m_planRunner)
    m_planRunner->requestStop();
  else if (m_trainer)
    m_trainer->requestStop();
}

void TrainingSession::drain()
{
  std::optional<StartEvent> plan;
  std::vector<StepEvent> steps;
  std::vector<EvalEvent> evals;
  std::vector<Diagnosis> diagnoses;
  std::vector<std::string> logs;
  std::vector<ChildEvent> children;
  bool finishedNow = false;
  std::string status, reason;
  {
    std::lock_guard lock(m_mutex);
    plan.swap(m_plan);
    steps.swap(m_steps);
    evals.swap(m_evals);
    diagnoses.swap(m_diagnoses);
    logs.swap(m_logs);
    children.swap(m_children);
    if (m_finished) {
      finishedNow = true;
      m_finished = false;
      status = m_status;
      reason = m_reason;
    }
  }
  for (const std::string &l : logs)
    Q_EMIT logLine(QString::fromStdString(l));
  for (const ChildEvent &c : children) {
    if (c.started)
      Q_EMIT childStarted(c.index, QString::fromStdString(c.dir));
    else
      Q_EMIT childFinished(c.index, QString::fromStdString(c.status), QString::fromStdString(c.reason));
  }
  if (plan)
    Q_EMIT planned(*plan);
  if (!steps.empty())
    Q_EMIT this->steps(steps);
  for (const EvalEvent &e : evals)
    Q_EMIT evaluation(e);
  for (const Diagnosis &d : diagnoses)
    Q_EMIT diagnosis(d);
  if (finishedNow) {
    m_timer.stop();
    if (m_worker.joinable())
      m_worker.join();
    m_done = true;
    Q_EMIT finished(QString::fromStdString(status), QString::fromStdString(reason));
  }
}

} // namespace tunebench
