#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace tunebench {

// An ensemble of single-label classification runs of the same data and split: their class
// probabilities averaged on one split, scored beside each member.
struct EnsembleMember
{
  std::filesystem::path run;
  std::map<std::string, double> metrics;
};
struct EnsembleResult
{
  std::string split;
  std::vector<std::string> labels;
  std::vector<EnsembleMember> members;
  std::vector<std::vector<double>> probabilities; // per row of the split: the members' mean
  std::map<std::string, double> metrics;          // accuracy, macro_f1, micro_f1, weighted_f1
};

// Error naming the run when one is not single-label classification, or when its labels or split
// rows differ from the first run's.
EnsembleResult ensembleRuns(const std::vector<std::filesystem::path> &runs, const std::string &split);

} // namespace tunebench
