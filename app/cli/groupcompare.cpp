// `runs compare A1,A2,… B1,B2,…`: two groups of runs (seeds or folds) compared pair by pair.
#include "cli/args.h"
#include "cli/commands.h"
#include "core/eval/groupcomparison.h"
#include "core/runs/runstore.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

namespace tunebench::cli {

int compareRunGroups(const RunStore &store, const std::vector<std::string> &groups, bool json)
{
  if (groups.size() != 2)
    throw UsageError("runs compare with groups takes two comma-separated lists of run ids (A then B), "
                     "paired by position: runs compare 3,4,5 6,7,8");
  std::vector<std::vector<std::int64_t>> ids;
  std::vector<std::vector<std::filesystem::path>> folders;
  for (const std::string &group : groups) {
    std::vector<std::string> members;
    for (std::size_t at = 0; at <= group.size();) {
      const std::size_t comma = std::min(group.find(',', at), group.size());
      members.push_back(group.substr(at, comma - at));
      at = comma + 1;
    }
    ids.push_back(runIds(members, 0));
    folders.emplace_back();
    for (std::int64_t id : ids.back())
      folders.back().push_back(store.run(id).folder);
  }
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
