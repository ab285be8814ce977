// `runs compare A1,A2,… B1,B2,…`: two groups of runs (seeds or folds) compared pair by pair.
#include "cli/commands.h"
#include "core/eval/groupcomparison.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

namespace tunebench::cli {

int printGroupComparison(const std::vector<std::vector<std::int64_t>> &ids,
                         const std::vector<std::vector<std::filesystem::path>> &folders, bool json)
{
  const std::vector<GroupMetricComparison> c = compareGroups(folders.at(0), folders.at(1));
  if (json) {
    std::cout << nlohmann::json{{"groups", {{"a", ids.at(0)}, {"b", ids.at(1)}}},
                                {"significance", groupComparisonJson(c)}}
                     .dump()
              << '\n';
    return ExitOk;
  }
  std::printf("%-12s", "test metric");
  for (std::size_t i = 0; i < ids[0].size(); ++i)
    std::printf("  run %lld vs %lld", static_cast<long long>(ids[0][i]), static_cast<long long>(ids[1][i]));
  std::printf("\n");
  for (const GroupMetricComparison &g : c) {
    std::printf("%-12s", g.metric.c_str());
    for (std::size_t i = 0; i < g.a.size(); ++i)
      std::printf("  %.4f → %.4f", g.a[i], g.b[i]);
    std::printf("\n");
  }
  std::printf("\nsignificance (B against A, paired by position):\n");
  for (const std::string &line : describeGroupComparison(c))
    std::printf("  %s\n", line.c_str());
  return ExitOk;
}

} // namespace tunebench::cli
