#pragma once

#include "core/config/experiment.h"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tunebench {
struct DistributedEnvironment;
class ProcessGroup;
} // namespace tunebench

namespace tunebench::cli {

// How many data-parallel processes a train/resume runs: WORLD_SIZE when the environment sets it
// (an Error when --nproc or the config disagree), else --nproc, else training.distributed.processes.
int processesWanted(std::optional<int> nproc, const ExperimentConfig &config,
                    const DistributedEnvironment &env);

// Starts `ranks` copies of this program with `commandArgs` (the command and its options) and
// waits; reports ranks that died; returns rank 0's exit status.
// This program's own path (/proc/self/exe): what the ranks and a plan's workers run.
std::string selfPath();

int launchLocalRanks(int ranks, const std::vector<std::string> &commandArgs, const ExperimentConfig &config,
                     bool quiet);

// This process as one rank: joins the group (training.distributed's backend and timeout) and
// records the world in the config.
std::unique_ptr<ProcessGroup> joinRanks(const DistributedEnvironment &env, ExperimentConfig &config);

// `args` with `--run-dir DIR` (any earlier one replaced).
std::vector<std::string> withRunDir(const std::vector<std::string> &args,
                                    const std::filesystem::path &runDir);

} // namespace tunebench::cli
