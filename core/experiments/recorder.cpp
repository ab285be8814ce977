#include "core/experiments/recorder.h"

#include "core/util/error.h"
#include "core/util/files.h"

#include <c10/util/Exception.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------

namespace {

std::int64_t openRow(RunStore &store, Trainer &trainer, std::int64_t parent)
{
  const std::string uid = trainer.claimFolder();
  const ExperimentConfig &c = trainer.config();
  return store.openRun(uid, trainer.resumes(), c.name, trainer.runDir(), c.toYaml(), parent);
}

} // namespace

RecordedRun::RecordedRun(RunStore &store, Trainer &trainer, std::int64_t parent, TrainingObserver *next)
  : m_store(store)
  , m_trainer(trainer)
  , m_id(openRow(store, trainer, parent))
  , m_recorder(store, m_id, next)
{
  m_trainer.setObserver(&m_recorder);
}

RunResult RecordedRun::run()
{
  try {
    return m_trainer.run();
  } catch (const std::exception &e) {
    // The reason a user reads in the history: one line, never LibTorch's backtrace.
    const auto *torchError = dynamic_cast<const c10::Error *>(&e);
    std::string reason = torchError ? torchError->what_without_backtrace() : e.what();
    if (reason.size() > 500)
      reason = reason.substr(0, 497) + "...";
    try {
      m_store.setStatus(m_id, RunStatus::Failed, reason, 0);
    } catch (const std::exception &) {
      // The history cannot be written (a full disk): the run then reads as interrupted.
    }
    throw;
  }
}

RunRecorder::RunRecorder(RunStore &store, std::int64_t run, TrainingObserver *next)
  : m_store(store)
  , m_run(run)
  , m_next(next)
{}

void RunRecorder::onLog(const std::string &message)
{
  m_store.addEvent(m_run, 0, "log", json{{"message", message}}.dump());
  if (m_next)
    m_next->onLog(message);
}

void RunRecorder::onPlanned(const StartEvent &plan)
{
  if (m_next)
    m_next->onPlanned(plan); // the plan is the front end's (epoch axis, metric, forgetting start)
}

void RunRecorder::onStep(const StepEvent &e)
{
  m_wall = e.elapsedSeconds;
  m_store.addMetric(m_run, "train", "loss", e.step, e.epoch, e.elapsedSeconds, e.loss);
  m_store.addMetric(m_run, "train", "lr", e.step, e.epoch, e.elapsedSeconds, e.learningRate);
  m_store.addMetric(m_run, "train", "grad_norm", e.step, e.epoch, e.elapsedSeconds, e.gradNorm);
  m_store.addMetric(m_run, "train", "tokens_per_s", e.step, e.epoch, e.elapsedSeconds, e.tokensPerSecond);
  m_store.addMetric(m_run, "train", "tokens", e.step, e.epoch, e.elapsedSeconds,
                    static_cast<double>(e.tokens));
  if (m_store.pending() >= 200)
    m_store.flush();
  if (m_next)
    m_next->onStep(e);
}

void RunRecorder::onEvaluation(const EvalEvent &e)
{
  for (const auto &[k, v] : e.metrics)
    m_store.addMetric(m_run, e.split, k, e.step, e.epoch, m_wall, v);
  m_store.flush();
  if (m_next)
    m_next->onEvaluation(e);
}

void RunRecorder::onCheckpoint(const std::string &kind, const fs::path &path)
{
  m_store.addEvent(m_run, 0, "checkpoint", json{{"kind", kind}, {"path", path.string()}}.dump());
  m_store.flush();
  if (m_next)
    m_next->onCheckpoint(kind, path);
}

void RunRecorder::onDiagnosis(const Diagnosis &d)
{
  m_store.addEvent(m_run, d.step, "diagnosis",
                   json{{"kind", diagnosisKindName(d.kind)},
                        {"title", d.title},
                        {"evidence", d.evidence},
                        {"remedies", d.remedies},
                        {"critical", d.critical}}
                       .dump());
  m_store.flush();
  if (m_next)
    m_next->onDiagnosis(d);
}

void RunRecorder::onResumed(long step)
{
  m_store.truncateRun(m_run, step);
  if (m_next)
    m_next->onResumed(step);
}

void RunRecorder::onFinished(const RunResult &r)
{
  for (const auto &[k, v] : r.test.metrics)
    m_store.setSummary(m_run, "test", k, v);
  for (const auto &[k, v] : r.validation.metrics)
    m_store.setSummary(m_run, "validation", k, v);
  if (r.bestStep >= 0)
    m_store.setSummary(m_run, "best", r.metric, r.bestMetric);
  m_store.setSummary(m_run, "last", "steps", static_cast<double>(r.steps));
  m_store.setSummary(m_run, "last", "peak_memory_mib", r.peakMemoryMiB);
  m_store.setSummary(m_run, "last", "trainable_parameters", static_cast<double>(r.trainableParameters));
  if (!r.forgettingObjective.empty()) { // the forgetting meter: before training and on the best model
    m_store.setSummary(m_run, "forgetting", "before", r.forgettingBefore);
    m_store.setSummary(m_run, "forgetting", "after", r.forgettingAfter);
  }
  if (!r.previousMetric.empty()) {
    m_store.setSummary(m_run, "forgetting", r.previousMetric + "_before", r.previousBefore);
    m_store.setSummary(m_run, "forgetting", r.previousMetric + "_after", r.previousAfter);
  }
  if (r.status == RunStatus::Failed)
    m_store.addEvent(m_run, r.steps, "error", json{{"reason", r.reason}}.dump());
  m_store.setStatus(m_run, r.status, r.reason, r.seconds);
  // A stopped run has not ended: its files (the resume state above all) change when it resumes, so
  // they are listed and hashed when it ends, not on every stop (a window closes without waiting).
  if (r.status != RunStatus::Stopped)
    m_store.recordArtifacts(m_run);
  if (m_next)
    m_next->onFinished(r);
}

} // namespace tunebench
