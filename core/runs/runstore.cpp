#include "core/runs/runstoredetail.h"
#include "core/util/error.h"
#include "core/util/runfolder.h"
#include "core/util/text.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <ctime>
#include <sstream>

namespace tunebench {
namespace fs = std::filesystem;
using detail::joinTags;
using detail::nowIso;
using detail::Stmt;
using sqlite::Transaction;

namespace detail {

std::string nowIso()
{
  return text::now();
}

std::string joinTags(const std::vector<std::string> &tags)
{
  std::string out;
  for (const std::string &t : tags)
    out += (out.empty() ? "" : ",") + t;
  return out;
}

std::vector<std::string> splitTags(const std::string &text)
{
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string t; std::getline(in, t, ',');)
    if (!t.empty())
      out.push_back(t);
  return out;
}

bool isNumber(const std::string &s, double *value)
{
  if (s.empty())
    return false;
  char *end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size())
    return false;
  if (value)
    *value = v;
  return true;
}

bool isSummaryKey(const std::string &key)
{
  for (const char *kind : {"best.", "last.", "test.", "validation."})
    if (key.rfind(kind, 0) == 0)
      return true;
  return false;
}

RunRecord readRecord(Stmt &s)
{
  RunRecord r;
  r.id = s.integer(0);
  r.name = s.text(1);
  r.created = s.text(2);
  r.status = s.text(3);
  r.reason = s.text(4);
  r.duration = s.real(5);
  r.tags = splitTags(s.text(6));
  r.notes = s.text(7);
  r.parent = s.null(8) ? 0 : s.integer(8);
  r.folder = s.text(9);
  r.archived = s.integer(10) != 0;
  if (r.status == runStatusName(RunStatus::Running) && !processAlive(s.integer(11))) {
    // Read as interrupted even where the store is not written (a read-only open).
    r.status = runStatusName(RunStatus::Interrupted);
    r.reason = kInterruptedReason;
  }
  return r;
}

const char *const kRunColumns = "r.id, r.name, r.created, r.status, r.reason, r.duration, r.tags, r.notes, "
                                "r.parent, r.folder, r.archived, r.pid";
const char *const kInterruptedReason =
    "the process training it ended; resume continues from the last saved state";

bool processAlive(std::int64_t pid)
{
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

} // namespace detail

namespace {

const std::vector<std::string> &migrations()
{
  static const std::vector<std::string> m = {
      // 1: the first schema.
      R"(CREATE TABLE runs(
         id INTEGER PRIMARY KEY, name TEXT NOT NULL, created TEXT NOT NULL, status TEXT NOT NULL,
         reason TEXT NOT NULL DEFAULT '', duration REAL NOT NULL DEFAULT 0, tags TEXT NOT NULL DEFAULT '',
         notes TEXT NOT NULL DEFAULT '', parent INTEGER REFERENCES runs(id) ON DELETE SET NULL,
         folder TEXT NOT NULL, pid INTEGER NOT NULL DEFAULT 0, archived INTEGER NOT NULL DEFAULT 0,
         config_yaml TEXT NOT NULL DEFAULT '');
       CREATE INDEX runs_created ON runs(created);
       CREATE INDEX runs_folder ON runs(folder);
       CREATE TABLE config(run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, key TEXT NOT NULL,
         value TEXT NOT NULL, PRIMARY KEY(run, key)) WITHOUT ROWID;
       CREATE INDEX config_key ON config(key, value);
       CREATE TABLE metrics(run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, split TEXT NOT NULL,
         name TEXT NOT NULL, step INTEGER NOT NULL, epoch INTEGER NOT NULL, wall REAL NOT NULL, value REAL);
       CREATE INDEX metrics_series ON metrics(run, split, name, step);
       CREATE TABLE summaries(run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, kind TEXT NOT NULL,
         name TEXT NOT NULL, value REAL, PRIMARY KEY(run, kind, name)) WITHOUT ROWID;
       CREATE INDEX summaries_value ON summaries(kind, name, value);
       CREATE TABLE events(run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step INTEGER NOT NULL,
         kind TEXT NOT NULL, payload TEXT NOT NULL, created TEXT NOT NULL);
       CREATE INDEX events_run ON events(run, step);
       CREATE TABLE artifacts(run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, path TEXT NOT NULL,
         size INTEGER NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY(run, path)) WITHOUT ROWID;)",
      // 2: runs are found by the id in their folder's run.json, never by the folder's path.
      R"(ALTER TABLE runs ADD COLUMN uid TEXT;
       CREATE UNIQUE INDEX runs_uid ON runs(uid) WHERE uid IS NOT NULL;)",
  };
  return m;
}

} // namespace

RunStore::RunStore(const fs::path &workspace, Access access)
  : m_path(workspace / "runs.sqlite")
{
  std::error_code ec;
  if (access == Access::ReadOnly) {
    const bool exists = fs::is_regular_file(m_path, ec);
    // A workspace without a history reads as an empty one: the schema in memory.
    const int flags =
        exists ? SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX
               : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(exists ? m_path.string().c_str() : ":memory:", &m_db, flags, nullptr) != SQLITE_OK) {
      const std::string message = m_db ? sqlite3_errmsg(m_db) : "out of memory";
      sqlite3_close(m_db);
      m_db = nullptr;
      throw Error(m_path.string() + ": cannot open the run history: " + message);
    }
    sqlite3_busy_timeout(m_db, 10000);
    if (!exists)
      migrate();
    else if (schemaVersion() > kSchemaVersion)
      throw Error(m_path.string() + ": written by a newer tunebench (schema " +
                  std::to_string(schemaVersion()) + ", this one knows " + std::to_string(kSchemaVersion) +
                  ")");
    return;
  }
  fs::create_directories(workspace, ec);
  if (ec)
    throw Error(workspace.string() + ": cannot create the workspace: " + ec.message());
  if (sqlite3_open_v2(m_path.string().c_str(), &m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string message = m_db ? sqlite3_errmsg(m_db) : "out of memory";
    sqlite3_close(m_db);
    throw Error(m_path.string() + ": cannot open the run history: " + message);
  }
  sqlite3_busy_timeout(m_db, 10000);
  exec("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;");
  migrate();
  markInterrupted();
}

RunStore::~RunStore()
{
  try {
    flush();
  } catch (...) {
  }
  sqlite3_close(m_db);
}

void RunStore::exec(const std::string &sql) const
{
  sqlite::exec(m_db, sql, m_path);
}

int RunStore::schemaVersion() const
{
  Stmt s(m_db, "PRAGMA user_version", m_path);
  s.step();
  return static_cast<int>(s.integer(0));
}

std::string RunStore::integrityCheck() const
{
  Stmt s(m_db, "PRAGMA integrity_check", m_path);
  std::string out;
  while (s.step())
    out += (out.empty() ? "" : "\n") + s.text(0);
  return out;
}

void RunStore::migrate()
{
  const int version = schemaVersion();
  if (version > kSchemaVersion)
    throw Error(m_path.string() + ": written by a newer tunebench (schema " + std::to_string(version) +
                ", this one knows " + std::to_string(kSchemaVersion) + ")");
  for (int v = version; v < kSchemaVersion; ++v) {
    Transaction t(m_db, m_path);
    exec(migrations()[static_cast<std::size_t>(v)]);
    exec("PRAGMA user_version=" + std::to_string(v + 1));
    t.commit();
  }
}

std::int64_t RunStore::createRun(const std::string &name, const fs::path &folder,
                                 const std::string &configYaml, std::int64_t parent,
                                 const std::vector<std::string> &tags, const std::string &uid)
{
  flush();
  Transaction t(m_db, m_path);
  Stmt s(m_db,
         "INSERT INTO runs(name, created, status, folder, pid, config_yaml, parent, tags, uid) "
         "VALUES(?,?,?,?,?,?,?,?,?)",
         m_path);
  s.bind(1, name)
      .bind(2, nowIso())
      .bind(3, std::string(runStatusName(RunStatus::Running)))
      .bind(4, fs::absolute(folder).string());
  s.bind(5, static_cast<std::int64_t>(getpid())).bind(6, configYaml);
  if (parent > 0)
    s.bind(7, parent);
  else
    s.bindNull(7);
  s.bind(8, joinTags(tags));
  if (uid.empty())
    s.bindNull(9);
  else
    s.bind(9, uid);
  s.run();
  const std::int64_t id = sqlite3_last_insert_rowid(m_db);
  Stmt c(m_db, "INSERT OR REPLACE INTO config(run, key, value) VALUES(?,?,?)", m_path);
  for (const auto &[k, v] : flattenYaml(configYaml))
    c.bind(1, id).bind(2, k).bind(3, v).run();
  t.commit();
  return id;
}

std::optional<std::int64_t> RunStore::findByFolder(const fs::path &folder) const
{
  Stmt s(m_db, "SELECT id FROM runs WHERE folder=? ORDER BY id DESC LIMIT 1", m_path);
  s.bind(1, fs::absolute(folder).string());
  if (s.step())
    return s.integer(0);
  return std::nullopt;
}

std::optional<std::int64_t> RunStore::findByUid(const std::string &uid) const
{
  Stmt s(m_db, "SELECT id FROM runs WHERE uid=?", m_path);
  s.bind(1, uid);
  if (s.step())
    return s.integer(0);
  return std::nullopt;
}

std::int64_t RunStore::openRun(const std::string &uid, bool resuming, const std::string &name,
                               const fs::path &folder, const std::string &configYaml, std::int64_t parent)
{
  std::optional<std::int64_t> existing = findByUid(uid);
  if (!existing && resuming) {
    // A run recorded before run ids existed: its folder's row without an id takes this one.
    Stmt s(m_db, "SELECT id FROM runs WHERE folder=? AND uid IS NULL ORDER BY id DESC LIMIT 1", m_path);
    s.bind(1, fs::absolute(folder).string());
    if (s.step()) {
      existing = s.integer(0);
      Stmt(m_db, "UPDATE runs SET uid=? WHERE id=?", m_path).bind(1, uid).bind(2, *existing).run();
    }
  }
  if (existing) {
    setStatus(*existing, RunStatus::Running, "", 0);
    return *existing;
  }
  return createRun(name, folder, configYaml, parent, {}, uid);
}

void RunStore::truncateRun(std::int64_t run, long step)
{
  flush();
  Transaction t(m_db, m_path);
  Stmt(m_db, "DELETE FROM metrics WHERE run=? AND step>?", m_path)
      .bind(1, run)
      .bind(2, static_cast<std::int64_t>(step))
      .run();
  Stmt(m_db, "DELETE FROM events WHERE run=? AND step>?", m_path)
      .bind(1, run)
      .bind(2, static_cast<std::int64_t>(step))
      .run();
  t.commit();
}

void RunStore::setStatus(std::int64_t run, RunStatus status, const std::string &reason, double duration)
{
  flush();
  Stmt s(m_db, "UPDATE runs SET status=?, reason=?, duration=?, pid=? WHERE id=?", m_path);
  s.bind(1, std::string(runStatusName(status))).bind(2, reason).bind(3, duration);
  s.bind(4, static_cast<std::int64_t>(status == RunStatus::Running ? getpid() : 0));
  s.bind(5, run).run();
}

void RunStore::setNotes(std::int64_t run, const std::string &notes)
{
  Stmt(m_db, "UPDATE runs SET notes=? WHERE id=?", m_path).bind(1, notes).bind(2, run).run();
}

void RunStore::setTags(std::int64_t run, const std::vector<std::string> &tags)
{
  Stmt(m_db, "UPDATE runs SET tags=? WHERE id=?", m_path).bind(1, joinTags(tags)).bind(2, run).run();
}

void RunStore::setArchived(std::int64_t run, bool archived)
{
  Stmt(m_db, "UPDATE runs SET archived=? WHERE id=?", m_path).bind(1, archived ? 1 : 0).bind(2, run).run();
}

void RunStore::addMetric(std::int64_t run, const std::string &split, const std::string &name, long step, int epoch,
                         double wall, double value)
{
  m_pending.emplace_back(PendingMetric{run, split, name, step, epoch, wall, value});
}

void RunStore::addEvent(std::int64_t run, long step, const std::string &kind, const std::string &payloadJson)
{
  m_pending.emplace_back(PendingEvent{run, step, kind, payloadJson});
}

void RunStore::setSummary(std::int64_t run, const std::string &kind, const std::string &name, double value)
{
  m_pending.emplace_back(PendingSummary{run, kind, name, value});
}

void RunStore::flush()
{
  if (m_pending.empty())
    return;
  Transaction t(m_db, m_path);
  Stmt metric(m_db, "INSERT INTO metrics(run, split, name, step, epoch, wall, value) VALUES(?,?,?,?,?,?,?)",
              m_path);
  Stmt event(m_db, "INSERT INTO events(run, step, kind, payload, created) VALUES(?,?,?,?,?)", m_path);
  Stmt summary(m_db, "INSERT OR REPLACE INTO summaries(run, kind, name, value) VALUES(?,?,?,?)", m_path);
  const std::string now = nowIso();
  for (const Pending &pending : m_pending) {
    if (const auto *p = std::get_if<PendingMetric>(&pending)) {
      metric.bind(1, p->run)
          .bind(2, p->split)
          .bind(3, p->name)
          .bind(4, p->step)
          .bind(5, p->epoch)
          .bind(6, p->wall);
      std::isfinite(p->value) ? metric.bind(7, p->value) : metric.bindNull(7);
      metric.run();
    } else if (const auto *e = std::get_if<PendingEvent>(&pending)) {
      event.bind(1, e->run).bind(2, e->step).bind(3, e->kind).bind(4, e->payload).bind(5, now).run();
    } else if (const auto *m = std::get_if<PendingSummary>(&pending)) {
      summary.bind(1, m->run).bind(2, m->kind).bind(3, m->name);
      std::isfinite(m->value) ? summary.bind(4, m->value) : summary.bindNull(4);
      summary.run();
    }
  }
  faultPoint("store-flush"); // inside the transaction: the crash tests kill here
  t.commit();
  m_pending.clear();
}

int RunStore::markInterrupted()
{
  std::vector<std::int64_t> gone;
  {
    Stmt s(m_db, "SELECT id, pid FROM runs WHERE status='running'", m_path);
    while (s.step())
      if (!detail::processAlive(s.integer(1)))
        gone.push_back(s.integer(0));
  }
  for (std::int64_t id : gone)
    Stmt(m_db, "UPDATE runs SET status='interrupted', reason=?, pid=0 WHERE id=?", m_path)
        .bind(1, std::string(detail::kInterruptedReason))
        .bind(2, id)
        .run();
  return static_cast<int>(gone.size());
}

void RunStore::remove(std::int64_t id, bool deleteFiles)
{
  const RunRecord r = run(id);
  flush();
  Stmt(m_db, "DELETE FROM runs WHERE id=?", m_path).bind(1, id).run();
  if (deleteFiles && !r.folder.empty()) {
    std::error_code ec;
    fs::remove_all(r.folder, ec);
  }
}

} // namespace tunebench
