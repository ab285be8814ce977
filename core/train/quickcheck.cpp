#include "core/train/quickcheck.h"

#include "core/train/trainer.h"

#include <cmath>
#include <cstdio>

namespace tunebench {

namespace fs = std::filesystem;

QuickCheckResult quickCheck(const ExperimentConfig &config, const fs::path &scratchDir, int subsetRows, int steps)
{
  QuickCheckResult r;
  std::error_code ec;
  fs::remove_all(scratchDir, ec);
  {
    Trainer trainer(config, scratchDir / "overfit");
    r.overfit = trainer.overfitOneBatch();
  }
  r.lines.push_back(r.overfit.empty() ? "One batch over-fits: the loss falls towards zero, so the pipeline learns."
                                      : "One batch does not over-fit: " + r.overfit);

  ExperimentConfig small = config;
  small.data.subsetRows = config.data.subsetRows > 0 ? std::min(config.data.subsetRows, subsetRows) : subsetRows;
  small.training.epochs = 1;
  small.training.maxSteps = steps;
  small.evaluation.everySteps = std::max(1, steps / 2);
  small.evaluation.patience = 0;
  small.evaluation.generate = std::min(small.evaluation.generate, 2);
  small.output.saveBest = false;
  small.output.saveLast = false;
  small.multitask.tasks.clear(); // the main task's wiring is what is checked
  RunResult run;
  {
    Trainer trainer(small, scratchDir / "subset");
    run = trainer.run();
  }
  r.subsetStatus = runStatusName(run.status);
  r.subsetReason = run.reason;
  r.subsetSteps = run.steps;
  r.subsetRows = small.data.subsetRows;
  r.subsetSeconds = run.seconds;
  r.validationLoss = run.validation.loss;
  const bool runOk = completed(run.status) && run.steps > 0 && std::isfinite(run.validation.loss);
  char line[256];
  if (runOk)
    std::snprintf(line, sizeof line, "A %ld-step run on %d rows finished in %.1f s (validation loss %.4f).",
                  run.steps, r.subsetRows, run.seconds, run.validation.loss);
  else
    std::snprintf(line, sizeof line, "A %ld-step run on %d rows ended %s: %s", run.steps, r.subsetRows,
                  runStatusName(run.status), run.reason.c_str());
  r.lines.push_back(line);
  for (const Diagnosis &d : run.diagnoses)
    if (d.critical || d.kind == Diagnosis::Kind::Instability || d.kind == Diagnosis::Kind::ExplodingGradients)
      r.lines.push_back("Already in the first steps — " + d.title + ": " + d.evidence);
  r.ok = r.overfit.empty() && runOk;
  fs::remove_all(scratchDir, ec);
  return r;
}

} // namespace tunebench
