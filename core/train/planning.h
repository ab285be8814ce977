#pragma once

#include "core/config/experiment.h"
#include "core/models/estimate.h"

#include <cstdint>
#include <utility>
#include <string>
#include <vector>

namespace tunebench {

// What an experiment will cost before it runs: the model's size, what the strategy trains (from
// the published formulas: LoRA 2·r·(in+out) per target, adapters, prefixes, prompts, BitFit,
// IA3, frozen layers), steps, memory of one step against this machine's memory, time at an
// assumed throughput, and the learning-rate curve. Estimates, not measurements: the trainer
// reports the exact trainable count when it starts.
// One way to make a step fit: what to change (dotted keys and YAML values, empty when it is not
// a config change) and the step's memory after it.
struct PlanRemedy
{
  std::string text;
  std::vector<std::pair<std::string, std::string>> overrides;
  double bytesAfter = 0;
};

struct RunPlan
{
  std::string model;                 // "bert 12×768, 109.5M parameters"
  std::int64_t parameters = 0;
  std::int64_t trainable = 0;
  long rows = 0;                     // data rows (≈: counted from the file's lines)
  long stepsPerEpoch = 0;
  long totalSteps = 0;
  TrainingEstimate estimate;         // one step: memory and FLOPs
  double machineBytes = 0;           // physical memory
  double secondsPerStep = 0;
  // strategy.cache_frozen: the most the frozen-layer cache can hold (every row at the max
  // length; real rows are shorter); 0 when nothing is cached.
  double cacheBytes = 0;
  double totalSeconds = 0;
  // training.distributed.processes: each process holds the weights, gradients, optimizer state
  // and its own batch's activations (`estimate` is one process's); a step all-reduces the
  // trainable gradients.
  int processes = 1;
  double allReducedBytes = 0;
  std::vector<double> learningRates; // up to 200 points across the run, for a preview
  std::vector<std::string> warnings; // e.g. the step needs more memory than the machine has
  std::vector<PlanRemedy> remedies;  // what would bring it down, most effective first
};

// flopsPerSecond: the throughput assumed for the time estimate (e.g. a share of the measured GEMM
// peak). Throws tunebench::Error when the model folder cannot be read.
// strategy.cache_frozen: the most the frozen-layer cache of `rows` examples can hold; 0 when
// nothing would be cached.
double frozenCacheBound(const ExperimentConfig &c, const TransformerShape &shape, long rows);

RunPlan planRun(const ExperimentConfig &config, double flopsPerSecond);

// What the experiment's strategy makes each layer keep for the backward pass (the estimate's
// activation model).
LayerTraining layerTrainingOf(const ExperimentConfig &config, const TransformerShape &shape);
// Trainable parameters a strategy leaves for this shape (plus a head of `headOutputs` classes).
std::int64_t estimateTrainable(const ExperimentConfig &config, const TransformerShape &shape, std::int64_t parameters,
                               int headOutputs);

} // namespace tunebench
