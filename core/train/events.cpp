#include "core/train/events.h"

namespace tunebench {

using json = nlohmann::json;

json eventJson(const StepEvent &e)
{
  json j = {{"type", "step"},
            {"step", e.step},
            {"epoch", e.epoch},
            {"loss", e.loss},
            {"lr", e.learningRate},
            {"grad_norm", e.gradNorm},
            {"tokens_per_s", e.tokensPerSecond},
            {"tokens", e.tokens},
            {"elapsed_s", e.elapsedSeconds}};
  for (const StepEvent::Rank &r : e.ranks)
    j["ranks"].push_back({{"rank", r.rank},
                          {"step", r.step},
                          {"tokens_per_s", r.tokensPerSecond},
                          {"heartbeat_age_s", r.heartbeatAge}});
  return j;
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
