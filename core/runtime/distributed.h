#pragma once

#include "core/util/error.h"

#include <torch/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tunebench {

// Where this process stands in a data-parallel run, from the standard environment that torchrun,
// `tunebench-cli train --nproc N` and schedulers set: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT. Without WORLD_SIZE (or with 1) the process trains alone.
struct DistributedEnvironment
{
  int rank = 0;
  int worldSize = 1;
  int localRank = 0;
  std::string masterAddress = "127.0.0.1";
  int masterPort = 0;
  bool distributed() const { return worldSize > 1; }
};

// Reads the variables; a malformed or missing one (WORLD_SIZE set without RANK, a rank outside the
// world, a port that is not one) is an Error naming the variable.
DistributedEnvironment distributedEnvironment();

// A collective that was started and has not been waited for (a bucket's all-reduce).
class PendingCollective
{
public:
  virtual ~PendingCollective() = default;
  // Blocks until done; a peer that died or timed out throws PeerFailure.
  virtual void wait() = 0;
};

// A collective that failed because a rank stopped answering (its process ended or hung) or the
// rendezvous could not be reached. what() names the rank when it can be told.
class PeerFailure : public Error
{
public:
  PeerFailure(const std::string &message, int rank)
    : Error(message)
    , m_rank(rank)
  {}
  int rank() const { return m_rank; } // -1: not known
private:
  int m_rank;
};

// The processes of one data-parallel run, joined through c10d: a TCPStore rendezvous on
// MASTER_ADDR:MASTER_PORT (held by rank 0) and a ProcessGroupGloo (CPU tensors). Every collective
// is bounded by the timeout. Each process keeps a heartbeat in the store (every second: its step
// and tokens/s), which names the rank that stopped when a collective fails, and which rank 0
// reads for the Monitor. c10d's headers stay inside distributed.cpp.
class ProcessGroup
{
public:
  struct Options
  {
    std::string backend = "auto"; // auto (NCCL with CUDA, else Gloo) | gloo | nccl
    std::chrono::seconds timeout{60};
  };
  // Joins the group: rank 0 opens the rendezvous and waits up to the timeout for the others.
  // A port in use, a rank that never arrives or a world-size mismatch is an Error saying which.
  static std::unique_ptr<ProcessGroup> join(const DistributedEnvironment &env, const Options &options);
  // The backend `requested` (auto, gloo, nccl) means in this build; an Error for one it lacks.
  static std::string backendFor(const std::string &requested);
  virtual ~ProcessGroup() = default;

  virtual int rank() const = 0;
  virtual int worldSize() const = 0;
  virtual std::string backend() const = 0; // "gloo" or "nccl"

  // Sums `t` over every rank in place, started now, finished by wait().
  virtual std::unique_ptr<PendingCollective> allReduceAsync(torch::Tensor &t) = 0;
  // Sums `t` over every rank in place.
  void allReduce(torch::Tensor &t) { allReduceAsync(t)->wait(); }
  // Every rank's 1-D tensor of any length (same dtype), in rank order.
  virtual std::vector<torch::Tensor> allGather(const torch::Tensor &t) = 0;
  // Root's text on every rank (through the store).
  virtual std::string broadcast(const std::string &text, int root = 0) = 0;
  // Returns when every rank has reached it (or throws PeerFailure after the timeout).
  virtual void barrier() = 0;

  // What this rank's heartbeat reports next (rank 0 reads them all): the steps done.
  virtual void reportProgress(long step, double tokensPerSecond) = 0;
  // Every rank's last heartbeat: {"rank", "step", "tokens_per_second", "age_seconds"}.
  virtual std::vector<nlohmann::json> heartbeats() = 0;

  // Turns a failed collective into a PeerFailure naming the rank that stopped (a heartbeat that
  // no longer moves), with what this rank was doing (`during`).
  [[noreturn]] virtual void explainFailure(const std::string &during, const std::string &detail) = 0;
};

// A free TCP port on the loopback interface (for a local rendezvous).
int freeLoopbackPort();

// Rank 0's run folder (what `choose` returns there, or its Error) on every rank: the first thing
// the ranks of a run agree on.
std::filesystem::path agreeOnRunDir(ProcessGroup &group,
                                    const std::function<std::filesystem::path()> &choose);

} // namespace tunebench
