#include "core/train/runstate.h"
#include "core/train/trainerimpl.h"
#include "core/util/files.h"

#include <cmath>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

bool Trainer::Impl::better(double value, double reference) const
{
  if (std::isnan(reference))
    return true;
  const double t = config.evaluation.threshold;
  return config.higherIsBetter() ? value > reference + t : value < reference - t;
}

void Trainer::Impl::addAuxiliaryMetrics(EvalEvent &e, const std::string &split)
{
  if (auxiliary.empty())
    return;
  double sum = taskSelectionScore(config, e.metrics, "");
  int tasks = 1;
  for (Auxiliary &a : auxiliary) {
    const std::vector<int> &rows = split == "test" ? a.data.split.test : a.data.split.validation;
    if (rows.empty())
      continue;
    const Evaluation ev =
        evaluateRows(built, a.data, rows, a.config, padId, bf16, tokenizer.get(), a.name, group);
    for (const auto &[k, v] : ev.event.metrics)
      e.metrics[a.name + "/" + k] = v;
    sum += taskSelectionScore(a.config, e.metrics, a.name + "/");
    ++tasks;
  }
  e.metrics["multitask_score"] = sum / tasks;
}

Evaluation Trainer::Impl::evaluateSplit(const std::string &split, long step, const EvalEvent *measured)
{
  const std::vector<int> &rows = split == "test" ? data.split.test : data.split.validation;
  Evaluation ev = evaluateRows(built, data, rows, config, padId, bf16, tokenizer.get(), kTaskHead, group);
  addAuxiliaryMetrics(ev.event, split);
  if (meter)
    ev.event.metrics["reference_loss"] =
        measured ? measured->metrics.at("reference_loss") : meter->measure(bf16);
  if (previous)
    ev.event.metrics[previous->metricName()] = measured ? measured->metrics.at(previous->metricName())
                                                        : previous->measure(built, padId, bf16, *tokenizer);
  ev.event.split = split;
  ev.event.step = step;
  if (group) { // rank 0's numbers (its generated answers among them) decide on every rank
    const json mine = {{"loss", ev.event.loss}, {"metrics", ev.event.metrics}};
    const json agreed = json::parse(group->broadcast(writes() ? mine.dump() : std::string()));
    const auto number = [](const json &v) { return v.is_number() ? v.get<double>() : std::nan(""); };
    ev.event.loss = number(agreed.at("loss"));
    ev.event.metrics.clear();
    for (const auto &[name, v] : agreed.at("metrics").items())
      ev.event.metrics[name] = number(v);
  }
  return ev;
}

// --- evaluation, early stopping, diagnosis -----------------------------------------------
void Trainer::Impl::keepBest(EvalEvent &e, double value)
{
  e.best = better(value, st.best);
  if (!e.best) {
    ++st.badEvals;
    return;
  }
  st.best = value;
  st.bestStep = st.step;
  st.badEvals = 0;
  if (config.output.saveBest && writes()) {
    saveModel(*built.model, runDir / "best" / "model.pt");
    observer->onCheckpoint("best", runDir / "best");
  }
}

void Trainer::Impl::reduceOnPlateau(double value)
{
  if (config.training.scheduler != "plateau")
    return;
  if (better(value, st.plateauBest)) {
    st.plateauBest = value;
    st.plateauBad = 0;
  } else if (++st.plateauBad > config.training.plateauPatience) {
    st.plateauScale *= config.training.plateauFactor;
    st.plateauBad = 0;
    log("learning rate reduced to " + std::to_string(st.plateauScale) + " × base (no improvement)");
  }
}

std::string Trainer::Impl::raiseDiagnoses(const std::vector<Diagnosis> &found, Raise how)
{
  const bool recordThem = how == Raise::RecordUntilCritical;
  std::string critical;
  for (const Diagnosis &d : found) {
    const std::string kind = diagnosisKindName(d.kind);
    if (st.raised.count(kind) || (how == Raise::CriticalOnly && !d.critical))
      continue;
    st.raised.insert(kind);
    diagnoses.push_back(d);
    if (recordThem)
      record({{"type", "diagnosis"}, {"step", st.step}, {"diagnosis", diagnosisJson(d)}});
    observer->onDiagnosis(d);
    if (d.critical && critical.empty()) {
      critical = d.title + ": " + d.evidence;
      if (recordThem)
        break; // training stops here; the rest are reported with the final result
    }
  }
  return critical;
}

std::optional<RunStatus> Trainer::Impl::validate(std::string &why)
{
  Evaluation ev = evaluateSplit("validation", st.step);
  EvalEvent &e = ev.event;
  e.epoch = st.epoch;
  // The selection metric (accuracy when the data has no such metric, e.g. entity F1 on POS tags).
  const auto found = e.metrics.find(config.selectionMetric());
  const double value = found != e.metrics.end() ? found->second : e.metrics["accuracy"];
  keepBest(e, value);
  reduceOnPlateau(value);
  record(eventJson(e));
  observer->onEvaluation(e);
  for (std::size_t i = 0; i < std::min<std::size_t>(3, ev.samples.size()); ++i) { // the log shows three
    const Evaluation::Sample &sample = ev.samples[i];
    log("sample: " + sample.prompt + sample.generated + "\n  (reference: " + sample.reference + ")");
  }
  if (std::string critical = raiseDiagnoses(
          diagnose(curves, std::max(2, std::min(3, config.evaluation.patience))), Raise::RecordUntilCritical);
      !critical.empty()) {
    why = critical;
    return RunStatus::Failed;
  }
  if (config.evaluation.patience > 0 && st.badEvals >= config.evaluation.patience) {
    why = "early stopping: " + config.selectionMetric() + " did not improve for " +
          std::to_string(st.badEvals) + " evaluations (best " + std::to_string(st.best) + " at step " +
          std::to_string(st.bestStep) + ")";
    return RunStatus::EarlyStopped;
  }
  return std::nullopt;
}

void Trainer::Impl::evaluateBest(RunResult &r)
{
  if (group) // rank 0 may have written best/ just now
    group->barrier();
  if (fileExists(runDir / "best" / "model.pt"))
    loadModel(*built.model, runDir / "best" / "model.pt");
  r.validation = evaluateSplit("validation", st.bestStep).event;
  if (data.split.test.empty())
    return;
  const Evaluation test =
      evaluateSplit("test", st.bestStep, &r.validation); // the same weights: measured once
  r.test = test.event;
  if (meter) {
    r.forgettingObjective = meter->objective();
    r.forgettingBefore = forgettingBefore;
    r.forgettingAfter = r.test.metrics.at("reference_loss");
    log("forgetting: " + forgettingLine(r.forgettingObjective, r.forgettingBefore, r.forgettingAfter));
  }
  if (previous) {
    r.previousMetric = previous->metricName();
    r.previousBefore = previousBefore;
    r.previousAfter = r.test.metrics.at(r.previousMetric);
    log("forgetting: the earlier task's " + r.previousMetric.substr(9) + " " +
        std::to_string(r.previousBefore) + " → " + std::to_string(r.previousAfter));
  }
  if (writes())
    writeTestPredictions(runDir, data, test);
  record(eventJson(r.test));
  observer->onEvaluation(r.test);
  if (config.task.kind == "single_label")
    r.majorityBaseline = majorityBaseline(data);
}

RunResult Trainer::Impl::finish(RunStatus status, const std::string &reason)
{
  RunResult r;
  r.status = status;
  r.reason = reason;
  r.steps = st.step;
  r.bestStep = st.bestStep;
  r.bestMetric = std::isnan(st.best) ? 0.0 : st.best;
  r.metric = config.selectionMetric();
  r.seconds = st.elapsedBefore + elapsed();
  const TrainableReport tr = trainableReport(*built.model);
  r.trainableParameters = tr.trainable;
  r.totalParameters = tr.total;
  curves.finished = true;
  raiseDiagnoses(diagnose(curves, 2), Raise::All);
  r.diagnoses = diagnoses;
  if (status != RunStatus::Stopped && status != RunStatus::Interrupted)
    evaluateBest(r);
  r.peakMemoryMiB = peakResidentMiB();
  if (group) {
    r.worldSize = world();
    r.backend = group->backend();
    r.allReducedBytesPerStep = gradSync ? gradSync->bytesPerStep() : 0;
    r.communicationWaitSeconds = gradSync ? gradSync->waitSeconds() : 0;
  }
  if (writes())
    writeResults(runDir, r, totalSteps, config.strategy.name, frozenCacheJson(built.frozenCache.get()));
  observer->onFinished(r);
  return r;
}

} // namespace tunebench
