#pragma once

#include "core/config/experiment.h"

#include <filesystem>
#include <string>
#include <vector>

namespace tunebench {

// The sanity checks before a long run (the workbench's "Quick check", the CLI's `check`): one
// batch over-fits without dropout (the data, model, head and strategy are wired so the pipeline
// learns), then a short run on a small subset (a few steps, an evaluation on validation) finishes
// with finite losses. Nothing is recorded in the run history; the scratch folder is removed.
struct QuickCheckResult
{
  bool ok = false;
  std::string overfit;           // "" when one batch over-fits, else what looks broken
  std::string subsetStatus;      // the short run: finished / failed ...
  std::string subsetReason;
  long subsetSteps = 0;
  int subsetRows = 0;
  double subsetSeconds = 0;
  double validationLoss = 0;
  std::vector<std::string> lines; // the findings in words, one per line
};

// Throws tunebench::Error for problems with the data or model (as Trainer does).
QuickCheckResult quickCheck(const ExperimentConfig &config, const std::filesystem::path &scratchDir,
                            int subsetRows = 200, int steps = 20);

} // namespace tunebench
