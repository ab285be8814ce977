// `runs`: the workspace's run history (list, show, compare, export, import, housekeeping).
#include "cli/args.h"
#include "cli/commands.h"
#include "core/runs/runstore.h"
#include "core/runtime/paths.h"
#include "core/util/error.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

namespace tunebench::cli {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string num(double v)
{
  if (!std::isfinite(v))
    return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::vector<std::int64_t> ids(const std::vector<std::string> &args, std::size_t from)
{
  std::vector<std::int64_t> out;
  for (std::size_t i = from; i < args.size(); ++i) {
    try {
      std::size_t used = 0;
      out.push_back(std::stoll(args[i], &used));
      if (used != args[i].size())
        throw std::invalid_argument("x");
    } catch (const std::exception &) {
      throw UsageError("\"" + args[i] + "\" is not a run id (see `runs list`)");
    }
  }
  return out;
}

void printRuns(const std::vector<RunRecord> &runs, const std::vector<std::string> &columns)
{
  std::printf("%6s  %-28s %-13s %9s", "id", "name", "status", "duration");
  for (const std::string &c : columns)
    std::printf("  %14s", c.c_str());
  std::printf("  created\n");
  for (const RunRecord &r : runs) {
    std::printf("%6lld  %-28.28s %-13s %8.0fs", static_cast<long long>(r.id), r.name.c_str(), r.status.c_str(), r.duration);
    for (const std::string &c : columns) {
      const auto it = r.summary.find(c);
      std::printf("  %14s", it == r.summary.end() ? "-" : num(it->second).c_str());
    }
    std::printf("  %s\n", r.created.c_str());
  }
}

json runJson(const RunRecord &r)
{
  json summary = json::object();
  for (const auto &[k, v] : r.summary)
    summary[k] = std::isfinite(v) ? json(v) : json(nullptr);
  return {{"id", r.id}, {"name", r.name}, {"created", r.created}, {"status", r.status}, {"reason", r.reason},
          {"duration", r.duration}, {"tags", r.tags}, {"notes", r.notes}, {"parent", r.parent}, {"folder", r.folder},
          {"archived", r.archived}, {"summary", summary}};
}

} // namespace

int runRuns(const std::vector<std::string> &argvIn)
{
  if (argvIn.empty())
    throw UsageError("runs needs a sub-command: list, show, compare, best, export, bundle, import, index, "
                     "delete, archive, "
                     "notes, tag, prune, du");
  const std::string sub = argvIn.front();
  std::vector<std::string> argv(argvIn.begin() + 1, argvIn.end());
  // Repeatable --where filters.
  std::vector<std::string> where, rest;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--where" && i + 1 < argv.size())
      where.push_back(argv[++i]);
    else
      rest.push_back(argv[i]);
  }
  Args args(rest, {{"workspace", true, "the workspace (default $TUNEBENCH_WORKSPACE)"},
                   {"json", false, "JSON output"},
                   {"sort", true, "list: created, name, duration, a summary metric (test.accuracy) or config key; - for ascending"},
                   {"limit", true, "list: at most N runs"},
                   {"all", false, "list: archived runs too"},
                   {"columns", true, "list: summary metrics to show (comma-separated)"},
                   {"format", true, "export: csv or json"},
                   {"out", true, "export/bundle/import: the output file or folder"},
                   {"files", false, "delete: the run folder too"},
                   {"keep", true, "prune: checkpoints of this many recent finished runs stay"},
                   {"min", false, "best: the lowest value wins"},
                   {"undo", false, "archive: un-archive"},
                   {"rows", true, "stress-write: rows per transaction"}});
  const fs::path workspace = args.value("workspace") ? fs::path(*args.value("workspace")) : defaultWorkspaceDir();
  // Reading commands open the history read-only: they work on a full disk or a read-only
  // workspace and never change it.
  static const std::set<std::string> reading = {"list", "show", "compare", "best", "export", "du"};
  RunStore store(workspace, reading.count(sub) ? RunStore::Access::ReadOnly : RunStore::Access::ReadWrite);
  const auto &pos = args.positionals();

  if (sub == "list") {
    RunQuery q;
    for (const std::string &w : where)
      q.filters.push_back(RunFilter::parse(w));
    if (args.value("sort")) {
      std::string s = *args.value("sort");
      q.descending = s.front() != '-';
      q.sortBy = q.descending ? s : s.substr(1);
    }
    q.limit = args.intValue("limit").value_or(0);
    q.includeArchived = args.has("all");
    const std::vector<RunRecord> runs = store.list(q);
    if (args.has("json")) {
      json out = json::array();
      for (const RunRecord &r : runs)
        out.push_back(runJson(r));
      std::cout << out.dump() << '\n';
    } else {
      std::vector<std::string> columns;
      std::string spec = args.value("columns").value_or("test.accuracy,test.macro_f1");
      for (std::size_t at = 0; at <= spec.size();) {
        const auto comma = spec.find(',', at);
        columns.push_back(spec.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
        if (comma == std::string::npos)
          break;
        at = comma + 1;
      }
      printRuns(runs, columns);
    }
    return ExitOk;
  }
  if (sub == "show") {
    if (pos.size() != 1)
      throw UsageError("runs show needs one run id");
    const std::int64_t id = ids(pos, 0).front();
    const RunRecord r = store.run(id);
    if (args.has("json")) {
      json j = runJson(r);
      j["config"] = store.config(id);
      json events = json::array();
      for (const auto &e : store.events(id))
        if (e.kind != "log")
          events.push_back({{"step", e.step}, {"kind", e.kind}, {"payload", json::parse(e.payload, nullptr, false)}});
      j["events"] = events;
      std::cout << j.dump() << '\n';
      return ExitOk;
    }
    std::printf("run %lld: %s\nstatus:   %s%s%s\ncreated:  %s, %.0f s\nfolder:   %s\n", static_cast<long long>(r.id),
                r.name.c_str(), r.status.c_str(), r.reason.empty() ? "" : " — ", r.reason.c_str(), r.created.c_str(),
                r.duration, r.folder.c_str());
    if (r.parent)
      std::printf("parent:   %lld\n", static_cast<long long>(r.parent));
    if (!r.notes.empty())
      std::printf("notes:    %s\n", r.notes.c_str());
    std::printf("summary:\n");
    for (const auto &[k, v] : r.summary)
      std::printf("  %-28s %s\n", k.c_str(), num(v).c_str());
    std::printf("series:\n");
    for (const auto &[split, name] : store.seriesNames(id)) {
      const auto points = store.series(id, split, name);
      std::printf("  %s/%s: %zu points, last %s\n", split.c_str(), name.c_str(), points.size(),
                  points.empty() ? "-" : num(points.back().value).c_str());
    }
    for (const auto &e : store.events(id))
      if (e.kind == "diagnosis") {
        const json d = json::parse(e.payload, nullptr, false);
        std::printf("diagnosis at step %ld: %s: %s\n", e.step, d.value("title", "").c_str(), d.value("evidence", "").c_str());
      }
    std::printf("config:\n%s", store.configYaml(id).c_str());
    return ExitOk;
  }
  if (sub == "compare") {
    if (pos.size() < 2)
      throw UsageError("runs compare needs two or more run ids");
    const RunComparison c = store.compare(ids(pos, 0));
    if (args.has("json")) {
      json diff = json::object(), summary = json::object(), series = json::object();
      for (const auto &[k, v] : c.configDiff)
        diff[k] = v;
      for (const auto &[k, v] : c.summary) {
        json values = json::array();
        for (double x : v)
          values.push_back(std::isfinite(x) ? json(x) : json(nullptr));
        summary[k] = values;
      }
      for (const auto &[k, perRun] : c.series) {
        json runs = json::array();
        for (const auto &points : perRun) {
          json p = json::array();
          for (const MetricPoint &m : points)
            p.push_back({m.step, m.epoch, std::isfinite(m.value) ? json(m.value) : json(nullptr)});
          runs.push_back(p);
        }
        series[k] = runs;
      }
      json runs = json::array();
      for (const RunRecord &r : c.runs)
        runs.push_back(r.id);
      std::cout << json{{"runs", runs}, {"config_diff", diff}, {"summary", summary}, {"series", series}}.dump() << '\n';
      return ExitOk;
    }
    std::printf("%-36s", "config (only what differs)");
    for (const RunRecord &r : c.runs)
      std::printf("  %18s", ("run " + std::to_string(r.id)).c_str());
    std::printf("\n");
    if (c.configDiff.empty())
      std::printf("  (the configs are the same)\n");
    for (const auto &[k, v] : c.configDiff) {
      std::printf("%-36.36s", k.c_str());
      for (const std::string &x : v)
        std::printf("  %18.18s", x.empty() ? "(unset)" : x.c_str());
      std::printf("\n");
    }
    std::printf("\n%-36s", "summary");
    for (const RunRecord &r : c.runs)
      std::printf("  %18s", ("run " + std::to_string(r.id)).c_str());
    std::printf("\n");
    for (const auto &[k, v] : c.summary) {
      std::printf("%-36.36s", k.c_str());
      for (double x : v)
        std::printf("  %18s", num(x).c_str());
      std::printf("\n");
    }
    std::printf("%-36s", "status");
    for (const RunRecord &r : c.runs)
      std::printf("  %18s", r.status.c_str());
    std::printf("\n");
    return ExitOk;
  }
  if (sub == "best") {
    if (pos.size() != 1)
      throw UsageError("runs best needs a summary metric, e.g. test.accuracy");
    const auto id = store.best(pos.front(), !args.has("min"));
    if (!id)
      throw Error("no run has " + pos.front());
    std::printf("%lld\n", static_cast<long long>(*id));
    return ExitOk;
  }
  if (sub == "export") {
    std::vector<std::int64_t> selected = ids(pos, 0);
    if (selected.empty()) {
      RunQuery q;
      for (const std::string &w : where)
        q.filters.push_back(RunFilter::parse(w));
      for (const RunRecord &r : store.list(q))
        selected.push_back(r.id);
    }
    const std::string format = args.value("format").value_or("csv");
    if (format != "csv" && format != "json")
      throw UsageError("--format must be csv or json");
    const std::string text = format == "csv" ? store.exportCsv(selected) : store.exportJson(selected);
    if (args.value("out"))
      std::ofstream(*args.value("out")) << text;
    else
      std::cout << text;
    return ExitOk;
  }
  if (sub == "bundle") {
    if (pos.size() != 1 || !args.value("out"))
      throw UsageError("runs bundle needs one run id and --out FILE");
    writeRunBundle(store.run(ids(pos, 0).front()).folder, *args.value("out"));
    std::printf("%s\n", args.value("out")->c_str());
    return ExitOk;
  }
  if (sub == "import") {
    if (pos.size() != 1)
      throw UsageError("runs import needs one bundle file");
    const fs::path target = readRunBundle(pos.front(), args.value("out") ? fs::path(*args.value("out")) : workspace / "runs");
    const std::int64_t id = store.importFolder(target);
    std::printf("run %lld: %s\n", static_cast<long long>(id), target.string().c_str());
    return ExitOk;
  }
  if (sub == "index") {
    if (pos.empty())
      throw UsageError("runs index needs one or more run folders");
    for (const std::string &folder : pos)
      std::printf("run %lld: %s\n", static_cast<long long>(store.importFolder(folder)), folder.c_str());
    return ExitOk;
  }
  if (sub == "delete") {
    for (std::int64_t id : ids(pos, 0))
      store.remove(id, args.has("files"));
    return ExitOk;
  }
  if (sub == "archive") {
    for (std::int64_t id : ids(pos, 0))
      store.setArchived(id, !args.has("undo"));
    return ExitOk;
  }
  if (sub == "notes") {
    if (pos.size() != 2)
      throw UsageError("runs notes needs a run id and the text");
    store.setNotes(ids({pos[0]}, 0).front(), pos[1]);
    return ExitOk;
  }
  if (sub == "tag") {
    if (pos.size() < 1)
      throw UsageError("runs tag needs a run id and tags");
    store.setTags(ids({pos[0]}, 0).front(), std::vector<std::string>(pos.begin() + 1, pos.end()));
    return ExitOk;
  }
  if (sub == "prune") {
    const int keep = args.intValue("keep").value_or(5);
    std::printf("freed %.1f MiB\n", static_cast<double>(store.pruneCheckpoints(keep)) / (1024.0 * 1024.0));
    return ExitOk;
  }
  if (sub == "du") {
    RunQuery q;
    q.includeArchived = true;
    std::int64_t total = 0;
    for (const RunRecord &r : store.list(q)) {
      const std::int64_t bytes = RunStore::diskUse(r.folder);
      total += bytes;
      std::printf("%6lld  %10.1f MiB  %s\n", static_cast<long long>(r.id), static_cast<double>(bytes) / 1048576.0,
                  r.folder.c_str());
    }
    std::printf("total   %10.1f MiB\n", static_cast<double>(total) / 1048576.0);
    return ExitOk;
  }
  if (sub == "stress-write") {
    // For the crash test: writes metric batches forever, one transaction each, printing each commit.
    const int rows = args.intValue("rows").value_or(1000);
    const std::int64_t id = store.createRun("stress", workspace / "stress", "name: stress\n");
    for (long batch = 0;; ++batch) {
      for (int i = 0; i < rows; ++i)
        store.addMetric(id, "train", "loss", batch * rows + i, 0, 0.0, 1.0 / static_cast<double>(i + 1));
      store.flush();
      std::printf("%ld\n", batch + 1);
      std::fflush(stdout);
    }
  }
  throw UsageError("runs: unknown sub-command \"" + sub + "\"");
}

} // namespace tunebench::cli
