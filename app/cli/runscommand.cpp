// `runs`: the workspace's run history (list, show, compare, export, import, housekeeping).
#include "cli/args.h"
#include "cli/commands.h"
#include "core/eval/pairedcomparison.h"
#include "core/runs/rungroups.h"
#include "core/runs/runstore.h"
#include "core/runtime/paths.h"
#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

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

struct RunsContext
{
  RunStore &store;
  const Args &args;
  const std::vector<std::string> &pos;   // the positional arguments after the sub-command
  const std::vector<std::string> &where; // repeatable --where filters
  const fs::path &workspace;
};

int runsList(const RunsContext &c)
{
  RunQuery q;
  for (const std::string &w : c.where)
    q.filters.push_back(RunFilter::parse(w));
  if (c.args.value("sort")) {
    std::string s = *c.args.value("sort");
    q.descending = s.front() != '-';
    q.sortBy = q.descending ? s : s.substr(1);
  }
  q.limit = c.args.intValue("limit").value_or(0);
  q.includeArchived = c.args.has("all");
  const std::vector<RunRecord> runs = c.store.list(q);
  if (c.args.has("json")) {
    json out = json::array();
    for (const RunRecord &r : runs)
      out.push_back(runJson(r));
    std::cout << out.dump() << '\n';
  } else {
    std::vector<std::string> columns;
    std::string spec = c.args.value("columns").value_or("test.accuracy,test.macro_f1");
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

int runsShow(const RunsContext &c)
{
  if (c.pos.size() != 1)
    throw UsageError("runs show needs one run id");
  const std::int64_t id = runIds(c.pos, 0).front();
  const RunRecord r = c.store.run(id);
  if (c.args.has("json")) {
    json j = runJson(r);
    j["config"] = c.store.config(id);
    json events = json::array();
    for (const auto &e : c.store.events(id))
      if (e.kind != "log")
        events.push_back(
            {{"step", e.step}, {"kind", e.kind}, {"payload", json::parse(e.payload, nullptr, false)}});
    j["events"] = events;
    std::cout << j.dump() << '\n';
    return ExitOk;
  }
  std::printf("run %lld: %s\nstatus:   %s%s%s\ncreated:  %s, %.0f s\nfolder:   %s\n",
              static_cast<long long>(r.id), r.name.c_str(), r.status.c_str(), r.reason.empty() ? "" : " — ",
              r.reason.c_str(), r.created.c_str(), r.duration, r.folder.c_str());
  if (r.parent)
    std::printf("parent:   %lld\n", static_cast<long long>(r.parent));
  if (!r.notes.empty())
    std::printf("notes:    %s\n", r.notes.c_str());
  std::printf("summary:\n");
  for (const auto &[k, v] : r.summary)
    std::printf("  %-28s %s\n", k.c_str(), num(v).c_str());
  std::printf("series:\n");
  for (const auto &[split, name] : c.store.seriesNames(id)) {
    const auto points = c.store.series(id, split, name);
    std::printf("  %s/%s: %zu points, last %s\n", split.c_str(), name.c_str(), points.size(),
                points.empty() ? "-" : num(points.back().value).c_str());
  }
  for (const auto &e : c.store.events(id))
    if (e.kind == "diagnosis") {
      const json d = json::parse(e.payload, nullptr, false);
      std::printf("diagnosis at step %ld: %s: %s\n", e.step, d.value("title", "").c_str(),
                  d.value("evidence", "").c_str());
    }
  std::printf("config:\n%s", c.store.configYaml(id).c_str());
  return ExitOk;
}

// --significance: B (the second run) against A on their shared test rows.
std::optional<RunPairComparison> significanceOf(const RunsContext &ctx, const RunComparison &c)
{
  if (!ctx.args.has("significance"))
    return std::nullopt;
  if (c.runs.size() != 2)
    throw UsageError("runs compare --significance compares two runs (A then B)");
  return compareOnTestRows(c.runs[0].folder, c.runs[1].folder,
                           ctx.args.intValue("resamples").value_or(10000));
}

int runsCompare(const RunsContext &ctx)
{
  if (std::any_of(ctx.pos.begin(), ctx.pos.end(),
                  [](const std::string &p) { return p.find(',') != std::string::npos; }))
    return compareRunGroups(ctx.store, ctx.pos, ctx.args.has("json"));
  if (ctx.pos.size() < 2)
    throw UsageError("runs compare needs two or more run ids");
  const RunComparison c = ctx.store.compare(runIds(ctx.pos, 0));
  const std::optional<RunPairComparison> significance = significanceOf(ctx, c);
  if (ctx.args.has("json")) {
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
    json out = {{"runs", runs}, {"config_diff", diff}, {"summary", summary}, {"series", series}};
    if (significance)
      out["significance"] = comparisonJson(*significance);
    std::cout << out.dump() << '\n';
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
  if (significance) {
    std::printf("\nrun %lld (B) against run %lld (A) on the same test rows:\n",
                static_cast<long long>(c.runs[1].id), static_cast<long long>(c.runs[0].id));
    for (const std::string &line : describeComparison(*significance))
      std::printf("  %s\n", line.c_str());
  }
  return ExitOk;
}

int runsBest(const RunsContext &c)
{
  if (c.pos.size() != 1)
    throw UsageError("runs best needs a summary metric, e.g. test.accuracy");
  const auto id = c.store.best(c.pos.front(), !c.args.has("min"));
  if (!id)
    throw Error("no run has " + c.pos.front());
  std::printf("%lld\n", static_cast<long long>(*id));
  return ExitOk;
}

int runsExport(const RunsContext &c)
{
  std::vector<std::int64_t> selected = runIds(c.pos, 0);
  if (selected.empty()) {
    RunQuery q;
    for (const std::string &w : c.where)
      q.filters.push_back(RunFilter::parse(w));
    for (const RunRecord &r : c.store.list(q))
      selected.push_back(r.id);
  }
  const std::string format = c.args.value("format").value_or("csv");
  if (format != "csv" && format != "json")
    throw UsageError("--format must be csv or json");
  std::string text;
  if (const auto key = c.args.value("group-by")) { // the groups: mean ± std and the 95% interval
    std::vector<RunRecord> runs;
    for (std::int64_t id : selected)
      runs.push_back(c.store.run(id));
    const std::vector<RunGroup> groups = groupRuns(c.store, runs, *key);
    text = format == "csv" ? groupsCsv(*key, groups) : groupsJson(*key, groups).dump(2) + "\n";
  } else
    text = format == "csv" ? c.store.exportCsv(selected) : c.store.exportJson(selected);
  if (c.args.value("out"))
    std::ofstream(*c.args.value("out")) << text;
  else
    std::cout << text;
  return ExitOk;
}

int runsBundle(const RunsContext &c)
{
  if (c.pos.size() != 1 || !c.args.value("out"))
    throw UsageError("runs bundle needs one run id and --out FILE");
  writeRunBundle(c.store.run(runIds(c.pos, 0).front()).folder, *c.args.value("out"));
  std::printf("%s\n", c.args.value("out")->c_str());
  return ExitOk;
}

int runsImport(const RunsContext &c)
{
  if (c.pos.size() != 1)
    throw UsageError("runs import needs one bundle file");
  const fs::path target = readRunBundle(c.pos.front(), c.args.value("out") ? fs::path(*c.args.value("out"))
                                                                           : c.workspace / "runs");
  std::int64_t id = 0;
  try {
    id = c.store.importFolder(target);
  } catch (const std::exception &e) {
    std::error_code ec;
    fs::remove_all(target, ec); // the folder this import made: nothing half-imported stays
    const std::string unpacked = target.string() + "/";
    std::string why = e.what();
    if (why.rfind(unpacked, 0) == 0) // the bundle's file, not the folder that is gone again
      why.erase(0, unpacked.size());
    throw Error(c.pos.front() + ": not imported: " + why);
  }
  std::printf("run %lld: %s\n", static_cast<long long>(id), target.string().c_str());
  return ExitOk;
}

int runsIndex(const RunsContext &c)
{
  if (c.pos.empty())
    throw UsageError("runs index needs one or more run folders");
  for (const std::string &folder : c.pos)
    std::printf("run %lld: %s\n", static_cast<long long>(c.store.importFolder(folder)), folder.c_str());
  return ExitOk;
}

int runsDelete(const RunsContext &c)
{
  for (std::int64_t id : runIds(c.pos, 0))
    c.store.remove(id, c.args.has("files"));
  return ExitOk;
}

int runsArchive(const RunsContext &c)
{
  for (std::int64_t id : runIds(c.pos, 0))
    c.store.setArchived(id, !c.args.has("undo"));
  return ExitOk;
}

int runsNotes(const RunsContext &c)
{
  if (c.pos.size() != 2)
    throw UsageError("runs notes needs a run id and the text");
  c.store.setNotes(runIds({c.pos[0]}, 0).front(), c.pos[1]);
  return ExitOk;
}

int runsTag(const RunsContext &c)
{
  if (c.pos.size() < 1)
    throw UsageError("runs tag needs a run id and tags");
  c.store.setTags(runIds({c.pos[0]}, 0).front(), std::vector<std::string>(c.pos.begin() + 1, c.pos.end()));
  return ExitOk;
}

int runsPrune(const RunsContext &c)
{
  const int keep = c.args.intValue("keep").value_or(5);
  std::printf("freed %.1f MiB\n", static_cast<double>(c.store.pruneCheckpoints(keep)) / (1024.0 * 1024.0));
  return ExitOk;
}

int runsDu(const RunsContext &c)
{
  RunQuery q;
  q.includeArchived = true;
  std::int64_t total = 0;
  for (const RunRecord &r : c.store.list(q)) {
    const std::int64_t bytes = RunStore::diskUse(r.folder);
    total += bytes;
    std::printf("%6lld  %10.1f MiB  %s\n", static_cast<long long>(r.id),
                static_cast<double>(bytes) / 1048576.0, r.folder.c_str());
  }
  std::printf("total   %10.1f MiB\n", static_cast<double>(total) / 1048576.0);
  return ExitOk;
}

int runsStressWrite(const RunsContext &c)
{
  // For the crash test: writes metric batches forever, one transaction each, printing each commit.
  const int rows = c.args.intValue("rows").value_or(1000);
  const std::int64_t id = c.store.createRun("stress", c.workspace / "stress", "name: stress\n");
  for (long batch = 0;; ++batch) {
    for (int i = 0; i < rows; ++i)
      c.store.addMetric(id, "train", "loss", batch * rows + i, 0, 0.0, 1.0 / static_cast<double>(i + 1));
    c.store.flush();
    std::printf("%ld\n", batch + 1);
    std::fflush(stdout);
  }
}

struct RunsSubcommand
{
  const char *name;
  bool reads;       // opens the history read-only: works on a full disk or a read-only workspace
  const char *help; // nullptr: not listed (a test helper)
  int (*run)(const RunsContext &);
};

const std::vector<RunsSubcommand> &runsSubcommands()
{
  static const std::vector<RunsSubcommand> table = {
      {"list", true, "list runs (--where, --sort, --limit, --all, --columns, --json)", runsList},
      {"show", true, "one run: status, summary, series, diagnoses, config", runsShow},
      {"compare", true,
       "two or more runs side by side (config differences, summaries; --significance: B against A); "
       "A1,A2,A3 B1,B2,B3: two groups paired by seed or fold",
       runsCompare},
      {"best", true, "the id of the run with the best value of a summary metric", runsBest},
      {"export", true, "summaries as CSV or JSON", runsExport},
      {"bundle", false, "one run folder packed into a file (--out)", runsBundle},
      {"import", false, "a bundle unpacked into the workspace and indexed", runsImport},
      {"index", false, "run folders added to the history", runsIndex},
      {"delete", false, "runs removed from the history (--files: their folders too)", runsDelete},
      {"archive", false, "runs hidden from list (--undo)", runsArchive},
      {"notes", false, "a run's notes set", runsNotes},
      {"tag", false, "a run's tags set", runsTag},
      {"prune", false, "checkpoints of older finished runs deleted (--keep N)", runsPrune},
      {"du", true, "disk use per run folder", runsDu},
      {"stress-write", false, nullptr, runsStressWrite}};
  return table;
}

std::string runsUsage()
{
  std::string names;
  for (const RunsSubcommand &s : runsSubcommands())
    if (s.help)
      names += (names.empty() ? "" : ", ") + std::string(s.name);
  return "runs needs a sub-command: " + names;
}

} // namespace

int runRuns(const std::vector<std::string> &argvIn)
{
  if (argvIn.empty())
    throw UsageError(runsUsage());
  const std::string sub = argvIn.front();
  if (sub == "--help" || sub == "-h") {
    std::string text;
    std::vector<std::string> words;
    for (const RunsSubcommand &s : runsSubcommands())
      if (s.help) {
        words.emplace_back(s.name);
        std::string name = s.name;
        name.resize(std::max<std::size_t>(name.size() + 2, 24), ' ');
        text += "  " + name + s.help + "\n";
      }
    throw HelpRequested("sub-commands (each answers --help with its options)", text, words);
  }
  const auto found = std::find_if(runsSubcommands().begin(), runsSubcommands().end(),
                                  [&](const RunsSubcommand &s) { return sub == s.name; });
  if (found == runsSubcommands().end())
    throw UsageError("runs: unknown sub-command \"" + sub + "\"; " + runsUsage());
  // Repeatable --where filters.
  std::vector<std::string> where, rest;
  for (std::size_t i = 1; i < argvIn.size(); ++i) {
    if (argvIn[i] == "--where" && i + 1 < argvIn.size())
      where.push_back(argvIn[++i]);
    else
      rest.push_back(argvIn[i]);
  }
  Args args(
      rest,
      {{"workspace", true, "the workspace (default $TUNEBENCH_WORKSPACE)"},
       {"json", false, "JSON output"},
       {"significance", false,
        "compare: paired bootstrap and McNemar's test of B against A on the test rows"},
       {"resamples", true, "compare --significance: bootstrap resamples (default 10000)"},
       {"where", true, "list/export: a filter such as test.accuracy>0.8 or status=finished (repeatable)"},
       {"sort", true,
        "list: created, name, duration, a summary metric (test.accuracy) or config key; - for ascending"},
       {"limit", true, "list: at most N runs"},
       {"all", false, "list: archived runs too"},
       {"columns", true, "list: summary metrics to show (comma-separated)"},
       {"format", true, "export: csv or json"},
       {"group-by", true,
        "export: the runs' groups by a config key or parent (mean, std, 95% interval per metric)"},
       {"out", true, "export/bundle/import: the output file or folder"},
       {"files", false, "delete: the run folder too"},
       {"keep", true, "prune: checkpoints of this many recent finished runs stay"},
       {"min", false, "best: the lowest value wins"},
       {"undo", false, "archive: un-archive"},
       {"rows", true, ""} /* stress-write (a test helper): rows per transaction */});
  const fs::path workspace = args.value("workspace") ? fs::path(*args.value("workspace")) : defaultWorkspaceDir();
  RunStore store(workspace, found->reads ? RunStore::Access::ReadOnly : RunStore::Access::ReadWrite);
  return found->run({store, args, args.positionals(), where, workspace});
}

} // namespace tunebench::cli
