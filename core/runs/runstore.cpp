#include "core/runs/runstore.h"

#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/sha256.h"

#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <yaml-cpp/yaml.h>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A prepared statement; bind with 1-based indices.
class Stmt
{
public:
  Stmt(sqlite3 *db, const std::string &sql, const fs::path &path) : m_db(db), m_path(path)
  {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &m_stmt, nullptr) != SQLITE_OK)
      throw Error(path.string() + ": " + sqlite3_errmsg(db) + " (in: " + sql.substr(0, 80) + ")");
  }
  ~Stmt() { sqlite3_finalize(m_stmt); }
  Stmt &bind(int i, std::int64_t v)
  {
    sqlite3_bind_int64(m_stmt, i, v);
    return *this;
  }
  Stmt &bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt &bind(int i, unsigned long v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt &bind(int i, double v)
  {
    sqlite3_bind_double(m_stmt, i, v);
    return *this;
  }
  Stmt &bind(int i, const std::string &v)
  {
    sqlite3_bind_text(m_stmt, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt &bindNull(int i)
  {
    sqlite3_bind_null(m_stmt, i);
    return *this;
  }
  // true while there is a row
  bool step()
  {
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW)
      return true;
    if (rc != SQLITE_DONE)
      throw Error(m_path.string() + ": " + sqlite3_errmsg(m_db));
    return false;
  }
  void run()
  {
    step();
    reset();
  }
  void reset()
  {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(m_stmt, col); }
  double real(int col) const { return sqlite3_column_double(m_stmt, col); }
  bool null(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }
  std::string text(int col) const
  {
    const auto *p = sqlite3_column_text(m_stmt, col);
    return p ? std::string(reinterpret_cast<const char *>(p), static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)))
             : std::string();
  }

private:
  sqlite3 *m_db;
  fs::path m_path;
  sqlite3_stmt *m_stmt = nullptr;
};

std::string nowIso()
{
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
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

bool isNumber(const std::string &s, double *value = nullptr)
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
  };
  return m;
}

void flattenNode(const YAML::Node &node, const std::string &prefix, std::map<std::string, std::string> &out)
{
  if (node.IsMap()) {
    for (const auto &kv : node)
      flattenNode(kv.second, prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar(), out);
  } else if (node.IsSequence()) {
    YAML::Emitter e;
    e << YAML::Flow << node;
    out[prefix] = e.c_str();
  } else if (node.IsScalar()) {
    out[prefix] = node.Scalar();
  } else {
    out[prefix] = "";
  }
}

} // namespace

std::map<std::string, std::string> flattenYaml(const std::string &yaml)
{
  std::map<std::string, std::string> out;
  try {
    flattenNode(YAML::Load(yaml), "", out);
  } catch (const YAML::Exception &e) {
    throw Error(std::string("config YAML: ") + e.what());
  }
  return out;
}

RunFilter RunFilter::parse(const std::string &text)
{
  for (const char *op : {"<=", ">=", "!=", "=", "<", ">", "~"}) {
    const auto at = text.find(op);
    if (at != std::string::npos && at > 0) {
      RunFilter f;
      f.key = text.substr(0, at);
      f.op = op;
      f.value = text.substr(at + std::string(op).size());
      return f;
    }
  }
  throw Error("filter \"" + text + "\": expected KEY=VALUE, KEY!=VALUE, KEY<VALUE, KEY>=VALUE or KEY~TEXT");
}

RunStore::RunStore(const fs::path &workspace) : m_path(workspace / "runs.sqlite")
{
  std::error_code ec;
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
  char *message = nullptr;
  if (sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : "error";
    sqlite3_free(message);
    throw Error(m_path.string() + ": " + text);
  }
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
    exec("BEGIN IMMEDIATE");
    try {
      exec(migrations()[static_cast<std::size_t>(v)]);
      exec("PRAGMA user_version=" + std::to_string(v + 1));
      exec("COMMIT");
    } catch (...) {
      exec("ROLLBACK");
      throw;
    }
  }
}

std::int64_t RunStore::createRun(const std::string &name, const fs::path &folder, const std::string &configYaml,
                                 std::int64_t parent, const std::vector<std::string> &tags)
{
  flush();
  exec("BEGIN IMMEDIATE");
  try {
    Stmt s(m_db,
           "INSERT INTO runs(name, created, status, folder, pid, config_yaml, parent, tags) VALUES(?,?,?,?,?,?,?,?)",
           m_path);
    s.bind(1, name).bind(2, nowIso()).bind(3, std::string("running")).bind(4, fs::absolute(folder).string());
    s.bind(5, static_cast<std::int64_t>(getpid())).bind(6, configYaml);
    if (parent > 0)
      s.bind(7, parent);
    else
      s.bindNull(7);
    s.bind(8, joinTags(tags));
    s.run();
    const std::int64_t id = sqlite3_last_insert_rowid(m_db);
    Stmt c(m_db, "INSERT OR REPLACE INTO config(run, key, value) VALUES(?,?,?)", m_path);
    for (const auto &[k, v] : flattenYaml(configYaml))
      c.bind(1, id).bind(2, k).bind(3, v).run();
    exec("COMMIT");
    return id;
  } catch (...) {
    exec("ROLLBACK");
    throw;
  }
}

std::optional<std::int64_t> RunStore::findByFolder(const fs::path &folder) const
{
  Stmt s(m_db, "SELECT id FROM runs WHERE folder=? ORDER BY id DESC LIMIT 1", m_path);
  s.bind(1, fs::absolute(folder).string());
  if (s.step())
    return s.integer(0);
  return std::nullopt;
}

std::int64_t RunStore::openRun(const std::string &name, const fs::path &folder, const std::string &configYaml,
                               std::int64_t parent)
{
  if (const auto existing = findByFolder(folder)) {
    setStatus(*existing, "running", "", 0);
    return *existing;
  }
  return createRun(name, folder, configYaml, parent);
}

void RunStore::setStatus(std::int64_t run, const std::string &status, const std::string &reason, double duration)
{
  flush();
  Stmt s(m_db, "UPDATE runs SET status=?, reason=?, duration=?, pid=? WHERE id=?", m_path);
  s.bind(1, status).bind(2, reason).bind(3, duration).bind(4, static_cast<std::int64_t>(status == "running" ? getpid() : 0));
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
  m_pending.push_back({0, run, split, name, step, epoch, wall, value});
}

void RunStore::addEvent(std::int64_t run, long step, const std::string &kind, const std::string &payloadJson)
{
  m_pending.push_back({1, run, kind, payloadJson, step, 0, 0, 0});
}

void RunStore::setSummary(std::int64_t run, const std::string &kind, const std::string &name, double value)
{
  m_pending.push_back({2, run, kind, name, 0, 0, 0, value});
}

void RunStore::flush()
{
  if (m_pending.empty())
    return;
  exec("BEGIN IMMEDIATE");
  try {
    Stmt metric(m_db, "INSERT INTO metrics(run, split, name, step, epoch, wall, value) VALUES(?,?,?,?,?,?,?)", m_path);
    Stmt event(m_db, "INSERT INTO events(run, step, kind, payload, created) VALUES(?,?,?,?,?)", m_path);
    Stmt summary(m_db, "INSERT OR REPLACE INTO summaries(run, kind, name, value) VALUES(?,?,?,?)", m_path);
    const std::string now = nowIso();
    for (const Pending &p : m_pending) {
      if (p.kind == 0) {
        metric.bind(1, p.run).bind(2, p.a).bind(3, p.b).bind(4, p.step).bind(5, p.epoch).bind(6, p.wall);
        std::isfinite(p.value) ? metric.bind(7, p.value) : metric.bindNull(7);
        metric.run();
      } else if (p.kind == 1) {
        event.bind(1, p.run).bind(2, p.step).bind(3, p.a).bind(4, p.b).bind(5, now).run();
      } else {
        summary.bind(1, p.run).bind(2, p.a).bind(3, p.b);
        std::isfinite(p.value) ? summary.bind(4, p.value) : summary.bindNull(4);
        summary.run();
      }
    }
    exec("COMMIT");
  } catch (...) {
    exec("ROLLBACK");
    throw;
  }
  m_pending.clear();
}

void RunStore::recordArtifacts(std::int64_t run)
{
  const RunRecord r = this->run(run);
  std::vector<Artifact> found;
  std::error_code ec;
  if (fs::is_directory(r.folder, ec))
    for (const auto &entry : fs::recursive_directory_iterator(r.folder, ec))
      if (entry.is_regular_file(ec))
        found.push_back({fs::relative(entry.path(), r.folder).string(), static_cast<std::int64_t>(entry.file_size(ec)),
                         sha256File(entry.path())});
  flush();
  exec("BEGIN IMMEDIATE");
  try {
    Stmt(m_db, "DELETE FROM artifacts WHERE run=?", m_path).bind(1, run).run();
    Stmt s(m_db, "INSERT INTO artifacts(run, path, size, sha256) VALUES(?,?,?,?)", m_path);
    for (const Artifact &a : found)
      s.bind(1, run).bind(2, a.path).bind(3, a.size).bind(4, a.sha256).run();
    exec("COMMIT");
  } catch (...) {
    exec("ROLLBACK");
    throw;
  }
}

namespace {

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
  return r;
}

const char *kRunColumns = "r.id, r.name, r.created, r.status, r.reason, r.duration, r.tags, r.notes, r.parent, r.folder, r.archived";

} // namespace

RunRecord RunStore::run(std::int64_t id) const
{
  Stmt s(m_db, std::string("SELECT ") + kRunColumns + " FROM runs r WHERE r.id=?", m_path);
  s.bind(1, id);
  if (!s.step())
    throw Error(m_path.string() + ": no run " + std::to_string(id));
  RunRecord r = readRecord(s);
  Stmt m(m_db, "SELECT kind, name, value FROM summaries WHERE run=?", m_path);
  m.bind(1, id);
  while (m.step())
    r.summary[m.text(0) + "." + m.text(1)] = m.null(2) ? std::nan("") : m.real(2);
  return r;
}

std::vector<RunRecord> RunStore::list(const RunQuery &q) const
{
  std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs r WHERE (r.archived=0 OR ?)";
  struct Bound
  {
    bool isReal;
    std::string text;
    double real;
  };
  std::vector<Bound> binds;
  for (const RunFilter &f : q.filters) {
    static const std::set<std::string> ops = {"=", "!=", "<", "<=", ">", ">=", "~"};
    if (!ops.count(f.op))
      throw Error("filter " + f.key + ": unknown operator " + f.op);
    double number = 0;
    const bool numeric = f.op != "~" && isNumber(f.value, &number);
    const std::string op = f.op == "~" ? "LIKE" : f.op;
    if (f.key == "status" || f.key == "name" || f.key == "tags") {
      sql += " AND r." + f.key + (f.op == "~" ? " LIKE ?" : " " + op + " ?");
      binds.push_back({false, f.op == "~" ? "%" + f.value + "%" : f.value, 0});
    } else if (isSummaryKey(f.key)) {
      const auto dot = f.key.find('.');
      sql += " AND EXISTS(SELECT 1 FROM summaries s WHERE s.run=r.id AND s.kind=? AND s.name=? AND s.value " + op + " ?)";
      binds.push_back({false, f.key.substr(0, dot), 0});
      binds.push_back({false, f.key.substr(dot + 1), 0});
      if (!numeric)
        throw Error("filter " + f.key + ": a summary metric compares with a number");
      binds.push_back({true, {}, number});
    } else {
      sql += std::string(" AND EXISTS(SELECT 1 FROM config c WHERE c.run=r.id AND c.key=? AND ") +
             (numeric ? "CAST(c.value AS REAL) " : "c.value ") + op + " ?)";
      binds.push_back({false, f.key, 0});
      if (numeric)
        binds.push_back({true, {}, number});
      else
        binds.push_back({false, f.op == "~" ? "%" + f.value + "%" : f.value, 0});
    }
  }
  const std::string direction = q.descending ? " DESC" : " ASC";
  if (q.sortBy == "created" || q.sortBy == "name" || q.sortBy == "duration" || q.sortBy == "status" || q.sortBy == "id") {
    sql += " ORDER BY r." + q.sortBy + direction + ", r.id" + direction;
  } else if (isSummaryKey(q.sortBy)) {
    const auto dot = q.sortBy.find('.');
    sql += " ORDER BY (SELECT value FROM summaries s WHERE s.run=r.id AND s.kind=? AND s.name=?)" + direction +
           " NULLS LAST, r.id DESC";
    binds.push_back({false, q.sortBy.substr(0, dot), 0});
    binds.push_back({false, q.sortBy.substr(dot + 1), 0});
  } else {
    sql += " ORDER BY (SELECT CAST(value AS REAL) FROM config c WHERE c.run=r.id AND c.key=?)" + direction +
           " NULLS LAST, r.id DESC";
    binds.push_back({false, q.sortBy, 0});
  }
  if (q.limit > 0)
    sql += " LIMIT " + std::to_string(q.limit);
  Stmt s(m_db, sql, m_path);
  s.bind(1, q.includeArchived ? 1 : 0);
  for (std::size_t i = 0; i < binds.size(); ++i)
    binds[i].isReal ? s.bind(static_cast<int>(i) + 2, binds[i].real) : s.bind(static_cast<int>(i) + 2, binds[i].text);
  std::vector<RunRecord> out;
  while (s.step())
    out.push_back(readRecord(s));
  Stmt m(m_db, "SELECT kind, name, value FROM summaries WHERE run=?", m_path);
  for (RunRecord &r : out) {
    m.bind(1, r.id);
    while (m.step())
      r.summary[m.text(0) + "." + m.text(1)] = m.null(2) ? std::nan("") : m.real(2);
    m.reset();
  }
  return out;
}

std::map<std::string, std::string> RunStore::config(std::int64_t run) const
{
  std::map<std::string, std::string> out;
  Stmt s(m_db, "SELECT key, value FROM config WHERE run=?", m_path);
  s.bind(1, run);
  while (s.step())
    out[s.text(0)] = s.text(1);
  return out;
}

std::map<std::int64_t, std::string> RunStore::configValues(const std::string &key) const
{
  std::map<std::int64_t, std::string> out;
  Stmt s(m_db, "SELECT run, value FROM config WHERE key=?", m_path);
  s.bind(1, key);
  while (s.step())
    out[s.integer(0)] = s.text(1);
  return out;
}

std::string RunStore::configYaml(std::int64_t run) const
{
  Stmt s(m_db, "SELECT config_yaml FROM runs WHERE id=?", m_path);
  s.bind(1, run);
  return s.step() ? s.text(0) : std::string();
}

std::vector<MetricPoint> RunStore::series(std::int64_t run, const std::string &split, const std::string &name) const
{
  std::vector<MetricPoint> out;
  Stmt s(m_db, "SELECT step, epoch, wall, value FROM metrics WHERE run=? AND split=? AND name=? ORDER BY step", m_path);
  s.bind(1, run).bind(2, split).bind(3, name);
  while (s.step())
    out.push_back({static_cast<long>(s.integer(0)), static_cast<int>(s.integer(1)), s.real(2),
                   s.null(3) ? std::nan("") : s.real(3)});
  return out;
}

std::vector<std::pair<std::string, std::string>> RunStore::seriesNames(std::int64_t run) const
{
  std::vector<std::pair<std::string, std::string>> out;
  Stmt s(m_db, "SELECT DISTINCT split, name FROM metrics WHERE run=? ORDER BY split, name", m_path);
  s.bind(1, run);
  while (s.step())
    out.emplace_back(s.text(0), s.text(1));
  return out;
}

std::vector<RunStore::Event> RunStore::events(std::int64_t run) const
{
  std::vector<Event> out;
  Stmt s(m_db, "SELECT step, kind, payload FROM events WHERE run=? ORDER BY rowid", m_path);
  s.bind(1, run);
  while (s.step())
    out.push_back({static_cast<long>(s.integer(0)), s.text(1), s.text(2)});
  return out;
}

std::vector<RunStore::Artifact> RunStore::artifacts(std::int64_t run) const
{
  std::vector<Artifact> out;
  Stmt s(m_db, "SELECT path, size, sha256 FROM artifacts WHERE run=? ORDER BY path", m_path);
  s.bind(1, run);
  while (s.step())
    out.push_back({s.text(0), s.integer(1), s.text(2)});
  return out;
}

RunComparison RunStore::compare(const std::vector<std::int64_t> &ids) const
{
  RunComparison c;
  std::vector<std::map<std::string, std::string>> configs;
  std::set<std::string> keys, metrics;
  for (std::int64_t id : ids) {
    c.runs.push_back(run(id));
    configs.push_back(config(id));
    for (const auto &[k, v] : configs.back())
      keys.insert(k);
    for (const auto &[k, v] : c.runs.back().summary)
      metrics.insert(k);
  }
  for (const std::string &k : keys) {
    std::vector<std::string> values;
    for (const auto &cfg : configs) {
      const auto it = cfg.find(k);
      values.push_back(it == cfg.end() ? std::string() : it->second);
    }
    if (std::any_of(values.begin(), values.end(), [&](const std::string &v) { return v != values.front(); }))
      c.configDiff.emplace_back(k, values);
  }
  for (const std::string &m : metrics) {
    std::vector<double> values;
    for (const RunRecord &r : c.runs) {
      const auto it = r.summary.find(m);
      values.push_back(it == r.summary.end() ? std::nan("") : it->second);
    }
    c.summary.emplace_back(m, values);
  }
  std::set<std::pair<std::string, std::string>> names;
  for (std::int64_t id : ids)
    for (const auto &n : seriesNames(id))
      names.insert(n);
  for (const auto &[split, name] : names) {
    auto &perRun = c.series[split + "/" + name];
    for (std::int64_t id : ids)
      perRun.push_back(series(id, split, name));
  }
  return c;
}

std::optional<std::int64_t> RunStore::best(const std::string &metric, bool higherIsBetter) const
{
  if (!isSummaryKey(metric))
    throw Error("best: \"" + metric + "\" is not a summary metric (best.*, test.*, validation.*, last.*)");
  const auto dot = metric.find('.');
  Stmt s(m_db, std::string("SELECT run FROM summaries WHERE kind=? AND name=? AND value IS NOT NULL ORDER BY value ") +
                   (higherIsBetter ? "DESC" : "ASC") + " LIMIT 1",
         m_path);
  s.bind(1, metric.substr(0, dot)).bind(2, metric.substr(dot + 1));
  if (s.step())
    return s.integer(0);
  return std::nullopt;
}

int RunStore::markInterrupted()
{
  std::vector<std::int64_t> gone;
  {
    Stmt s(m_db, "SELECT id, pid FROM runs WHERE status='running'", m_path);
    while (s.step()) {
      const auto pid = static_cast<pid_t>(s.integer(1));
      const bool alive = pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
      if (!alive)
        gone.push_back(s.integer(0));
    }
  }
  for (std::int64_t id : gone)
    Stmt(m_db, "UPDATE runs SET status='interrupted', reason='the process training it ended; resume continues "
               "from the last saved state', pid=0 WHERE id=?",
         m_path)
        .bind(1, id)
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
