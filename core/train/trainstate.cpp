#include "core/train/trainstate.h"

#include "core/util/error.h"

#include <limits>

namespace tunebench {
using nlohmann::json;

namespace {

json orNull(double v)
{
  return std::isnan(v) ? json(nullptr) : json(v);
}

} // namespace

json TrainingState::toJson(double elapsed) const
{
  return {{"step", step},
          {"epoch", epoch},
          {"batch_in_epoch", batchInEpoch},
          {"best", orNull(best)},
          {"best_step", bestStep},
          {"bad_evals", badEvals},
          {"plateau_scale", plateauScale},
          {"plateau_best", orNull(plateauBest)},
          {"plateau_bad", plateauBad},
          {"elapsed_s", elapsed},
          {"tokens", tokens},
          {"validation_due", validationDue},
          {"raised", std::vector<std::string>(raised.begin(), raised.end())}};
}

TrainingState TrainingState::fromJson(const json &s, const std::filesystem::path &file, const Limits &limits)
{
  if (!s.is_object())
    throw Error(file.string() + ": expected a JSON object (a run's saved state)");
  auto integer = [&](const char *name, long lo, long hi, long fallback) {
    if (!s.contains(name) || s[name].is_null())
      return fallback;
    if (!s[name].is_number_integer() || s[name].get<long long>() < lo || s[name].get<long long>() > hi)
      throw Error(file.string() + ": field \"" + name + "\" must be an integer from " + std::to_string(lo) +
                  " to " + std::to_string(hi) + " for this run, got " + s[name].dump());
    return static_cast<long>(s[name].get<long long>());
  };
  auto number = [&](const char *name, double fallback) {
    if (!s.contains(name) || s[name].is_null())
      return fallback;
    if (!s[name].is_number())
      throw Error(file.string() + ": field \"" + name + "\" must be a number, got " + s[name].dump());
    return s[name].get<double>();
  };
  TrainingState t;
  t.step = integer("step", 0, limits.totalSteps, 0);
  t.epoch = static_cast<int>(integer("epoch", 0, limits.epochs, 0));
  t.batchInEpoch = integer("batch_in_epoch", 0, limits.batchesInEpoch, 0);
  t.best = number("best", std::nan(""));
  t.bestStep = integer("best_step", -1, limits.totalSteps, -1);
  t.badEvals = static_cast<int>(integer("bad_evals", 0, limits.totalSteps, 0));
  t.plateauScale = number("plateau_scale", 1.0);
  t.plateauBest = number("plateau_best", std::nan(""));
  t.plateauBad = static_cast<int>(integer("plateau_bad", 0, limits.totalSteps, 0));
  t.elapsedBefore = number("elapsed_s", 0.0);
  t.tokens = integer("tokens", 0, std::numeric_limits<long>::max(), 0);
  if (s.contains("validation_due")) {
    if (!s["validation_due"].is_boolean())
      throw Error(file.string() + ": field \"validation_due\" must be true or false, got " +
                  s["validation_due"].dump());
    t.validationDue = s["validation_due"].get<bool>();
  }
  if (s.contains("raised") && s["raised"].is_array())
    for (const json &r : s["raised"])
      if (r.is_string())
        t.raised.insert(r.get<std::string>());
  return t;
}

} // namespace tunebench
