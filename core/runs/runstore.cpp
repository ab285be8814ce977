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

std::int64_t RunStore::diskUse(const fs::path &folder)
{
  std::int64_t total = 0;
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    return 0;
  for (const auto &entry : fs::recursive_directory_iterator(folder, ec))
    if (entry.is_regular_file(ec))
      total += static_cast<std::int64_t>(entry.file_size(ec));
  return total;
}

std::int64_t RunStore::pruneCheckpoints(int keep)
{
  std::int64_t freed = 0;
  RunQuery q;
  q.includeArchived = true;
  int kept = 0;
  for (const RunRecord &r : list(q)) {
    if (r.status == "running" || r.status == "stopped" || r.status == "interrupted")
      continue; // resumable: never prune
    const fs::path state = fs::path(r.folder) / "state";
    std::error_code ec;
    if (!fs::is_directory(state, ec))
      continue;
    if (kept++ < keep)
      continue;
    freed += diskUse(state);
    fs::remove_all(state, ec);
    const_cast<RunStore *>(this)->addEvent(r.id, 0, "pruned", json{{"path", "state"}}.dump());
  }
  flush();
  return freed;
}

std::int64_t RunStore::importFolder(const fs::path &folder, std::int64_t parent)
{
  const fs::path config = folder / "config.yaml";
  if (!fileExists(config))
    throw Error(folder.string() + ": not a run folder (no config.yaml)");
  std::ifstream in(config);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string yaml = buffer.str();
  const auto flat = flattenYaml(yaml);
  const std::string name = flat.count("name") ? flat.at("name") : folder.filename().string();
  if (const auto existing = findByFolder(folder))
    remove(*existing, false);
  const std::int64_t id = createRun(name, folder, yaml, parent);
  std::ifstream events(folder / "events.jsonl");
  for (std::string line; std::getline(events, line);) {
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception &) {
      break;
    }
    const std::string type = j.value("type", "");
    const long step = j.value("step", 0L);
    const int epoch = j.value("epoch", 0);
    const double wall = j.value("elapsed_s", 0.0);
    if (type == "step") {
      for (const char *k : {"loss", "lr", "grad_norm", "tokens_per_s"})
        if (j.contains(k) && j[k].is_number())
          addMetric(id, "train", k, step, epoch, wall, j[k].get<double>());
    } else if (type == "eval") {
      const json metrics = j.value("metrics", json::object()); // items() of a temporary would dangle
      for (const auto &[k, v] : metrics.items())
        if (v.is_number())
          addMetric(id, j.value("split", "validation"), k, step, epoch, wall, v.get<double>());
    } else if (type == "diagnosis") {
      addEvent(id, step, "diagnosis", j.value("diagnosis", json::object()).dump());
    }
  }
  std::string status = fileExists(folder / "state" / "trainer.json") ? "interrupted" : "failed";
  std::string reason;
  double seconds = 0;
  if (fileExists(folder / "results.json")) {
    std::ifstream r(folder / "results.json");
    const json results = json::parse(r, nullptr, false);
    if (results.is_object()) {
      status = results.value("status", status);
      reason = results.value("reason", "");
      seconds = results.value("seconds", 0.0);
      for (const char *split : {"test", "validation"}) {
        const json metrics = results.value(split, json::object()).value("metrics", json::object());
        for (const auto &[k, v] : metrics.items())
          if (v.is_number())
            setSummary(id, split, k, v.get<double>());
      }
      if (results.contains("best_metric") && results["best_metric"].is_number())
        setSummary(id, "best", results.value("metric", "metric"), results["best_metric"].get<double>());
    }
  }
  flush();
  setStatus(id, status, reason, seconds);
  recordArtifacts(id);
  return id;
}

std::string RunStore::exportCsv(const std::vector<std::int64_t> &ids) const
{
  std::vector<RunRecord> runs;
  std::vector<std::map<std::string, std::string>> configs;
  std::set<std::string> keys, metrics;
  for (std::int64_t id : ids) {
    runs.push_back(run(id));
    configs.push_back(config(id));
    for (const auto &[k, v] : configs.back())
      keys.insert(k);
    for (const auto &[k, v] : runs.back().summary)
      metrics.insert(k);
  }
  auto quote = [](const std::string &s) {
    if (s.find_first_of(",\"\n") == std::string::npos)
      return s;
    std::string out = "\"";
    for (char c : s)
      out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  };
  std::string out = "id,name,created,status,duration";
  for (const std::string &m : metrics)
    out += "," + quote(m);
  for (const std::string &k : keys)
    out += "," + quote("config." + k);
  out += "\n";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunRecord &r = runs[i];
    std::ostringstream line;
    line << r.id << "," << quote(r.name) << "," << r.created << "," << r.status << "," << r.duration;
    for (const std::string &m : metrics) {
      const auto it = r.summary.find(m);
      line << ",";
      if (it != r.summary.end() && std::isfinite(it->second))
        line << it->second;
    }
    for (const std::string &k : keys) {
      const auto it = configs[i].find(k);
      line << "," << (it == configs[i].end() ? std::string() : quote(it->second));
    }
    out += line.str() + "\n";
  }
  return out;
}

std::string RunStore::exportJson(const std::vector<std::int64_t> &ids) const
{
  json out = json::array();
  for (std::int64_t id : ids) {
    const RunRecord r = run(id);
    json summary = json::object();
    for (const auto &[k, v] : r.summary)
      summary[k] = std::isfinite(v) ? json(v) : json(nullptr);
    json series = json::object();
    for (const auto &[split, name] : seriesNames(id)) {
      json points = json::array();
      for (const MetricPoint &p : this->series(id, split, name))
        points.push_back({p.step, p.epoch, p.wall, std::isfinite(p.value) ? json(p.value) : json(nullptr)});
      series[split + "/" + name] = points;
    }
    out.push_back({{"id", r.id}, {"name", r.name}, {"created", r.created}, {"status", r.status}, {"reason", r.reason},
                   {"duration", r.duration}, {"tags", r.tags}, {"notes", r.notes}, {"parent", r.parent},
                   {"folder", r.folder}, {"config", config(id)}, {"summary", summary},
                   {"series", series}});
  }
  return out.dump(2) + "\n";
}

// ---------------------------------------------------------------------------------------------

RunRecorder::RunRecorder(RunStore &store, std::int64_t run, TrainingObserver *next)
  : m_store(store), m_run(run), m_next(next)
{
}

void RunRecorder::onLog(const std::string &message)
{
  m_store.addEvent(m_run, 0, "log", json{{"message", message}}.dump());
  if (m_next)
    m_next->onLog(message);
}

void RunRecorder::onStep(const StepEvent &e)
{
  m_wall = e.elapsedSeconds;
  m_store.addMetric(m_run, "train", "loss", e.step, e.epoch, e.elapsedSeconds, e.loss);
  m_store.addMetric(m_run, "train", "lr", e.step, e.epoch, e.elapsedSeconds, e.learningRate);
  m_store.addMetric(m_run, "train", "grad_norm", e.step, e.epoch, e.elapsedSeconds, e.gradNorm);
  m_store.addMetric(m_run, "train", "tokens_per_s", e.step, e.epoch, e.elapsedSeconds, e.tokensPerSecond);
  if (m_store.pending() >= 200)
    m_store.flush();
  if (m_next)
    m_next->onStep(e);
}

void RunRecorder::onEvaluation(const EvalEvent &e)
{
  for (const auto &[k, v] : e.metrics)
    m_store.addMetric(m_run, e.split, k, e.step, e.epoch, m_wall, v);
  m_store.flush();
  if (m_next)
    m_next->onEvaluation(e);
}

void RunRecorder::onCheckpoint(const std::string &kind, const fs::path &path)
{
  m_store.addEvent(m_run, 0, "checkpoint", json{{"kind", kind}, {"path", path.string()}}.dump());
  m_store.flush();
  if (m_next)
    m_next->onCheckpoint(kind, path);
}

void RunRecorder::onDiagnosis(const Diagnosis &d)
{
  m_store.addEvent(m_run, d.step, "diagnosis",
                   json{{"kind", diagnosisKindName(d.kind)}, {"title", d.title}, {"evidence", d.evidence},
                        {"remedies", d.remedies}, {"critical", d.critical}}
                       .dump());
  m_store.flush();
  if (m_next)
    m_next->onDiagnosis(d);
}

void RunRecorder::onFinished(const RunResult &r)
{
  for (const auto &[k, v] : r.test.metrics)
    m_store.setSummary(m_run, "test", k, v);
  for (const auto &[k, v] : r.validation.metrics)
    m_store.setSummary(m_run, "validation", k, v);
  if (r.bestStep >= 0)
    m_store.setSummary(m_run, "best", r.metric, r.bestMetric);
  m_store.setSummary(m_run, "last", "steps", static_cast<double>(r.steps));
  m_store.setSummary(m_run, "last", "peak_memory_mib", r.peakMemoryMiB);
  m_store.setSummary(m_run, "last", "trainable_parameters", static_cast<double>(r.trainableParameters));
  if (r.status == "failed")
    m_store.addEvent(m_run, r.steps, "error", json{{"reason", r.reason}}.dump());
  m_store.setStatus(m_run, r.status, r.reason, r.seconds);
  m_store.recordArtifacts(m_run);
  if (m_next)
    m_next->onFinished(r);
}

// ---------------------------------------------------------------------------------------------
// Bundles: "TUNEBENCH-BUNDLE 1\n", a JSON manifest line, then the files' bytes in manifest order.

namespace {

constexpr const char *kBundleMagic = "TUNEBENCH-BUNDLE 1";

bool safeRelativePath(const std::string &p)
{
  if (p.empty() || p.front() == '/' || p.find('\\') != std::string::npos || p.find('\0') != std::string::npos)
    return false;
  for (const auto &part : fs::path(p))
    if (part == ".." || part == "." || part.empty())
      return false;
  return true;
}

} // namespace

void writeRunBundle(const fs::path &runFolder, const fs::path &bundle)
{
  std::vector<std::string> files;
  for (const char *name : {"config.yaml", "labels.json", "split.json", "events.jsonl", "results.json", "best/model.pt"})
    if (fileExists(runFolder / name))
      files.emplace_back(name);
  if (files.empty() || !fileExists(runFolder / "config.yaml"))
    throw Error(runFolder.string() + ": not a run folder (no config.yaml)");
  json manifest = {{"name", fs::absolute(runFolder).lexically_normal().filename().string()}, {"files", json::array()}};
  for (const std::string &f : files)
    manifest["files"].push_back({{"path", f}, {"size", fs::file_size(runFolder / f)}, {"sha256", sha256File(runFolder / f)}});
  const fs::path tmp = bundle.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out)
      throw Error(bundle.string() + ": cannot be written");
    out << kBundleMagic << "\n" << manifest.dump() << "\n";
    for (const std::string &f : files) {
      std::ifstream in(runFolder / f, std::ios::binary);
      out << in.rdbuf();
    }
    if (!out)
      throw Error(bundle.string() + ": write failed");
  }
  fs::rename(tmp, bundle);
}

fs::path readRunBundle(const fs::path &bundle, const fs::path &targetParent)
{
  std::ifstream in(bundle, std::ios::binary);
  if (!in)
    throw Error(bundle.string() + ": cannot be read");
  std::string magic, header;
  std::getline(in, magic);
  if (magic != kBundleMagic)
    throw Error(bundle.string() + ": not a tunebench run bundle");
  std::getline(in, header);
  const json manifest = json::parse(header, nullptr, false);
  if (!manifest.is_object() || !manifest.contains("files") || !manifest["files"].is_array())
    throw Error(bundle.string() + ": damaged manifest");
  const std::string name = manifest.value("name", "");
  if (!safeRelativePath(name) || fs::path(name).has_parent_path())
    throw Error(bundle.string() + ": unsafe run name \"" + name + "\" in the manifest");
  // Read and check everything before writing anything.
  std::vector<std::pair<std::string, std::string>> contents;
  for (const json &f : manifest["files"]) {
    const std::string path = f.value("path", "");
    if (!safeRelativePath(path))
      throw Error(bundle.string() + ": unsafe path \"" + path + "\" in the manifest (absolute or with ..)");
    const auto size = f.value("size", std::int64_t(-1));
    if (size < 0)
      throw Error(bundle.string() + ": " + path + ": no size");
    std::string data(static_cast<std::size_t>(size), '\0');
    in.read(data.data(), size);
    if (in.gcount() != size)
      throw Error(bundle.string() + ": " + path + ": cut short");
    if (sha256Hex(data) != f.value("sha256", ""))
      throw Error(bundle.string() + ": " + path + ": checksum mismatch");
    contents.emplace_back(path, std::move(data));
  }
  fs::path target = targetParent / name;
  for (int i = 2; fs::exists(target); ++i)
    target = targetParent / (name + "-" + std::to_string(i));
  const fs::path root = fs::weakly_canonical(targetParent);
  for (const auto &[path, data] : contents) {
    const fs::path file = fs::weakly_canonical(target / path);
    const std::string rel = fs::relative(file, root).string();
    if (rel.empty() || rel.rfind("..", 0) == 0)
      throw Error(bundle.string() + ": " + path + " would be written outside " + targetParent.string());
    fs::create_directories(file.parent_path());
    writeFileAtomically(file, data);
  }
  return target;
}

} // namespace tunebench
