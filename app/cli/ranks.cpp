// Data-parallel training from the command line: `train`/`resume --nproc N` launch N ranks of this
// program on this machine; a process started with WORLD_SIZE (by that launch, torchrun or a
// scheduler) is one rank of the run.
#include "cli/ranks.h"

#include "cli/commands.h"
#include "core/runtime/distributed.h"
#include "core/runtime/launch.h"
#include "core/util/error.h"

#include <unistd.h>

#include <cstdio>

namespace tunebench::cli {
namespace fs = std::filesystem;

namespace {

bool g_quietLaunch = false;

void reportStarted(const std::vector<int> &pids, int port)
{
  if (g_quietLaunch)
    return;
  std::string list;
  for (std::size_t r = 0; r < pids.size(); ++r)
    list += (r ? ", " : "") + std::to_string(pids[r]);
  std::fprintf(stderr, "data parallel: %zu processes, rendezvous 127.0.0.1:%d (pids %s)\n", pids.size(), port,
               list.c_str());
}

} // namespace

int processesWanted(std::optional<int> nproc, const ExperimentConfig &config,
                    const DistributedEnvironment &env)
{
  const int wanted = nproc.value_or(config.training.distributed.processes);
  if (env.distributed() && (nproc || wanted > 1) && wanted != env.worldSize)
    throw Error("WORLD_SIZE is " + std::to_string(env.worldSize) + " but " +
                (nproc ? "--nproc says " : "training.distributed.processes says ") + std::to_string(wanted) +
                ": the world size is one number for every rank");
  return env.distributed() ? env.worldSize : wanted;
}

std::string selfPath()
{
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    throw Error("cannot find this program's own path to start its ranks or workers (/proc/self/exe)");
  return p.string();
}

int launchLocalRanks(int ranks, const std::vector<std::string> &commandArgs, const ExperimentConfig &config,
                     bool quiet)
{
  g_quietLaunch = quiet;
  // The ranks notice a dead peer within the collective timeout; then they need time to write.
  const auto grace = std::chrono::seconds(config.training.distributed.timeout + 30);
  const LaunchResult r = launchRanks(selfPath(), commandArgs, ranks, grace, reportStarted);
  for (const RankExit &e : r.abnormal)
    std::fprintf(stderr, "tunebench-cli: %s\n", e.describe().c_str());
  return r.exitCode;
}

std::unique_ptr<ProcessGroup> joinRanks(const DistributedEnvironment &env, ExperimentConfig &config)
{
  ProcessGroup::Options o;
  o.backend = config.training.distributed.backend;
  o.timeout = std::chrono::seconds(config.training.distributed.timeout);
  std::unique_ptr<ProcessGroup> group = ProcessGroup::join(env, o);
  config.training.distributed.processes = group->worldSize(); // config.yaml records the run's world
  config.training.distributed.backend = group->backend();
  return group;
}

std::vector<std::string> withRunDir(const std::vector<std::string> &args, const fs::path &runDir)
{
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--run-dir") {
      ++i;
      continue;
    }
    if (args[i].rfind("--run-dir=", 0) == 0)
      continue;
    out.push_back(args[i]);
  }
  out.push_back("--run-dir");
  out.push_back(runDir.string());
  return out;
}

} // namespace tunebench::cli
