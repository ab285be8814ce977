#include "core/eval/decision.h"

#include "core/eval/calibration.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path fileOf(const fs::path &runDir)
{
  return runDir / "decision.json";
}

} // namespace

std::vector<std::vector<double>> applyTemperature(const std::vector<std::vector<double>> &probabilities,
                                                  double temperature)
{
  if (temperature == 1.0)
    return probabilities;
  std::vector<std::vector<double>> logs = probabilities;
  for (auto &row : logs)
    for (double &v : row)
      v = std::log(std::max(v, 1e-300));
  return softmaxWithTemperature(logs, temperature);
}

int decide(const DecisionRule &rule, const std::vector<double> &p)
{
  if (p.empty())
    return -1;
  if (rule.positive >= 0 && p.size() == 2)
    return p[static_cast<std::size_t>(rule.positive)] >= rule.threshold ? rule.positive : 1 - rule.positive;
  return static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
}

void saveDecisionRule(const fs::path &runDir, const DecisionRule &rule,
                      const std::vector<std::string> &labels)
{
  json j = {{"temperature", rule.temperature}, {"fitted_on", "validation"}};
  if (rule.positive >= 0 && rule.positive < static_cast<int>(labels.size()))
    j["threshold"] = {{"positive", labels[static_cast<std::size_t>(rule.positive)]},
                      {"value", rule.threshold}};
  writeJsonFile(fileOf(runDir), j);
}

std::optional<DecisionRule> loadDecisionRule(const fs::path &runDir, const std::vector<std::string> &labels)
{
  const fs::path file = fileOf(runDir);
  if (!fileExists(file))
    return std::nullopt;
  const json j = readJsonFile(file);
  const auto bad = [&](const std::string &field, const std::string &what) {
    return Error(file.string() + ": field \"" + field + "\" " + what);
  };
  if (!j.is_object())
    throw Error(file.string() + ": expected a JSON object (a saved decision rule)");
  DecisionRule rule;
  if (j.contains("temperature")) {
    if (!j["temperature"].is_number() || !(j["temperature"].get<double>() > 0))
      throw bad("temperature", "must be a positive number");
    rule.temperature = j["temperature"].get<double>();
  }
  if (j.contains("threshold")) {
    const json &t = j["threshold"];
    if (!t.is_object() || !t.contains("positive") || !t["positive"].is_string())
      throw bad("threshold.positive", "must name a label");
    const auto it = std::find(labels.begin(), labels.end(), t["positive"].get<std::string>());
    if (it == labels.end() || labels.size() != 2)
      throw bad("threshold.positive",
                "\"" + t["positive"].get<std::string>() + "\" is not a label of this binary run");
    if (!t.contains("value") || !t["value"].is_number() || t["value"].get<double>() < 0 ||
        t["value"].get<double>() > 1)
      throw bad("threshold.value", "must be a number from 0 to 1");
    rule.positive = static_cast<int>(it - labels.begin());
    rule.threshold = t["value"].get<double>();
  }
  return rule;
}

DecisionRule requireDecisionRule(const fs::path &runDir, const std::vector<std::string> &labels)
{
  if (auto rule = loadDecisionRule(runDir, labels))
    return *rule;
  throw Error(runDir.string() + ": no saved decision rule (decision.json); fit one with "
                                "`eval RUN --calibrate --tune-threshold --save`");
}

} // namespace tunebench
