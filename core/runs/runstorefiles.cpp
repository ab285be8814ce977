// RunStore's file side: disk use, checkpoint pruning, importing run folders, CSV/JSON export,
// and run bundles.
#include "core/runs/runstoredetail.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/runfolder.h"
#include "core/util/sha256.h"
#include "core/util/text.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace tunebench {
namespace fs = std::filesystem;
using detail::Stmt;
using nlohmann::json;

void RunStore::recordArtifacts(std::int64_t run)
{
  const RunRecord r = this->run(run);
  std::vector<Artifact> found;
  std::error_code ec;
  if (fs::is_directory(r.folder, ec))
    for (const auto &entry : fs::recursive_directory_iterator(r.folder, ec))
      if (entry.is_regular_file(ec))
        found.push_back({fs::relative(entry.path(), r.folder).string(),
                         static_cast<std::int64_t>(entry.file_size(ec)), sha256File(entry.path())});
  flush();
  sqlite::Transaction t(m_db, m_path);
  Stmt(m_db, "DELETE FROM artifacts WHERE run=?", m_path).bind(1, run).run();
  Stmt s(m_db, "INSERT INTO artifacts(run, path, size, sha256) VALUES(?,?,?,?)", m_path);
  for (const Artifact &a : found)
    s.bind(1, run).bind(2, a.path).bind(3, a.size).bind(4, a.sha256).run();
  t.commit();
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
    const auto status = parseRunStatus(r.status);
    if (status == RunStatus::Running || status == RunStatus::Stopped || status == RunStatus::Interrupted)
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
  std::map<std::string, std::string> flat;
  try {
    flat = flattenYaml(yaml);
  } catch (const Error &e) {
    throw Error(config.string() + ": " + e.what());
  }
  const std::string name = flat.count("name") ? flat.at("name") : folder.filename().string();
  const std::string uid = runFolderId(folder).value_or("");
  if (const auto existing = uid.empty() ? findByFolder(folder) : findByUid(uid))
    remove(*existing, false);
  const std::int64_t id = createRun(name, folder, yaml, parent, {}, uid);
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
      for (const char *k : {"loss", "lr", "grad_norm", "tokens_per_s", "tokens"})
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
  RunStatus status =
      fileExists(folder / "state" / "trainer.json") ? RunStatus::Interrupted : RunStatus::Failed;
  std::string reason;
  double seconds = 0;
  if (fileExists(folder / "results.json")) {
    std::ifstream r(folder / "results.json");
    const json results = json::parse(r, nullptr, false);
    if (results.is_object()) {
      status = parseRunStatus(results.value("status", "")).value_or(status);
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
  const auto quote = [](const std::string &s) { return text::csvField(s); };
  std::string out = "id,name,created,status,duration,parent";
  for (const std::string &m : metrics)
    out += "," + quote(m);
  for (const std::string &k : keys)
    out += "," + quote("config." + k);
  out += "\n";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunRecord &r = runs[i];
    std::ostringstream line;
    line << r.id << "," << quote(r.name) << "," << r.created << "," << r.status << "," << r.duration << ","
         << r.parent;
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
    out.push_back({{"id", r.id},
                   {"name", r.name},
                   {"created", r.created},
                   {"status", r.status},
                   {"reason", r.reason},
                   {"duration", r.duration},
                   {"tags", r.tags},
                   {"notes", r.notes},
                   {"parent", r.parent},
                   {"folder", r.folder},
                   {"config", config(id)},
                   {"summary", summary},
                   {"series", series}});
  }
  return out.dump(2) + "\n";
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
  for (const char *name : {"config.yaml", "labels.json", "split.json", "events.jsonl", "results.json",
                           "test_predictions.jsonl", "best/model.pt"})
    if (fileExists(runFolder / name))
      files.emplace_back(name);
  if (files.empty() || !fileExists(runFolder / "config.yaml"))
    throw Error(runFolder.string() + ": not a run folder (no config.yaml)");
  json manifest = {{"name", fs::absolute(runFolder).lexically_normal().filename().string()},
                   {"files", json::array()}};
  for (const std::string &f : files)
    manifest["files"].push_back(
        {{"path", f}, {"size", fs::file_size(runFolder / f)}, {"sha256", sha256File(runFolder / f)}});
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
  const std::string problem = inputFileProblem(bundle, "a run bundle");
  if (!problem.empty())
    throw Error(bundle.string() + ": " + problem);
  std::ifstream in(bundle, std::ios::binary);
  if (!in)
    throw Error(bundle.string() + ": cannot be read");
  const auto total = static_cast<std::int64_t>(fs::file_size(bundle));
  std::string magic, header;
  std::getline(in, magic);
  if (magic != kBundleMagic)
    throw Error(bundle.string() + ": not a tunebench run bundle");
  std::getline(in, header);
  const json manifest = json::parse(header, nullptr, false);
  if (!manifest.is_object() || !manifest.contains("files") || !manifest["files"].is_array())
    throw Error(bundle.string() + ": damaged manifest");
  const std::string name =
      manifest.contains("name") && manifest["name"].is_string() ? manifest["name"].get<std::string>() : "";
  if (!safeRelativePath(name) || fs::path(name).has_parent_path())
    throw Error(bundle.string() + ": unsafe run name \"" + name + "\" in the manifest");
  // Read and check everything before writing anything.
  std::vector<std::pair<std::string, std::string>> contents;
  const auto text = [](const json &f, const char *key) {
    return f.contains(key) && f[key].is_string() ? f[key].get<std::string>() : std::string();
  };
  for (const json &f : manifest["files"]) {
    if (!f.is_object())
      throw Error(bundle.string() + ": damaged manifest (an entry of \"files\" is not an object)");
    const std::string path = text(f, "path");
    if (!safeRelativePath(path))
      throw Error(bundle.string() + ": unsafe path \"" + path + "\" in the manifest (absolute or with ..)");
    const auto size =
        f.contains("size") && f["size"].is_number_integer() ? f["size"].get<std::int64_t>() : -1;
    if (size < 0)
      throw Error(bundle.string() + ": " + path + ": no size");
    if (size > total - static_cast<std::int64_t>(in.tellg())) // before anything is allocated
      throw Error(bundle.string() + ": " + path + ": cut short (the manifest says " + std::to_string(size) +
                  " bytes, more than the bundle holds)");
    std::string data(static_cast<std::size_t>(size), '\0');
    in.read(data.data(), size);
    if (in.gcount() != size)
      throw Error(bundle.string() + ": " + path + ": cut short");
    if (sha256Hex(data) != text(f, "sha256"))
      throw Error(bundle.string() + ": " + path + ": checksum mismatch");
    contents.emplace_back(path, std::move(data));
  }
  fs::path target = targetParent / name;
  for (int i = 2; fs::exists(target); ++i)
    target = targetParent / (name + "-" + std::to_string(i));
  const fs::path root = fs::weakly_canonical(targetParent);
  for (const auto &[path, data] : contents) { // every path checked before anything is written
    const fs::path file = fs::weakly_canonical(target / path);
    const std::string rel = fs::relative(file, root).string();
    if (rel.empty() || rel.rfind("..", 0) == 0)
      throw Error(bundle.string() + ": " + path + " would be written outside " + targetParent.string());
  }
  // Written whole into a hidden folder beside the target, then renamed: a failed import (disk
  // full, a crash) leaves no half-written run folder.
  const fs::path staging = targetParent / ("." + target.filename().string() + ".importing");
  try {
    fs::remove_all(staging);
    for (const auto &[path, data] : contents) {
      fs::create_directories((staging / path).parent_path());
      writeFileAtomically(staging / path, data);
    }
    fs::rename(staging, target);
  } catch (const std::exception &e) {
    std::error_code ec;
    fs::remove_all(staging, ec);
    throw Error(bundle.string() + ": cannot be unpacked into " + targetParent.string() + ": " + e.what());
  }
  return target;
}

} // namespace tunebench
