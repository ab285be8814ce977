#include "core/train/runstate.h"

#include "core/train/builtmodel.h"
#include "core/train/dataprep.h"
#include "core/train/evaluation.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"
#include "core/util/runfolder.h"

#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>

#include <algorithm>
#include <fstream>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

void writeRunStart(const fs::path &runDir, const ExperimentConfig &config, const PreparedData &data)
{
  writeFileAtomically(runDir / "config.yaml", config.withAbsolutePaths().toYaml());
  writeJsonFile(runDir / "labels.json", data.labels);
  writeJsonFile(
      runDir / "split.json",
      {{"train", data.split.train}, {"validation", data.split.validation}, {"test", data.split.test}});
  fs::remove(runDir / "events.jsonl");
}

namespace {

void writeState(const fs::path &tmp, torch::nn::Module &model, torch::optim::Optimizer &optimizer,
                const at::Generator &generator, const json &trainerJson,
                const std::vector<torch::Tensor> &otherRanks)
{
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  saveModel(model, tmp / "model.pt");
  torch::serialize::OutputArchive opt;
  optimizer.save(opt);
  opt.write("rng", generator.get_state(), true);
  for (std::size_t r = 0; r < otherRanks.size(); ++r)
    opt.write("rng_rank" + std::to_string(r + 1), otherRanks[r], true);
  saveArchive(opt, tmp / "optimizer.pt");
  writeJsonFile(tmp / "trainer.json", trainerJson);
}

} // namespace

void saveTrainingState(const fs::path &runDir, torch::nn::Module &model, torch::optim::Optimizer &optimizer,
                       const at::Generator &generator, const json &trainerJson,
                       const std::vector<torch::Tensor> &otherRanks)
{
  const fs::path tmp = runDir / "state.tmp";
  try {
    writeState(tmp, model, optimizer, generator, trainerJson, otherRanks);
  } catch (const std::exception &e) {
    std::error_code ec;
    fs::remove_all(tmp, ec); // give the space back; the previous state/ is untouched
    throw Error(
        "the run's state could not be saved (the last saved state is kept; resume continues from it): " +
        std::string(e.what()));
  }
  faultPoint("state-written");
  replaceFolder(tmp, runDir / "state");
}

TrainingState loadTrainingState(const fs::path &runDir, torch::nn::Module &model,
                                torch::optim::Optimizer &optimizer, at::Generator &generator,
                                const TrainingState::Limits &limits, int rank)
{
  const fs::path stateDir = runDir / "state";
  const fs::path file = stateDir / "trainer.json";
  TrainingState st = TrainingState::fromJson(readJsonFile(file), file, limits);
  loadModel(model, stateDir / "model.pt");
  torch::serialize::InputArchive opt;
  loadArchive(opt, stateDir / "optimizer.pt");
  try {
    optimizer.load(opt);
    torch::Tensor rng;
    if (opt.try_read(rank == 0 ? "rng" : "rng_rank" + std::to_string(rank), rng, true))
      generator.set_state(rng);
    else if (rank > 0)
      throw Error((stateDir / "optimizer.pt").string() + ": holds no random state for rank " +
                  std::to_string(rank) + " (saved by fewer processes)");
  } catch (const c10::Error &) {
    throw Error(
        (stateDir / "optimizer.pt").string() +
        ": does not hold this run's optimizer and random state (damaged, or the config was changed?)");
  }
  return st;
}

std::vector<json> keepEventsUpTo(const fs::path &runDir, long step, bool rewrite)
{
  std::vector<json> kept;
  std::string text;
  std::ifstream in(runDir / "events.jsonl");
  for (std::string line; std::getline(in, line);) {
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception &) {
      break; // a line cut by the crash
    }
    if (j.value("step", 0L) > step)
      continue;
    text += line + "\n";
    kept.push_back(std::move(j));
  }
  in.close();
  if (rewrite)
    writeFileAtomically(runDir / "events.jsonl", text);
  return kept;
}

void writeTestPredictions(const fs::path &runDir, const PreparedData &data, const Evaluation &test)
{
  const std::vector<int> &rows = data.split.test;
  std::string out;
  if (!test.probabilities.empty() && test.probabilities.size() == rows.size()) {
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const EncodedExample &e = data.encoded[static_cast<std::size_t>(rows[i])];
      const auto &p = test.probabilities[i];
      const auto best = static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin());
      if (e.label < 0 || best >= data.labels.size())
        return; // multi-label: no single prediction to pair
      out += json{{"row", e.row},
                  {"truth", data.labels[static_cast<std::size_t>(e.label)]},
                  {"predicted", data.labels[best]}}
                 .dump() +
             "\n";
    }
  } else if (!test.predictedTags.empty() && test.predictedTags.size() == rows.size()) {
    for (std::size_t i = 0; i < rows.size(); ++i)
      out += json{{"row", data.encoded[static_cast<std::size_t>(rows[i])].row},
                  {"truth", test.truthTags[i]},
                  {"predicted", test.predictedTags[i]}}
                 .dump() +
             "\n";
  } else {
    return;
  }
  writeFileAtomically(runDir / "test_predictions.jsonl", out);
}

void writeResults(const fs::path &runDir, const RunResult &r, long totalSteps, const std::string &strategy,
                  const json &frozenCache)
{
  json diag = json::array();
  for (const Diagnosis &d : r.diagnoses)
    diag.push_back(diagnosisJson(d));
  writeJsonFile(
      runDir / "results.json",
      {{"status", runStatusName(r.status)},
       {"reason", r.reason},
       {"steps", r.steps},
       {"total_steps", totalSteps},
       {"best_step", r.bestStep},
       {"metric", r.metric},
       {"best_metric", r.bestMetric},
       {"validation", eventJson(r.validation)},
       {"test", eventJson(r.test)},
       {"diagnoses", diag},
       {"seconds", r.seconds},
       {"peak_memory_mib", r.peakMemoryMiB},
       {"trainable_parameters", r.trainableParameters},
       {"total_parameters", r.totalParameters},
       {"majority_baseline", r.majorityBaseline},
       {"strategy", strategy},
       {"frozen_cache", frozenCache},
       {"forgetting", r.forgettingObjective.empty() ? json(nullptr)
                                                    : json{{"objective", r.forgettingObjective},
                                                           {"before", r.forgettingBefore},
                                                           {"after", r.forgettingAfter}}},
       {"previous_task",
        r.previousMetric.empty()
            ? json(nullptr)
            : json{{"metric", r.previousMetric}, {"before", r.previousBefore}, {"after", r.previousAfter}}},
       {"distributed", r.worldSize <= 1 ? json(nullptr)
                                        : json{{"world_size", r.worldSize},
                                               {"backend", r.backend},
                                               {"all_reduced_bytes_per_step", r.allReducedBytesPerStep},
                                               {"communication_wait_s", r.communicationWaitSeconds}}}});
}

void requireSavedWorldSize(const fs::path &runDir, int world, int batchSize)
{
  const fs::path file = runDir / "state" / "trainer.json";
  if (!fileExists(file))
    return;
  const json state = readJsonFile(file);
  const int saved = state.is_object() && state.value("world_size", json(1)).is_number_integer()
                        ? state.value("world_size", 1)
                        : world;
  if (saved != world)
    throw Error(file.string() + ": world_size " + std::to_string(saved) + ": this run was trained by " +
                std::to_string(saved) + " process(es) (global batch " + std::to_string(batchSize * saved) +
                "); resume it with " + std::to_string(saved) + " (--nproc " + std::to_string(saved) +
                "), not " + std::to_string(world));
}

namespace {

EvalEvent evalFromJson(const json &j)
{
  EvalEvent e;
  if (!j.is_object())
    return e;
  e.step = j.value("step", 0L);
  e.epoch = j.value("epoch", 0);
  e.split = j.value("split", "");
  e.loss = j.value("loss", 0.0);
  e.best = j.value("best", false);
  if (j.contains("metrics"))
    e.metrics = j["metrics"].get<std::map<std::string, double>>();
  return e;
}

} // namespace

RunResult readResults(const fs::path &runDir)
{
  const fs::path file = runDir / "results.json";
  const json j = readJsonFile(file);
  if (!j.is_object())
    throw Error(file.string() + ": expected a JSON object");
  return withJsonTypeErrors(file.string(), [&] {
    RunResult r;
    const std::optional<RunStatus> status = parseRunStatus(j.value("status", ""));
    if (!status)
      throw Error(file.string() +
                  ": status: expected finished, early_stopped, stopped, interrupted or failed");
    r.status = *status;
    r.reason = j.value("reason", "");
    r.steps = j.value("steps", 0L);
    r.bestStep = j.value("best_step", -1L);
    r.metric = j.value("metric", "");
    r.bestMetric = j.value("best_metric", 0.0);
    r.validation = evalFromJson(j.value("validation", json()));
    r.test = evalFromJson(j.value("test", json()));
    r.seconds = j.value("seconds", 0.0);
    r.peakMemoryMiB = j.value("peak_memory_mib", 0.0);
    r.trainableParameters = j.value("trainable_parameters", std::int64_t{0});
    r.totalParameters = j.value("total_parameters", std::int64_t{0});
    r.majorityBaseline = j.value("majority_baseline", 0.0);
    return r;
  });
}

} // namespace tunebench
