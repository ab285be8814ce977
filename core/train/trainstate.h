#pragma once

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace tunebench {

// Where a run stands between two optimizer steps: what state/trainer.json holds beside the model
// and the optimizer, and all a resume needs to continue the schedule, early stopping and the
// diagnosis exactly.
struct TrainingState
{
  long step = 0;         // optimizer steps done
  int epoch = 0;         // 0-based
  long batchInEpoch = 0; // micro-batches of this epoch done
  double best = std::nan("");
  long bestStep = -1;
  int badEvals = 0; // evaluations without improvement (early stopping)
  double plateauScale = 1.0;
  double plateauBest = std::nan("");
  int plateauBad = 0;
  double elapsedBefore = 0;     // seconds trained by earlier processes
  long tokens = 0;              // tokens trained on so far (padding excluded), every process
  std::set<std::string> raised; // diagnosis kinds already reported
  bool validationDue = false;   // stopped during a validation: a resume runs it first

  // `elapsed`: the seconds to store (earlier processes' and this one's).
  nlohmann::json toJson(double elapsed) const;

  // The bounds of the run a state must fit.
  struct Limits
  {
    long totalSteps = 0;
    long epochs = 0;
    long batchesInEpoch = 0;
  };
  // Every field checked against the run before it is used: a state from another run or a corrupt
  // file is refused with an Error naming `file` and the field. Missing fields take their defaults.
  static TrainingState fromJson(const nlohmann::json &j, const std::filesystem::path &file,
                                const Limits &limits);
};

} // namespace tunebench
