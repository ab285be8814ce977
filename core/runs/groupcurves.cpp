#include "core/runs/groupcurves.h"

#include "core/eval/groupcomparison.h"
#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

namespace tunebench {

namespace {

// The run's x of each step on the axis: the step itself, the fraction of epochs done (steps of the
// first epoch as its length), or the tokens trained on by then.
std::function<double(long)> axisOf(const RunStore &store, std::int64_t run, CurveAxis axis)
{
  if (axis == CurveAxis::Step)
    return [](long step) { return static_cast<double>(step); };
  if (axis == CurveAxis::Epoch) {
    long perEpoch = 0;
    for (const MetricPoint &p : store.series(run, "train", "loss"))
      if (p.epoch == 0)
        perEpoch = std::max(perEpoch, p.step);
    if (perEpoch == 0)
      throw Error("run " + std::to_string(run) + " has no training steps to measure epochs by");
    return [perEpoch](long step) { return static_cast<double>(step) / static_cast<double>(perEpoch); };
  }
  std::vector<MetricPoint> tokens = store.series(run, "train", "tokens");
  if (tokens.empty())
    throw Error("run " + std::to_string(run) +
                " has no token counts (trained before they were recorded): plot it by step or epoch");
  return [tokens = std::move(tokens)](long step) {
    // the last count at or before the step (evaluations happen after a step)
    auto it = std::upper_bound(tokens.begin(), tokens.end(), step,
                               [](long s, const MetricPoint &p) { return s < p.step; });
    return it == tokens.begin() ? 0.0 : std::prev(it)->value;
  };
}

// The value of a polyline at x (x within its range).
double at(const std::vector<std::pair<double, double>> &curve, double x)
{
  auto it = std::lower_bound(curve.begin(), curve.end(), x,
                             [](const std::pair<double, double> &p, double v) { return p.first < v; });
  if (it->first == x || it == curve.begin())
    return it->second;
  const auto &[x1, y1] = *it;
  const auto &[x0, y0] = *std::prev(it);
  return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
}

} // namespace

std::vector<std::pair<double, double>> runCurve(const RunStore &store, std::int64_t run,
                                                const CurveOptions &o)
{
  const auto slash = o.series.find('/');
  if (slash == std::string::npos)
    throw Error("series \"" + o.series + "\": expected split/name, e.g. validation/loss");
  const auto x = axisOf(store, run, o.axis);
  std::vector<std::pair<double, double>> out;
  double smoothed = 0;
  bool first = true;
  for (const MetricPoint &p : store.series(run, o.series.substr(0, slash), o.series.substr(slash + 1))) {
    if (!std::isfinite(p.value))
      continue;
    smoothed = first ? p.value : o.smoothing * smoothed + (1 - o.smoothing) * p.value;
    first = false;
    const double px = x(p.step);
    if (!out.empty() && px <= out.back().first)
      out.back().second = smoothed; // the same x twice (a resumed step): the later value
    else
      out.emplace_back(px, smoothed);
  }
  return out;
}

GroupCurve groupCurve(const RunStore &store, const std::vector<std::int64_t> &runs, const CurveOptions &o)
{
  std::vector<std::vector<std::pair<double, double>>> curves;
  std::set<double> xs;
  for (std::int64_t run : runs) {
    curves.push_back(runCurve(store, run, o));
    for (const auto &p : curves.back())
      xs.insert(p.first);
  }
  GroupCurve g;
  for (double x : xs) {
    std::vector<double> values;
    for (const auto &c : curves)
      if (!c.empty() && x >= c.front().first && x <= c.back().first)
        values.push_back(at(c, x));
    const MetricSummary s = summarizeValues(values);
    g.x.push_back(x);
    g.mean.push_back(s.mean);
    g.runs.push_back(static_cast<int>(values.size()));
    double low = s.mean, high = s.mean;
    if (o.band == CurveBand::MinMax) {
      low = *std::min_element(values.begin(), values.end());
      high = *std::max_element(values.begin(), values.end());
    } else if (o.band == CurveBand::ConfidenceInterval && values.size() > 1) {
      low = s.low;
      high = s.high;
    }
    g.low.push_back(low);
    g.high.push_back(high);
  }
  return g;
}

} // namespace tunebench
