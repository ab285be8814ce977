// A plan's children as concurrent processes: `--workers N` (PlanRunner::setWorkers).
#include "core/experiments/runner.h"
#include "core/runs/runstore.h"
#include "core/runtime/launch.h"
#include "core/train/runstate.h"
#include "core/util/error.h"
#include "core/util/files.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>

namespace tunebench {
namespace fs = std::filesystem;

namespace {

// The last line a worker wrote (its error message), without the program's "tunebench-cli: ".
std::string lastLine(const fs::path &log)
{
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos)
      last = line;
  if (const std::string prefix = "tunebench-cli: "; last.rfind(prefix, 0) == 0)
    last = last.substr(prefix.size());
  return last;
}

// How a worker's run ended: its results.json after a run that ended on its own (0), failed (1) or
// was stopped (130). Otherwise the run did not start (bad data or model: its message) or the
// process died: `error` says so.
RunResult workerResult(const PlannedRun &child, const ChildExit &e, const fs::path &log, std::string &error)
{
  const bool ran = e.signal == 0 && (e.exitCode == 0 || e.exitCode == 1 || e.exitCode == 130);
  if (ran && fileExists(child.dir / "results.json"))
    return readResults(child.dir);
  RunResult r;
  r.status = RunStatus::Stopped;
  // Stopped before the run saved anything (a SIGINT that came before the program could take it).
  if ((e.signal == 0 && e.exitCode == 130) || e.signal == SIGINT || e.signal == SIGTERM) {
    r.reason = "stopped before its first step";
    return r;
  }
  const std::string said = lastLine(log);
  if (e.signal)
    error = "its process was killed by signal " + std::to_string(e.signal) + " (" + strsignal(e.signal) + ")";
  else
    error = said.empty() ? "its process exited with status " + std::to_string(e.exitCode) : said;
  error += " (output: " + log.string() + ")";
  r.status = RunStatus::Failed;
  r.reason = error;
  return r;
}

std::unique_ptr<ChildProcess> startWorker(const PlannedRun &child, std::int64_t parent, const PlanWorkers &w,
                                          const fs::path &yaml, const fs::path &log)
{
  writeFileAtomically(yaml, child.config.withAbsolutePaths().toYaml());
  const std::vector<std::string> args{"train",    yaml.string(),          "--run-dir", child.dir.string(),
                                      "--parent", std::to_string(parent), "--quiet"};
  return std::make_unique<ChildProcess>(
      w.program, args,
      std::vector<std::pair<std::string, std::string>>{{"TUNEBENCH_THREADS", std::to_string(w.threadsEach)},
                                                       {"TUNEBENCH_WORKSPACE", w.workspace.string()}},
      log);
}

} // namespace

// The workers of one plan: started in plan order, steered (stop, skip, pause as signals), reaped.
class PlanWorkerPool
{
  struct Worker
  {
    std::size_t index = 0;
    std::unique_ptr<ChildProcess> process;
    fs::path log;
    bool stopSent = false;
    bool paused = false;
  };

public:
  PlanWorkerPool(PlanRunner &runner, const ExperimentPlan &plan, PlanObserver &observer, std::int64_t parent)
    : m_runner(runner)
    , m_plan(plan)
    , m_observer(observer)
    , m_parent(parent)
    , m_folder(plan.root / "workers")
    , m_results(plan.runs.size())
  {
    fs::create_directories(m_folder);
  }

  bool ending() const { return m_runner.m_stop || !m_error.empty() || !m_failedFold.empty(); }

  // Children started while a worker is free (those finished before or skipped are passed over).
  void startMore()
  {
    while (!ending() && m_running.size() < static_cast<std::size_t>(m_runner.m_workers.workers) &&
           m_next < m_plan.runs.size()) {
      const std::size_t i = m_next++;
      const PlannedRun &child = m_plan.runs[i];
      if (std::optional<RunResult> r = resultWithoutRunning(child, m_runner.skipped(i))) {
        m_results[i] = std::move(*r);
        m_observer.onRunFinished(i, child, m_results[i]);
        continue;
      }
      m_observer.onRunStarted(i, child);
      const std::string name = child.dir.filename().string();
      Worker w{i, nullptr, m_folder / (name + ".log")};
      try {
        w.process = startWorker(child, m_parent, m_runner.m_workers, m_folder / (name + ".yaml"), w.log);
      } catch (const std::exception &e) {
        fail(child.label, e.what());
        return;
      }
      m_running.push_back(std::move(w));
    }
  }

  bool done() const { return m_running.empty() && (ending() || m_next == m_plan.runs.size()); }

  // Signals sent where the plan's state asks; the children that ended reaped. False: none ended.
  bool steerAndReap()
  {
    bool reaped = false;
    for (auto it = m_running.begin(); it != m_running.end();) {
      steer(*it);
      const std::optional<ChildExit> exit = it->process->poll();
      if (!exit) {
        ++it;
        continue;
      }
      reap(*it, *exit);
      it = m_running.erase(it);
      reaped = true;
    }
    return reaped;
  }

  PlanOutcome outcome()
  {
    if (!m_error.empty()) {
      m_runner.m_store.setStatus(m_parent, RunStatus::Failed, m_error, 0);
      throw Error(m_error);
    }
    PlanOutcome out;
    out.results.assign(m_results.begin(), m_results.begin() + static_cast<std::ptrdiff_t>(m_next));
    if (!m_failedFold.empty()) {
      out.status = RunStatus::Failed;
      out.reason = m_failedFold;
    } else if (m_runner.m_stop) {
      std::string stopped;
      for (std::size_t i = 0; i < m_next; ++i)
        if (m_results[i].status == RunStatus::Stopped && m_results[i].reason != "skipped")
          stopped += (stopped.empty() ? "" : ", ") + m_plan.runs[i].label;
      out.status = RunStatus::Stopped;
      out.reason = "stopped during " + (stopped.empty() ? std::string("the plan") : stopped) +
                   " (resumable: the same command continues the plan)";
    }
    return out;
  }

private:
  void fail(const std::string &label, const std::string &what)
  {
    if (m_error.empty())
      m_error = label + ": " + what;
  }

  // Pause is SIGSTOP/SIGCONT: a signal the child cannot miss or die of while it is still starting
  // (all workers pause together, so one held mid-write to the history holds up none that runs).
  void steer(Worker &w)
  {
    if (!w.stopSent && (ending() || m_runner.skipped(w.index))) {
      w.process->signal(SIGINT); // stops at its next step, resumable
      w.process->signal(SIGCONT);
      w.stopSent = true;
      w.paused = false;
    }
    if (!w.stopSent && w.paused != m_runner.m_paused.load()) {
      w.paused = !w.paused;
      w.process->signal(w.paused ? SIGSTOP : SIGCONT);
    }
  }

  void reap(const Worker &w, const ChildExit &exit)
  {
    const PlannedRun &child = m_plan.runs[w.index];
    std::string problem;
    RunResult &r = m_results[w.index];
    r = workerResult(child, exit, w.log, problem);
    if (!problem.empty())
      fail(child.label, problem);
    else if (m_plan.kind == PlanKind::CrossValidation && r.status == RunStatus::Failed &&
             m_failedFold.empty())
      m_failedFold = child.label + " failed: " + r.reason;
    m_observer.onRunFinished(w.index, child, r);
  }

  PlanRunner &m_runner;
  const ExperimentPlan &m_plan;
  PlanObserver &m_observer;
  std::int64_t m_parent;
  fs::path m_folder;
  std::vector<RunResult> m_results;
  std::vector<Worker> m_running;
  std::size_t m_next = 0;
  std::string m_error;      // a child that could not run (its data, model, or process): the plan fails
  std::string m_failedFold; // a cross-validation fold whose training failed
};

PlanOutcome PlanRunner::runInWorkers(const ExperimentPlan &plan, PlanObserver &observer, std::int64_t parent)
{
  PlanWorkerPool pool(*this, plan, observer, parent);
  while (true) {
    pool.startMore();
    if (pool.done())
      break;
    if (!pool.steerAndReap())
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pool.outcome();
}

} // namespace tunebench
