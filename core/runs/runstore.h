#pragma once

#include "core/util/runstatus.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

struct sqlite3;

namespace tunebench {

// One run as the history lists it.
struct RunRecord
{
  std::int64_t id = 0;
  std::string name;
  std::string created;   // ISO 8601, UTC
  std::string status;    // queued, running, finished, early_stopped, failed, stopped, interrupted
  std::string reason;
  double duration = 0;   // seconds
  std::vector<std::string> tags;
  std::string notes;
  std::int64_t parent = 0; // 0: none (resumes, sweeps, folds point at their parent)
  std::string folder;
  bool archived = false;
  std::map<std::string, double> summary; // "best.accuracy", "test.macro_f1", "last.loss" ...
};

// One point of a metric series.
struct MetricPoint
{
  long step = 0;
  int epoch = 0;
  double wall = 0;
  double value = 0;
};

// A filter on the run list: a config key (training.learning_rate) or a summary metric
// (test.accuracy, best.loss), an operator (= != < <= > >= ~ for "contains") and a value.
struct RunFilter
{
  std::string key;
  std::string op = "=";
  std::string value;
  static RunFilter parse(const std::string &text); // "strategy.name=lora", "test.accuracy>=0.8"
};

struct RunQuery
{
  std::vector<RunFilter> filters;
  std::string sortBy = "created"; // created, name, duration, status, or a summary metric / config key
  bool descending = true;
  int limit = 0;                  // 0: all
  bool includeArchived = false;
};

// Several runs side by side.
struct RunComparison
{
  std::vector<RunRecord> runs;
  // Only the config keys whose values differ (a missing key is "").
  std::vector<std::pair<std::string, std::vector<std::string>>> configDiff;
  // Summary metric -> value per run (NaN when absent).
  std::vector<std::pair<std::string, std::vector<double>>> summary;
  // Series by "split/name" -> per run, points sorted by step.
  std::map<std::string, std::vector<std::vector<MetricPoint>>> series;
};

// The run history of a workspace: runs.sqlite (WAL, foreign keys, schema version with migrations)
// beside one folder per run. Safe to read from one thread while another writes (WAL snapshot);
// every method throws tunebench::Error naming the database on failure.
class RunStore
{
public:
  static constexpr int kSchemaVersion = 2;

  // ReadWrite creates the workspace and database, migrates an older schema and marks runs whose
  // process is gone as interrupted. ReadOnly writes nothing at all (a full disk or a read-only
  // workspace can still be listed): a missing database reads as an empty history, and a run whose
  // process is gone reads as interrupted without being rewritten.
  enum class Access { ReadWrite, ReadOnly };
  explicit RunStore(const std::filesystem::path &workspace, Access access = Access::ReadWrite);
  ~RunStore();
  RunStore(const RunStore &) = delete;
  RunStore &operator=(const RunStore &) = delete;

  const std::filesystem::path &databasePath() const { return m_path; }
  int schemaVersion() const;
  // PRAGMA integrity_check: "ok" when the database is sound.
  std::string integrityCheck() const;

  // A new run (status "running", this process's pid) with its resolved config; `uid` is the id in
  // its folder's run.json (core/util/runfolder.h).
  std::int64_t createRun(const std::string &name, const std::filesystem::path &folder,
                         const std::string &configYaml, std::int64_t parent = 0,
                         const std::vector<std::string> &tags = {}, const std::string &uid = {});
  std::optional<std::int64_t> findByFolder(const std::filesystem::path &folder) const;
  std::optional<std::int64_t> findByUid(const std::string &uid) const;
  // The run with this id set running again (a resume), or a new row. Rows are found by id, never
  // by folder; only a resume of a run recorded before ids existed takes its folder's row.
  std::int64_t openRun(const std::string &uid, bool resuming, const std::string &name,
                       const std::filesystem::path &folder, const std::string &configYaml,
                       std::int64_t parent = 0);
  // A resumed run restarts at `step`: its metric points and events after that step are deleted.
  void truncateRun(std::int64_t run, long step);
  void setStatus(std::int64_t run, RunStatus status, const std::string &reason, double duration);
  void setNotes(std::int64_t run, const std::string &notes);
  void setTags(std::int64_t run, const std::vector<std::string> &tags);
  void setArchived(std::int64_t run, bool archived);

  // Batched writes: points and events queue in memory; flush() commits them in one transaction.
  void addMetric(std::int64_t run, const std::string &split, const std::string &name, long step, int epoch,
                 double wall, double value);
  void addEvent(std::int64_t run, long step, const std::string &kind, const std::string &payloadJson);
  void setSummary(std::int64_t run, const std::string &kind, const std::string &name, double value);
  void flush();
  std::size_t pending() const { return m_pending.size(); }

  // Files of a run folder with size and SHA-256.
  void recordArtifacts(std::int64_t run);

  RunRecord run(std::int64_t id) const;
  std::vector<RunRecord> list(const RunQuery &query = {}) const;
  std::map<std::string, std::string> config(std::int64_t run) const; // flattened
  std::string configYaml(std::int64_t run) const;
  // One config key's value for every run that has it (one query: the History table's columns).
  std::map<std::int64_t, std::string> configValues(const std::string &key) const;
  std::vector<MetricPoint> series(std::int64_t run, const std::string &split, const std::string &name) const;
  std::vector<std::pair<std::string, std::string>> seriesNames(std::int64_t run) const; // (split, name)
  struct Event
  {
    long step = 0;
    std::string kind;
    std::string payload;
  };
  std::vector<Event> events(std::int64_t run) const;
  struct Artifact
  {
    std::string path;
    std::int64_t size = 0;
    std::string sha256;
  };
  std::vector<Artifact> artifacts(std::int64_t run) const;
  RunComparison compare(const std::vector<std::int64_t> &runs) const;
  // The run with the best summary value ("test.accuracy"; higherIsBetter picks max or min).
  std::optional<std::int64_t> best(const std::string &summaryMetric, bool higherIsBetter = true) const;

  // Runs left "running" by a process that is gone become "interrupted" (resumable). Returns how many.
  int markInterrupted();

  // Deletes the run's rows and, when deleteFiles, its folder.
  void remove(std::int64_t run, bool deleteFiles);
  // Disk use of a run folder in bytes.
  static std::int64_t diskUse(const std::filesystem::path &folder);
  // Keeps the checkpoints (best/, state/) of the `keep` most recent finished runs; removes the
  // resumable state/ of older ones (their best/ model stays). Returns the bytes freed.
  std::int64_t pruneCheckpoints(int keep);

  // Reads a run folder written by the trainer (config.yaml, events.jsonl, results.json) into the
  // history; returns its id (an existing row for that folder is replaced).
  std::int64_t importFolder(const std::filesystem::path &folder, std::int64_t parent = 0);

  // Exports: runs as CSV (one row per run: id, name, status, config keys, summaries) or JSON.
  std::string exportCsv(const std::vector<std::int64_t> &runs) const;
  std::string exportJson(const std::vector<std::int64_t> &runs) const;

private:
  void exec(const std::string &sql) const;
  void migrate();

  std::filesystem::path m_path;
  sqlite3 *m_db = nullptr;
  // Writes queued until flush(): one transaction for many points.
  struct PendingMetric
  {
    std::int64_t run;
    std::string split, name;
    long step;
    int epoch;
    double wall, value;
  };
  struct PendingEvent
  {
    std::int64_t run;
    long step;
    std::string kind, payload;
  };
  struct PendingSummary
  {
    std::int64_t run;
    std::string kind, name;
    double value;
  };
  using Pending = std::variant<PendingMetric, PendingEvent, PendingSummary>;
  std::vector<Pending> m_pending;
};

// Flattens YAML text into dotted keys ("training.learning_rate" -> "0.0001"); lists as flow text.
std::map<std::string, std::string> flattenYaml(const std::string &yaml);

// Run bundles: one file holding a run folder's config, metrics and best checkpoint, to move runs
// between workspaces. Import checks every path in the bundle (no absolute paths, no "..") and
// every checksum before writing anything, and never writes outside the target folder.
void writeRunBundle(const std::filesystem::path &runFolder, const std::filesystem::path &bundle);
std::filesystem::path readRunBundle(const std::filesystem::path &bundle, const std::filesystem::path &targetParent);

} // namespace tunebench
