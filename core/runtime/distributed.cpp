// c10d's Gloo process group: declared with USE_C10D_GLOO, which LibTorch's CMake package defines
// (the symbols are in libtorch_cpu, gloo's headers come from libgloo-dev).
#include "core/runtime/distributed.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

namespace tunebench {
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// An environment variable as a non-negative integer; nullopt when unset.
std::optional<long> integerVariable(const char *name, long max)
{
  const char *value = std::getenv(name);
  if (!value || !*value)
    return std::nullopt;
  char *end = nullptr;
  const long v = std::strtol(value, &end, 10);
  if (*end || v < 0 || v > max)
    throw Error(std::string("environment variable ") + name + "=" + value +
                ": expected an integer from 0 to " + std::to_string(max));
  return v;
}

std::vector<std::uint8_t> bytes(const std::string &s)
{
  return {s.begin(), s.end()};
}
std::string text(const std::vector<std::uint8_t> &b)
{
  return {b.begin(), b.end()};
}

// The store's failures and Gloo's all derive from std::exception; their texts are the detail.
class GlooGroup;

class GlooPending final : public PendingCollective
{
public:
  GlooPending(c10::intrusive_ptr<c10d::Work> work, GlooGroup &group)
    : m_work(std::move(work))
    , m_group(group)
  {}
  void wait() override;

private:
  c10::intrusive_ptr<c10d::Work> m_work;
  GlooGroup &m_group;
};

class GlooGroup final : public ProcessGroup
{
public:
  GlooGroup(const DistributedEnvironment &env, const Options &options)
    : m_env(env)
    , m_timeout(options.timeout)
  {
    openStore();
    rendezvous();
    auto glooOptions = c10d::ProcessGroupGloo::Options::create(m_timeout);
    glooOptions->devices.push_back(isLoopback() ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                                : c10d::ProcessGroupGloo::createDefaultDevice());
    try {
      m_pg = c10::make_intrusive<c10d::ProcessGroupGloo>(
          c10::make_intrusive<c10d::PrefixStore>("pg", m_store), env.rank, env.worldSize, glooOptions);
    } catch (const std::exception &e) {
      explainFailure("connecting the ranks", e.what());
    }
    m_heartbeat = std::thread([this] { beat(); });
  }

  ~GlooGroup() override
  {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_quit = true;
    }
    m_wake.notify_all();
    if (m_heartbeat.joinable())
      m_heartbeat.join();
  }

  int rank() const override { return m_env.rank; }
  int worldSize() const override { return m_env.worldSize; }
  std::string backend() const override { return "gloo"; }

  std::unique_ptr<PendingCollective> allReduceAsync(torch::Tensor &t) override
  {
    std::vector<torch::Tensor> tensors{t};
    try {
      return std::make_unique<GlooPending>(m_pg->allreduce(tensors), *this);
    } catch (const std::exception &e) {
      explainFailure("an all-reduce", e.what());
    }
  }

  std::vector<torch::Tensor> allGather(const torch::Tensor &t) override
  {
    const torch::Tensor flat = t.reshape({-1}).contiguous();
    torch::Tensor size = torch::full({1}, flat.numel(), torch::kLong);
    std::vector<torch::Tensor> sizes = gatherSame(size);
    std::int64_t longest = 0;
    for (const torch::Tensor &s : sizes)
      longest = std::max(longest, s.item<std::int64_t>());
    torch::Tensor padded = torch::zeros({std::max<std::int64_t>(longest, 1)}, flat.options());
    padded.narrow(0, 0, flat.numel()).copy_(flat);
    std::vector<torch::Tensor> all = gatherSame(padded);
    for (std::size_t r = 0; r < all.size(); ++r)
      all[r] = all[r].narrow(0, 0, sizes[r].item<std::int64_t>());
    return all;
  }

  bool waitSlice(const std::string &key) // set within half a second (the store's wait, not polling)
  {
    try {
      m_store->wait({key}, std::chrono::milliseconds(500));
      return true;
    } catch (const std::exception &) {
      return m_store->check({key}); // a slice that ended without it; a dead store throws here
    }
  }

  std::string broadcast(const std::string &value, int root) override
  {
    const std::string key = "broadcast/" + std::to_string(m_broadcasts++);
    const std::string during = "receiving rank " + std::to_string(root) + "'s decision";
    try {
      if (m_env.rank == root) {
        m_store->set(key, bytes(value));
        return value;
      }
      // The root may work alone past the timeout (generating answers): wait while its heartbeat moves.
      long lastBeat = -2;
      auto lastMove = Clock::now();
      while (!waitSlice(key)) {
        const long beat = readBeat(root).value("beat", -1L);
        if (beat != lastBeat) {
          lastBeat = beat;
          lastMove = Clock::now();
        } else if (Clock::now() - lastMove > m_timeout) {
          explainFailure(during, "no answer within the timeout");
        }
      }
      return text(m_store->get(key));
    } catch (const PeerFailure &) {
      throw;
    } catch (const std::exception &e) {
      explainFailure(during, e.what());
    }
  }

  void barrier() override
  {
    try {
      m_pg->barrier()->wait();
    } catch (const std::exception &e) {
      explainFailure("a barrier", e.what());
    }
  }

  void reportProgress(long step, double tokensPerSecond) override
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_step = step;
    m_tokensPerSecond = tokensPerSecond;
  }

  std::vector<json> heartbeats() override
  {
    std::vector<json> out;
    for (int r = 0; r < m_env.worldSize; ++r) {
      json beat = readBeat(r);
      const long count = beat.value("beat", -1L);
      auto &[lastCount, seen] = m_seen[r];
      if (count != lastCount) {
        lastCount = count;
        seen = Clock::now();
      }
      beat["rank"] = r;
      beat["age_seconds"] = count < 0 ? -1.0 : std::chrono::duration<double>(Clock::now() - seen).count();
      beat.erase("beat");
      out.push_back(beat);
    }
    return out;
  }

  [[noreturn]] void explainFailure(const std::string &during, const std::string &detail) override
  {
    const std::string where = "in step " + std::to_string(currentStep() + 1) + ", during " + during;
    std::vector<long> first;
    try {
      for (int r = 0; r < m_env.worldSize; ++r)
        first.push_back(readBeat(r).value("beat", -1L));
      // Heartbeats come every second: one that does not move in 3 s belongs to a rank that stopped.
      std::this_thread::sleep_for(std::chrono::seconds(3));
      std::string stopped;
      int named = -1;
      for (int r = 0; r < m_env.worldSize; ++r)
        if (r != m_env.rank && readBeat(r).value("beat", -1L) == first[static_cast<std::size_t>(r)]) {
          stopped += (stopped.empty() ? "" : ", ") + std::to_string(r);
          named = named < 0 ? r : named;
        }
      if (named >= 0)
        throw PeerFailure("rank " + stopped + " stopped answering (its process ended or hung) " + where +
                              " (" + firstLine(detail) + ")",
                          named);
    } catch (const PeerFailure &) {
      throw;
    } catch (const std::exception &) {
      if (m_env.rank != 0) // the store lives in rank 0's process
        throw PeerFailure("rank 0 stopped answering (its process, which holds the rendezvous at " +
                              address() + ", ended or hung) " + where + " (" + firstLine(detail) + ")",
                          0);
    }
    throw PeerFailure("a collective failed " + where + ": " + firstLine(detail), -1);
  }

  long currentStep()
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_step;
  }

private:
  static std::string firstLine(const std::string &s)
  {
    std::string line = s.substr(0, s.find('\n'));
    return line.size() > 300 ? line.substr(0, 300) + "..." : line;
  }

  bool isLoopback() const
  {
    return m_env.masterAddress == "127.0.0.1" || m_env.masterAddress == "localhost" ||
           m_env.masterAddress == "::1";
  }

  std::string address() const { return m_env.masterAddress + ":" + std::to_string(m_env.masterPort); }

  // Under torchrun the agent already holds a store on MASTER_PORT (TORCHELASTIC_USE_AGENT_STORE):
  // every rank is its client, and tunebench's keys go under a prefix of their own per restart.
  static bool agentStore()
  {
    const char *v = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
    return v && std::string(v) == "True";
  }

  c10::intrusive_ptr<c10d::Store> connect(bool server) const
  {
    c10d::TCPStoreOptions o;
    o.port = static_cast<std::uint16_t>(m_env.masterPort);
    o.isServer = server && !agentStore();
    o.numWorkers = m_env.worldSize;
    o.waitWorkers = false;
    o.timeout = m_timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(m_env.masterAddress, o);
    if (!agentStore())
      return tcp;
    const char *restart = std::getenv("TORCHELASTIC_RESTART_COUNT");
    return c10::make_intrusive<c10d::PrefixStore>(std::string("tunebench/") + (restart ? restart : "0"), tcp);
  }

  void openStore()
  {
    try {
      m_store = connect(m_env.rank == 0);
    } catch (const std::exception &e) {
      const std::string why = firstLine(e.what());
      if (m_env.rank == 0)
        throw Error("the rendezvous could not be opened on " + address() + " (MASTER_ADDR:MASTER_PORT): " +
                    why + (why.find("in use") != std::string::npos ? "; choose another MASTER_PORT" : ""));
      throw Error("rank " + std::to_string(m_env.rank) + " could not reach the rendezvous at " + address() +
                  " (MASTER_ADDR:MASTER_PORT) within " + std::to_string(m_timeout.count()) +
                  " s: is rank 0 running? (" + why + ")");
    }
  }

  // Every rank announces itself (world size, host, process); rank 0 checks them and answers "go"
  // (or why not) — a rank that never comes or disagrees on the world size is named.
  void rendezvous()
  {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    const json me{{"world_size", m_env.worldSize}, {"host", host}, {"pid", static_cast<long>(getpid())}};
    try {
      m_store->set("joined/" + std::to_string(m_env.rank), bytes(me.dump()));
      if (m_env.rank == 0)
        m_store->set("go", bytes(checkRanks()));
      const std::string verdict = text(m_store->get("go"));
      if (!verdict.empty())
        throw Error(verdict);
    } catch (const Error &) {
      throw;
    } catch (const std::exception &e) {
      throw Error("rank " + std::to_string(m_env.rank) + ": the rendezvous at " + address() +
                  " did not complete within " + std::to_string(m_timeout.count()) + " s (" +
                  firstLine(e.what()) + ")");
    }
  }

  std::string checkRanks()
  {
    const auto deadline = Clock::now() + m_timeout;
    for (;;) {
      std::string missing;
      for (int r = 1; r < m_env.worldSize; ++r)
        if (!m_store->check({"joined/" + std::to_string(r)}))
          missing += (missing.empty() ? "" : ", ") + std::to_string(r);
      if (missing.empty())
        break;
      if (Clock::now() > deadline)
        throw Error("rank(s) " + missing + " of " + std::to_string(m_env.worldSize) +
                    " did not join the rendezvous at " + address() + " within " +
                    std::to_string(m_timeout.count()) + " s (training.distributed.timeout)");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (int r = 1; r < m_env.worldSize; ++r) {
      const json other = json::parse(text(m_store->get("joined/" + std::to_string(r))));
      if (other.value("world_size", 0) != m_env.worldSize)
        return "world size mismatch: rank 0 expects " + std::to_string(m_env.worldSize) +
               " processes, rank " + std::to_string(r) + " (" + other.value("host", std::string()) +
               ", pid " + std::to_string(other.value("pid", 0L)) + ") expects " +
               std::to_string(other.value("world_size", 0)) + " (WORLD_SIZE)";
    }
    return {};
  }

  json readBeat(int r)
  {
    std::lock_guard<std::mutex> lock(m_storeMutex);
    const std::string key = "heartbeat/" + std::to_string(r);
    if (!m_store->check({key}))
      return json::object();
    return json::parse(text(m_store->get(key)));
  }

  // The heartbeat thread: its own connection to the store, a beat every second.
  void beat()
  {
    c10::intrusive_ptr<c10d::Store> store;
    try {
      store = connect(false);
    } catch (const std::exception &) {
      return;
    }
    for (long count = 0;; ++count) {
      json j;
      {
        std::unique_lock<std::mutex> lock(m_mutex);
        j = {{"beat", count}, {"step", m_step}, {"tokens_per_second", m_tokensPerSecond}};
      }
      try {
        store->set("heartbeat/" + std::to_string(m_env.rank), bytes(j.dump()));
      } catch (const std::exception &) {
        return; // the store is gone (rank 0 ended): the collectives report it
      }
      std::unique_lock<std::mutex> lock(m_mutex);
      if (m_wake.wait_for(lock, std::chrono::seconds(1), [this] { return m_quit; }))
        return;
    }
  }

  std::vector<torch::Tensor> gatherSame(torch::Tensor &t)
  {
    std::vector<std::vector<torch::Tensor>> outputs(1);
    for (int r = 0; r < m_env.worldSize; ++r)
      outputs[0].push_back(torch::empty_like(t));
    std::vector<torch::Tensor> inputs{t};
    try {
      m_pg->allgather(outputs, inputs)->wait();
    } catch (const std::exception &e) {
      explainFailure("gathering evaluation results", e.what());
    }
    return outputs[0];
  }

  friend class GlooPending;
  DistributedEnvironment m_env;
  std::chrono::milliseconds m_timeout;
  c10::intrusive_ptr<c10d::Store> m_store;
  std::mutex m_storeMutex;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> m_pg;
  long m_broadcasts = 0;
  std::map<int, std::pair<long, Clock::time_point>> m_seen;

  std::mutex m_mutex; // the heartbeat's fields
  std::condition_variable m_wake;
  bool m_quit = false;
  long m_step = 0;
  double m_tokensPerSecond = 0;
  std::thread m_heartbeat;
};

void GlooPending::wait()
{
  try {
    m_work->wait();
  } catch (const std::exception &e) {
    m_group.explainFailure("a gradient all-reduce", e.what());
  }
}

} // namespace

DistributedEnvironment distributedEnvironment()
{
  DistributedEnvironment env;
  const auto world = integerVariable("WORLD_SIZE", 4096);
  if (!world || *world <= 1)
    return env;
  env.worldSize = static_cast<int>(*world);
  const auto rank = integerVariable("RANK", 4095);
  if (!rank)
    throw Error("environment variable WORLD_SIZE=" + std::to_string(env.worldSize) +
                " is set but RANK is not: every process of a data-parallel run needs its RANK");
  if (*rank >= env.worldSize)
    throw Error("environment variable RANK=" + std::to_string(*rank) +
                " is outside WORLD_SIZE=" + std::to_string(env.worldSize) + " (ranks are 0 to WORLD_SIZE-1)");
  env.rank = static_cast<int>(*rank);
  env.localRank = static_cast<int>(integerVariable("LOCAL_RANK", 4095).value_or(env.rank));
  if (const char *addr = std::getenv("MASTER_ADDR"); addr && *addr)
    env.masterAddress = addr;
  const auto port = integerVariable("MASTER_PORT", 65535);
  if (!port || *port == 0)
    throw Error("environment variable MASTER_PORT is not set (or 0): the rendezvous needs rank 0's port");
  env.masterPort = static_cast<int>(*port);
  return env;
}

std::string ProcessGroup::backendFor(const std::string &requested)
{
  // NCCL needs a CUDA LibTorch with c10d's NCCL group; Debian's has neither, so auto means Gloo here.
  if (requested == "nccl")
    throw Error("training.distributed.backend is nccl, but this build of tunebench has no NCCL process group "
                "(it needs a CUDA LibTorch built with NCCL); use gloo or auto");
  return "gloo";
}

std::unique_ptr<ProcessGroup> ProcessGroup::join(const DistributedEnvironment &env, const Options &options)
{
  backendFor(options.backend);
  return std::make_unique<GlooGroup>(env, options);
}

std::filesystem::path agreeOnRunDir(ProcessGroup &group, const std::function<std::filesystem::path()> &choose)
{
  json j;
  if (group.rank() == 0) {
    try {
      j["dir"] = choose().string();
    } catch (const Error &e) {
      j["error"] = e.what();
      group.broadcast(j.dump());
      throw;
    }
  }
  j = json::parse(group.broadcast(group.rank() == 0 ? j.dump() : std::string()));
  if (j.contains("error"))
    throw Error("rank 0 could not start the run: " + j["error"].get<std::string>());
  return j["dir"].get<std::string>();
}

int freeLoopbackPort()
{
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw Error("no socket for the rendezvous port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
    close(fd);
    throw Error("no free loopback port for the rendezvous");
  }
  const int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

} // namespace tunebench
