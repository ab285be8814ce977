#pragma once

#include "core/runtime/distributed.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tunebench {

// How one rank of a local launch ended.
struct RankExit
{
  int rank = 0;
  int pid = 0;
  int exitCode = 0;             // when it exited
  int signal = 0;               // when a signal ended it
  std::string describe() const; // "rank 1 (pid 4242) was killed by signal 9 (Killed)"
};

struct LaunchResult
{
  int exitCode = 0;               // rank 0's (128 + signal when a signal ended it)
  std::vector<RankExit> abnormal; // ranks that died of a signal or failed while others ran on
};

// `tunebench-cli train --nproc N` and the GUI's processes: starts `ranks` copies of `program` with
// `args` on this machine as one data-parallel run — each with RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE (each rank takes cores / N threads), MASTER_ADDR=127.0.0.1 and a free
// MASTER_PORT, as torchrun would set them — and waits for them all. SIGINT and SIGTERM sent to this
// process go on to the ranks (they stop together at the next step, resumable). When a rank ends
// abnormally the others get `grace` to stop on their own (their collectives time out and name it),
// then they are killed: nothing outlives the launch. `onStarted` gets the pids in rank order.
LaunchResult launchRanks(const std::string &program, const std::vector<std::string> &args, int ranks,
                         std::chrono::seconds grace,
                         void (*onStarted)(const std::vector<int> &pids, int port) = nullptr);

// A data-parallel run on this machine whose rank 0 is this process (the workbench: its Trainer
// trains on the worker thread and reports to the window as always). Ranks 1… are started as
// `program followerArgs` (`tunebench-cli train CONFIG` or `resume RUN`) with the standard
// environment; this process joins them as rank 0 and tells them the run folder.
class LocalRankGroup
{
public:
  LocalRankGroup(const std::string &program, const std::vector<std::string> &followerArgs, int ranks,
                 const ProcessGroup::Options &options, const std::filesystem::path &runDir);
  // Waits for the followers (they end with the run), killing any still there after `grace`.
  ~LocalRankGroup();
  LocalRankGroup(const LocalRankGroup &) = delete;
  LocalRankGroup &operator=(const LocalRankGroup &) = delete;

  ProcessGroup &group() { return *m_group; }
  // The followers reaped (killed after `grace`); those that died of a signal or failed.
  std::vector<RankExit> finish(std::chrono::seconds grace);

private:
  std::vector<int> m_pids;
  std::unique_ptr<ProcessGroup> m_group;
  bool m_finished = false;
};

// How a child process ended: its exit status, or the signal that ended it.
struct ChildExit
{
  int exitCode = 0;
  int signal = 0;
};

// One child process (a plan's worker: `tunebench-cli train …`) with its own environment variables
// on top of this process's, stdout and stderr into `output`. A child still running when the object
// goes is killed (SIGKILL) and reaped: nothing outlives its owner.
class ChildProcess
{
public:
  ChildProcess(const std::string &program, const std::vector<std::string> &args,
               const std::vector<std::pair<std::string, std::string>> &environment,
               const std::filesystem::path &output);
  ~ChildProcess();
  ChildProcess(const ChildProcess &) = delete;
  ChildProcess &operator=(const ChildProcess &) = delete;

  int pid() const { return m_pid; }
  // Its exit once it has ended (reaped then); nothing while it runs.
  std::optional<ChildExit> poll();
  // Sends `sig` while it runs.
  void signal(int sig);

private:
  int m_pid = 0;
  std::optional<ChildExit> m_exit;
};

} // namespace tunebench
