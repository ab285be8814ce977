#pragma once

#include "core/config/experiment.h"
#include "core/train/events.h"
#include "core/train/trainstate.h"

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

namespace torch::nn {
class Module;
}
namespace torch::optim {
class Optimizer;
}

namespace tunebench {

struct PreparedData;

// The files the trainer keeps in a run folder (the layout is listed in trainer.h). Every file is
// written whole through a temporary and a rename (core/util/files.h).

// A new run's start: the resolved config (paths made absolute), the head's labels and the split.
void writeRunStart(const std::filesystem::path &runDir, const ExperimentConfig &config,
                   const PreparedData &data);

// state/: the model, the optimizer, the run's generator and the training state. The new state is
// written beside the old one (state.tmp), complete, then swapped in: a crash at any point leaves
// one whole state/ to resume from. Throws Error (the last state kept) when it cannot be written.
// Data parallel: `otherRanks` holds ranks 1… generator states (rank 0's is `generator`).
void saveTrainingState(const std::filesystem::path &runDir, torch::nn::Module &model,
                       torch::optim::Optimizer &optimizer, const at::Generator &generator,
                       const nlohmann::json &trainerJson, const std::vector<torch::Tensor> &otherRanks = {});

// Reads state/ back into the model, the optimizer and the generator; the training state is checked
// against `limits` (an Error names the file and the field).
// `rank`: whose generator state is read (data parallel).
TrainingState loadTrainingState(const std::filesystem::path &runDir, torch::nn::Module &model,
                                torch::optim::Optimizer &optimizer, at::Generator &generator,
                                const TrainingState::Limits &limits, int rank = 0);

// Error when the run in `runDir` was trained by another number of processes than `world` (its
// state/trainer.json's world_size): the global batch, and so every epoch's order, depends on it.
// No state, or a state that is not an object (its own checks name that): nothing to compare.
void requireSavedWorldSize(const std::filesystem::path &runDir, int world, int batchSize);

// events.jsonl cut back to what happened up to `step` (the saved state's; a line cut by a crash
// ends it); returns the lines kept. rewrite false: only read (a data-parallel rank other than 0).
std::vector<nlohmann::json> keepEventsUpTo(const std::filesystem::path &runDir, long step,
                                           bool rewrite = true);

struct Evaluation;
struct PreparedData;
// test_predictions.jsonl: per test row (dataset row, reference, prediction) of a single-label or
// tagging run's best model, for paired comparisons of runs on the same test rows. Other tasks
// write nothing.
void writeTestPredictions(const std::filesystem::path &runDir, const PreparedData &data,
                          const Evaluation &test);

// results.json: the result, the planned steps, the strategy and what the frozen-layer cache did.
void writeResults(const std::filesystem::path &runDir, const RunResult &r, long totalSteps,
                  const std::string &strategy, const nlohmann::json &frozenCache);
// results.json read back (a run trained by another process: a plan's worker): status, reason,
// steps, the best step and metric, validation and test evaluations, time, memory, parameters.
// Error naming the file and the field when it is missing or damaged.
RunResult readResults(const std::filesystem::path &runDir);

} // namespace tunebench
