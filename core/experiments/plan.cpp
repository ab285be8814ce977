#include "core/experiments/plan.h"

#include "core/train/trainer.h"
#include "core/util/error.h"
#include "core/util/files.h"

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

namespace tunebench {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> splitOn(const std::string &text, char sep)
{
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, sep);)
    out.push_back(part);
  return out;
}

// <output.runs>/<name>-<kind>-<time>, from the trainer's naming of run folders.
fs::path defaultRoot(const ExperimentConfig &config, const std::string &kind)
{
  const fs::path one = newRunDir(config);
  return one.parent_path() /
         (config.name + "-" + kind + "-" + one.filename().string().substr(config.name.size() + 1));
}

std::string joined(const std::vector<std::string> &parts, const char *sep)
{
  std::string out;
  for (const std::string &p : parts)
    out += (out.empty() ? "" : sep) + p;
  return out;
}

double number(const std::string &text, const std::string &option)
{
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v))
      return v;
  } catch (const std::exception &) {
  }
  throw Error(option + ": \"" + text + "\" is not a number");
}

} // namespace

// The grid's cartesian product, then (with ranges) `random` samples per grid point.
std::vector<std::vector<std::string>> sweepPoints(const SweepSpec &spec)
{
  if (spec.seeds < 1)
    throw Error("--seeds: a sweep needs at least one seed per point");
  if (!spec.ranges.empty() && spec.random < 1)
    throw Error("--random: a random sweep needs at least one point");
  std::vector<std::vector<std::string>> points = spec.points;
  if (points.empty())
    points = {{}};
  for (const auto &p : points)
    for (const std::string &o : p)
      if (o.find('=') == std::string::npos || o.front() == '=')
        throw Error("point \"" + o + "\": expected key=value");
  for (const std::string &g : spec.grid) {
    const auto eq = g.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == g.size())
      throw Error("--grid " + g + ": expected key=a,b,...");
    std::vector<std::vector<std::string>> next;
    for (const auto &p : points)
      for (const std::string &v : splitOn(g.substr(eq + 1), ',')) {
        auto q = p;
        q.push_back(g.substr(0, eq) + "=" + v);
        next.push_back(q);
      }
    points = next;
  }
  if (spec.ranges.empty())
    return points;
  std::mt19937_64 rng(spec.samplingSeed);
  std::vector<std::vector<std::string>> sampled;
  for (const auto &p : points)
    for (int i = 0; i < spec.random; ++i) {
      auto q = p;
      for (const std::string &r : spec.ranges) {
        const auto eq = r.find('=');
        const auto parts =
            eq == std::string::npos ? std::vector<std::string>{} : splitOn(r.substr(eq + 1), ':');
        if (parts.size() < 2 || parts.size() > 3 || (parts.size() == 3 && parts[2] != "log"))
          throw Error("--range " + r + ": expected key=lo:hi or key=lo:hi:log");
        const double lo = number(parts[0], "--range " + r), hi = number(parts[1], "--range " + r);
        const bool log = parts.size() > 2;
        if (log && (lo <= 0 || hi <= 0))
          throw Error("--range " + r + ": a log range needs positive bounds");
        std::uniform_real_distribution<double> u(log ? std::log(lo) : lo, log ? std::log(hi) : hi);
        const double v = log ? std::exp(u(rng)) : u(rng);
        std::ostringstream value;
        value << v;
        q.push_back(r.substr(0, eq) + "=" + value.str());
      }
      sampled.push_back(q);
    }
  return sampled;
}

ExperimentSource ExperimentSource::fromFile(const fs::path &file, std::vector<std::string> overrides)
{
  ExperimentSource s;
  s.yaml = readInputFile(file, "an experiment file (YAML)");
  s.baseDir = fs::absolute(file).parent_path();
  s.overrides = std::move(overrides);
  s.name = file.string();
  return s;
}

ExperimentConfig ExperimentSource::config(const std::vector<std::string> &more) const
{
  std::vector<std::string> all = overrides;
  all.insert(all.end(), more.begin(), more.end());
  const ConfigResult r = parseExperimentConfig(yaml, baseDir, all);
  if (r.ok())
    return r.config;
  std::string message = name + ": " + std::to_string(r.problems.size()) + " problem(s) in the config";
  for (const ConfigProblem &p : r.problems)
    message += "\n  " + p.str(name);
  throw Error(message);
}

ExperimentPlan planCrossValidation(const ExperimentSource &source, int folds, fs::path root)
{
  if (folds < 2)
    throw Error("cross-validation needs at least 2 folds (got " + std::to_string(folds) + ")");
  const std::string foldsOverride = "data.split.folds=" + std::to_string(folds);
  ExperimentPlan plan;
  plan.kind = PlanKind::CrossValidation;
  const ExperimentConfig base = source.config({foldsOverride});
  plan.parent = base;
  plan.parent.name = base.name + "-cv";
  plan.root = root.empty() ? defaultRoot(base, "cv") : std::move(root);
  for (int k = 0; k < folds; ++k) {
    PlannedRun r;
    r.overrides = {foldsOverride};
    r.config = base;
    r.config.data.fold = k;
    r.dir = plan.root / ("fold-" + std::to_string(k + 1));
    r.label = "fold " + std::to_string(k + 1) + "/" + std::to_string(folds);
    r.group = static_cast<std::size_t>(k);
    plan.groups.push_back({"data.fold=" + std::to_string(k)});
    plan.runs.push_back(std::move(r));
  }
  return plan;
}

ExperimentPlan planSweep(const ExperimentSource &source, const SweepSpec &spec, fs::path root)
{
  ExperimentPlan plan;
  plan.kind = PlanKind::Sweep;
  plan.groups = sweepPoints(spec);
  plan.seeds = spec.seeds;
  const ExperimentConfig first = source.config();
  plan.parent = first;
  plan.parent.name = first.name + "-sweep";
  plan.root = root.empty() ? defaultRoot(first, "sweep") : std::move(root);
  const std::size_t n = plan.groups.size();
  for (std::size_t i = 0; i < n; ++i)
    for (int s = 0; s < spec.seeds; ++s) {
      PlannedRun r;
      r.overrides = plan.groups[i];
      if (spec.seeds > 1)
        r.overrides.push_back("seed=" + std::to_string(first.seed + static_cast<std::uint64_t>(s)));
      r.config = source.config(r.overrides);
      r.dir = plan.root /
              ("point-" + std::to_string(i + 1) + (spec.seeds > 1 ? "-seed-" + std::to_string(s + 1) : ""));
      r.label = "point " + std::to_string(i + 1) + "/" + std::to_string(n) +
                (spec.seeds > 1 ? " seed " + std::to_string(s + 1) : "") + ": " + joined(plan.groups[i], " ");
      r.group = i;
      plan.runs.push_back(std::move(r));
    }
  return plan;
}

} // namespace tunebench
