#pragma once

#include "core/config/experiment.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tunebench {

// Experiments of many runs (k-fold cross-validation, grid and random sweeps, repeated seeds) as a
// library: plan → run each child (PlanRunner, core/experiments/runner.h) → aggregate. The CLI's
// `cv` and `sweep` and the GUI use the same plans.

// Where an experiment's configs come from: YAML text, the folder its relative paths resolve
// against, and "key=value" overrides (the CLI's --set). Every planned run adds its own overrides.
struct ExperimentSource
{
  std::string yaml;
  std::filesystem::path baseDir;
  std::vector<std::string> overrides;
  std::string name = "experiment"; // the source in messages (a file's path)

  static ExperimentSource fromFile(const std::filesystem::path &file,
                                   std::vector<std::string> overrides = {});
  // The config with `more` overrides on top; Error listing every problem (file:line:column: field)
  // otherwise.
  ExperimentConfig config(const std::vector<std::string> &more = {}) const;
};

enum class PlanKind {
  CrossValidation,
  Sweep, // grid or random points, each repeated over seeds; repeated seeds alone: one point
};

struct PlannedRun
{
  std::string label;                  // "fold 2/5", "point 3/4 seed 2: training.learning_rate=3e-05"
  std::vector<std::string> overrides; // this run's, on top of the source's
  ExperimentConfig config;
  std::filesystem::path dir;
  std::size_t group = 0; // the fold or sweep point whose runs are aggregated together
};

struct ExperimentPlan
{
  PlanKind kind = PlanKind::Sweep;
  ExperimentConfig parent;                      // the parent row's config (name + "-cv" / "-sweep")
  std::filesystem::path root;                   // the children's folders are inside
  std::vector<std::vector<std::string>> groups; // each group's overrides (a fold: data.fold=k)
  int seeds = 1;
  std::vector<PlannedRun> runs;
};

// k folds of the source's data (stratified where the config says so); fold k's test split is the
// k-th fifth (for 5 folds) of all rows. `root` empty: <output.runs>/<name>-cv-<time>.
ExperimentPlan planCrossValidation(const ExperimentSource &source, int folds,
                                   std::filesystem::path root = {});

struct SweepSpec
{
  // Points given whole (each a list of key=value overrides, e.g. a strategy with its own learning
  // rate); the grid's product is taken over each of them. Empty: the grid alone.
  std::vector<std::vector<std::string>> points;
  std::vector<std::string> grid;   // "key=a,b,c": the cartesian product of every grid option
  std::vector<std::string> ranges; // "key=lo:hi" or "key=lo:hi:log": random samples per grid point
  int random = 8;                  // samples per grid point when ranges are given
  int seeds = 1;                   // every point repeated with seed, seed+1, ...
  std::uint64_t samplingSeed = 12345;
};

// The spec's points (each a list of key=value overrides); Error naming the option for a malformed
// grid or range, a number of random points or seeds below 1. Cheap: callers check a command line
// with it before anything is loaded.
std::vector<std::vector<std::string>> sweepPoints(const SweepSpec &spec);

// One run per point and seed. Error (naming the option) for a malformed grid or range.
// `root` empty: <output.runs>/<name>-sweep-<time>.
ExperimentPlan planSweep(const ExperimentSource &source, const SweepSpec &spec,
                         std::filesystem::path root = {});

} // namespace tunebench
