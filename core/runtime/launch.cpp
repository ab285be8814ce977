#include "core/runtime/launch.h"

#include "core/runtime/distributed.h"
#include "core/util/error.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

namespace tunebench {

namespace {

constexpr int kMaxRanks = 256;
std::atomic<int> g_pids[kMaxRanks];
std::atomic<int> g_count{0};

void forward(int sig)
{
  for (int i = 0; i < g_count.load(); ++i)
    if (const int pid = g_pids[i].load(); pid > 0)
      kill(pid, sig);
}

// A program's argv and environment (this process's with `environment` on top) for execve, made
// before fork: a multithreaded parent's child may only call exec-safe code.
class ExecImage
{
public:
  ExecImage(const std::string &program, const std::vector<std::string> &args,
            const std::vector<std::pair<std::string, std::string>> &environment)
    : m_args(args)
  {
    m_args.insert(m_args.begin(), program);
    for (char **e = environ; *e; ++e) {
      const std::string v = *e;
      const auto overridden = [&](const auto &o) { return v.rfind(o.first + "=", 0) == 0; };
      if (std::none_of(environment.begin(), environment.end(), overridden))
        m_variables.push_back(v);
    }
    for (const auto &[name, value] : environment)
      m_variables.push_back(name + "=" + value);
    for (std::string &a : m_args)
      m_argv.push_back(a.data());
    m_argv.push_back(nullptr);
    for (std::string &v : m_variables)
      m_envp.push_back(v.data());
    m_envp.push_back(nullptr);
  }
  // In the forked child: the program, or a line on stderr and exit status 127.
  [[noreturn]] void exec(const char *who) const
  {
    execve(m_argv[0], m_argv.data(), m_envp.data());
    std::fprintf(stderr, "%scould not start %s: %s\n", who, m_argv[0], std::strerror(errno));
    _exit(127);
  }

private:
  std::vector<std::string> m_args, m_variables;
  std::vector<char *> m_argv, m_envp;
};

// Ranks [from, ranks) of a world of `ranks` started (fork + exec).
std::vector<int> spawnRanks(const std::string &program, const std::vector<std::string> &args, int from,
                            int ranks, int port)
{
  std::vector<int> pids;
  for (int r = from; r < ranks; ++r) {
    const std::string rank = std::to_string(r), world = std::to_string(ranks), who = "rank " + rank + ": ";
    const ExecImage image(program, args,
                          {{"RANK", rank},
                           {"LOCAL_RANK", rank},
                           {"WORLD_SIZE", world},
                           {"LOCAL_WORLD_SIZE", world},
                           {"MASTER_ADDR", "127.0.0.1"},
                           {"MASTER_PORT", std::to_string(port)}});
    const pid_t pid = fork();
    if (pid < 0) {
      for (int p : pids)
        kill(p, SIGKILL);
      throw Error("could not start rank " + std::to_string(r) + ": " + std::strerror(errno));
    }
    if (pid == 0)
      image.exec(who.c_str());
    pids.push_back(pid);
  }
  return pids;
}

RankExit exitOf(int rank, int pid, int status)
{
  return {rank, pid, WIFEXITED(status) ? WEXITSTATUS(status) : 0, WIFSIGNALED(status) ? WTERMSIG(status) : 0};
}

} // namespace

std::string RankExit::describe() const
{
  const std::string who = "rank " + std::to_string(rank) + " (pid " + std::to_string(pid) + ")";
  if (signal)
    return who + " was killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return who + " exited with status " + std::to_string(exitCode);
}

LaunchResult launchRanks(const std::string &program, const std::vector<std::string> &args, int ranks,
                         std::chrono::seconds grace, void (*onStarted)(const std::vector<int> &, int))
{
  if (ranks < 2 || ranks > kMaxRanks)
    throw Error("--nproc " + std::to_string(ranks) + ": expected 2 to " + std::to_string(kMaxRanks) +
                " processes");
  const int port = freeLoopbackPort();
  const std::vector<int> pids = spawnRanks(program, args, 0, ranks, port);
  for (int r = 0; r < ranks; ++r)
    g_pids[r] = pids[static_cast<std::size_t>(r)];
  g_count = ranks;
  struct sigaction sa = {}, oldInt = {}, oldTerm = {};
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &oldInt);
  sigaction(SIGTERM, &sa, &oldTerm);
  if (onStarted)
    onStarted(pids, port);

  LaunchResult result;
  int running = ranks;
  bool killed = false; // the launcher ended the ranks that outlived the grace period
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      if (!killed && std::chrono::steady_clock::now() > deadline) {
        killed = true;
        forward(SIGKILL);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    int r = 0;
    while (r < ranks && pids[static_cast<std::size_t>(r)] != pid)
      ++r;
    if (r == ranks)
      continue;
    g_pids[r] = 0;
    --running;
    const RankExit e = exitOf(r, pid, status);
    if (r == 0)
      result.exitCode = e.signal ? 128 + e.signal : e.exitCode;
    if (killed && e.signal == SIGKILL)
      continue; // ended by the launcher, not a fault of its own
    if (e.signal || (e.exitCode != 0 && running > 0)) {
      result.abnormal.push_back(e);
      if (deadline == std::chrono::steady_clock::time_point::max())
        deadline = std::chrono::steady_clock::now() + grace; // the others: time to stop on their own
    }
  }
  g_count = 0;
  sigaction(SIGINT, &oldInt, nullptr);
  sigaction(SIGTERM, &oldTerm, nullptr);
  return result;
}

LocalRankGroup::LocalRankGroup(const std::string &program, const std::vector<std::string> &followerArgs,
                               int ranks, const ProcessGroup::Options &options,
                               const std::filesystem::path &runDir)
{
  if (ranks < 2 || ranks > kMaxRanks)
    throw Error("training.distributed.processes " + std::to_string(ranks) + ": expected 2 to " +
                std::to_string(kMaxRanks));
  DistributedEnvironment env;
  env.worldSize = ranks;
  env.masterPort = freeLoopbackPort();
  m_pids = spawnRanks(program, followerArgs, 1, ranks, env.masterPort);
  try {
    m_group = ProcessGroup::join(env, options);
    agreeOnRunDir(*m_group, [&] { return runDir; });
  } catch (...) {
    finish(std::chrono::seconds(0));
    throw;
  }
}

LocalRankGroup::~LocalRankGroup()
{
  if (!m_finished)
    finish(std::chrono::seconds(30));
}

std::vector<RankExit> LocalRankGroup::finish(std::chrono::seconds grace)
{
  m_finished = true;
  std::vector<RankExit> abnormal;
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (std::size_t i = 0; i < m_pids.size(); ++i) {
    int status = 0;
    pid_t done = 0;
    while ((done = waitpid(m_pids[i], &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (done == 0) { // still there after the grace period
      kill(m_pids[i], SIGKILL);
      waitpid(m_pids[i], &status, 0);
      continue;
    }
    const RankExit e = exitOf(static_cast<int>(i) + 1, m_pids[i], status);
    if (e.signal || e.exitCode != 0)
      abnormal.push_back(e);
  }
  m_pids.clear();
  m_group.reset();
  return abnormal;
}

ChildProcess::ChildProcess(const std::string &program, const std::vector<std::string> &args,
                           const std::vector<std::pair<std::string, std::string>> &environment,
                           const std::filesystem::path &output)
{
  const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw Error(output.string() + ": cannot write the worker's output: " + std::strerror(errno));
  const ExecImage image(program, args, environment);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    image.exec("");
  }
  const int error = errno;
  ::close(fd);
  if (pid < 0)
    throw Error("could not start " + program + ": " + std::strerror(error));
  m_pid = pid;
}

ChildProcess::~ChildProcess()
{
  if (m_exit || m_pid <= 0)
    return;
  kill(m_pid, SIGKILL);
  int status = 0;
  waitpid(m_pid, &status, 0);
}

std::optional<ChildExit> ChildProcess::poll()
{
  if (m_exit)
    return m_exit;
  int status = 0;
  if (waitpid(m_pid, &status, WNOHANG) != m_pid)
    return std::nullopt;
  m_exit = ChildExit{WIFEXITED(status) ? WEXITSTATUS(status) : 0, WIFSIGNALED(status) ? WTERMSIG(status) : 0};
  return m_exit;
}

void ChildProcess::signal(int sig)
{
  if (!m_exit && m_pid > 0)
    kill(m_pid, sig);
}

} // namespace tunebench
