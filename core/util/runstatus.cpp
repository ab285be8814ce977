#include "core/util/runstatus.h"

#include <array>
#include <utility>

namespace tunebench {

namespace {

constexpr std::array<std::pair<RunStatus, const char *>, 7> kNames = {{
    {RunStatus::Queued, "queued"},
    {RunStatus::Running, "running"},
    {RunStatus::Finished, "finished"},
    {RunStatus::EarlyStopped, "early_stopped"},
    {RunStatus::Stopped, "stopped"},
    {RunStatus::Interrupted, "interrupted"},
    {RunStatus::Failed, "failed"},
}};

} // namespace

const char *runStatusName(RunStatus status)
{
  for (const auto &[s, name] : kNames)
    if (s == status)
      return name;
  return "failed";
}

std::optional<RunStatus> parseRunStatus(std::string_view name)
{
  for (const auto &[s, n] : kNames)
    if (name == n)
      return s;
  return std::nullopt;
}

bool completed(RunStatus status)
{
  return status == RunStatus::Finished || status == RunStatus::EarlyStopped;
}

} // namespace tunebench
