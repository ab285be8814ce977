#include "core/train/events.h"

namespace tunebench {

using json = nlohmann::json;

json eventJson(const StepEvent &e)
{
  return {{"type", "step"},
          {"step", e.step},
          {"epoch", e.epoch},
          {"loss", e.loss},
          {"lr", e.learningRate},
          {"grad_norm", e.gradNorm},
          {"tokens_per_s", e.tokensPerSecond},
          {"tokens", e.tokens},
          {"elapsed_s", e.elapsedSeconds}};
}

json eventJson(const EvalEvent &e)
{
  return {{"type", "eval"}, {"step", e.step}, {"epoch", e.epoch}, {"split", e.split}, {"loss", e.loss},
          {"metrics", e.metrics}, {"best", e.best}};
}

json diagnosisJson(const Diagnosis &d)
{
  return {{"kind", diagnosisKindName(d.kind)}, {"step", d.step}, {"title", d.title}, {"evidence", d.evidence},
          {"remedies", d.remedies}, {"critical", d.critical}};
}

} // namespace tunebench
