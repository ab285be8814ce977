#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tunebench {

// Where a run stands or how it ended: the trainer's result, the history's status column and
// results.json all use these names (runStatusName).
enum class RunStatus {
  Queued,       // planned, not started (a plan's child)
  Running,      // a process trains it now
  Finished,     // trained to the end
  EarlyStopped, // the selection metric stopped improving (patience ran out)
  Stopped,      // stopped by the user; resumable
  Interrupted,  // its process died; resumable from the last saved state
  Failed,       // a critical diagnosis or an error
};

// "queued", "running", "finished", "early_stopped", "stopped", "interrupted", "failed".
const char *runStatusName(RunStatus status);
// The status of a name above; nullopt for any other text.
std::optional<RunStatus> parseRunStatus(std::string_view name);
// Finished or early-stopped: the run has a best model and test results.
bool completed(RunStatus status);

} // namespace tunebench
