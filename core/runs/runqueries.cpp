#include "core/runs/runstoredetail.h"
#include "core/util/error.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace tunebench {
namespace fs = std::filesystem;
using detail::isNumber;
using detail::isSummaryKey;
using detail::kRunColumns;
using detail::readRecord;
using detail::Stmt;

namespace {

// A config holds a few hundred nodes; aliases can make a short file stand for billions (a
// "billion laughs" file in an imported bundle): every node visited counts against this budget.
constexpr long kMaxYamlNodes = 100000;

struct Budget
{
  long left = kMaxYamlNodes;
  void spend()
  {
    if (--left < 0)
      throw Error("more than " + std::to_string(kMaxYamlNodes) +
                  " values (aliases that expand without end?); not read");
  }
};

// Every node under `node` counted (what emitting it would expand).
void countNodes(const YAML::Node &node, Budget &budget)
{
  budget.spend();
  if (node.IsMap())
    for (const auto &kv : node) {
      countNodes(kv.first, budget);
      countNodes(kv.second, budget);
    }
  else if (node.IsSequence())
    for (const auto &item : node)
      countNodes(item, budget);
}

void flattenNode(const YAML::Node &node, const std::string &prefix, std::map<std::string, std::string> &out,
                 Budget &budget)
{
  budget.spend();
  if (node.IsMap()) {
    for (const auto &kv : node)
      flattenNode(kv.second, prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar(), out,
                  budget);
  } else if (node.IsSequence()) {
    countNodes(node, budget);
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
  Budget budget;
  try {
    flattenNode(YAML::Load(yaml), "", out, budget);
  } catch (const YAML::Exception &e) {
    throw Error(e.mark.is_null() ? "not valid YAML: " + e.msg
                                 : "line " + std::to_string(e.mark.line + 1) + ", column " +
                                       std::to_string(e.mark.column + 1) + ": not valid YAML: " + e.msg);
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
      sql += " AND EXISTS(SELECT 1 FROM summaries s WHERE s.run=r.id AND s.kind=? AND s.name=? AND s.value " +
             op + " ?)";
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
  if (q.sortBy == "created" || q.sortBy == "name" || q.sortBy == "duration" || q.sortBy == "status" ||
      q.sortBy == "id") {
    sql += " ORDER BY r." + q.sortBy + direction + ", r.id" + direction;
  } else if (isSummaryKey(q.sortBy)) {
    const auto dot = q.sortBy.find('.');
    sql += " ORDER BY (SELECT value FROM summaries s WHERE s.run=r.id AND s.kind=? AND s.name=?)" +
           direction + " NULLS LAST, r.id DESC";
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
    binds[i].isReal ? s.bind(static_cast<int>(i) + 2, binds[i].real)
                    : s.bind(static_cast<int>(i) + 2, binds[i].text);
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

std::vector<MetricPoint> RunStore::series(std::int64_t run, const std::string &split,
                                          const std::string &name) const
{
  std::vector<MetricPoint> out;
  Stmt s(m_db,
         "SELECT step, epoch, wall, value FROM metrics WHERE run=? AND split=? AND name=? ORDER BY step",
         m_path);
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
  Stmt s(
      m_db,
      std::string("SELECT run FROM summaries WHERE kind=? AND name=? AND value IS NOT NULL ORDER BY value ") +
          (higherIsBetter ? "DESC" : "ASC") + " LIMIT 1",
      m_path);
  s.bind(1, metric.substr(0, dot)).bind(2, metric.substr(dot + 1));
  if (s.step())
    return s.integer(0);
  return std::nullopt;
}

} // namespace tunebench
