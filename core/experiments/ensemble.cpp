#include "core/experiments/ensemble.h"

#include "core/eval/analysis.h"
#include "core/train/trainedrun.h"
#include "core/train/trainer.h"
#include "core/util/error.h"

namespace tunebench {

EnsembleResult ensembleRuns(const std::vector<std::filesystem::path> &runs, const std::string &split)
{
  if (runs.size() < 2)
    throw Error("an ensemble needs two or more runs of the same task and data");
  EnsembleResult out;
  out.split = split;
  std::vector<int> truth, rows;
  const double weight = 1.0 / static_cast<double>(runs.size());
  for (const std::filesystem::path &dir : runs) {
    auto run = TrainedRun::open(dir);
    if (run->config().task.kind != "single_label")
      throw Error(dir.string() +
                  ": ensembles average class probabilities of single-label classification runs");
    const TrainedRun::Detailed d = run->evaluateDetailed(split);
    if (out.labels.empty()) {
      out.labels = run->labels();
      rows = d.rows;
      truth = d.truth;
      out.probabilities.assign(d.probabilities.size(), std::vector<double>(out.labels.size(), 0.0));
    } else if (run->labels() != out.labels || d.rows != rows) {
      throw Error(dir.string() + ": its labels or its " + split + " split differ from " +
                  runs.front().string() + " (ensemble runs of the same data, split and seed)");
    }
    for (std::size_t i = 0; i < d.probabilities.size(); ++i)
      for (std::size_t k = 0; k < out.labels.size(); ++k)
        out.probabilities[i][k] += d.probabilities[i][k] * weight;
    out.members.push_back({dir, d.event.metrics});
  }
  out.metrics = classificationSummary(truth, out.probabilities, out.labels);
  return out;
}

} // namespace tunebench
