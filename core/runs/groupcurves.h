#pragma once

#include "core/runs/runstore.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tunebench {

// A group of runs' curve of one series (the seeds or folds of a plan): at every x where at least one
// run has a value (each run's points joined by straight lines, never extended past its own
// range), the mean over the runs there and a band around it.
enum class CurveAxis { Step, Epoch, Tokens };
enum class CurveBand {
  None,
  MinMax,             // the lowest and highest run
  ConfidenceInterval, // mean ± t(0.975, n − 1) · sd / √n (the mean alone where one run covers x)
};

struct CurveOptions
{
  std::string series = "validation/loss"; // split/name, as RunStore records it
  CurveAxis axis = CurveAxis::Step;
  CurveBand band = CurveBand::MinMax;
  double smoothing = 0; // EMA weight of each run's series before the mean: s = w·s + (1 − w)·v
};

struct GroupCurve
{
  std::vector<double> x, mean, low, high;
  std::vector<int> runs; // how many runs have a value at each x
};

// Error naming the run when the axis is tokens and a run has no token counts (trained before they
// were recorded), or epochs and a run has no training steps.
GroupCurve groupCurve(const RunStore &store, const std::vector<std::int64_t> &runs,
                      const CurveOptions &options);

// One run's series on the chosen axis, smoothed: the points groupCurve averages.
std::vector<std::pair<double, double>> runCurve(const RunStore &store, std::int64_t run,
                                                const CurveOptions &options);

} // namespace tunebench
