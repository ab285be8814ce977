#pragma once

// Helpers shared by the run store's files (internal to core/runs).

#include "core/runs/runstore.h"
#include "core/runs/sqlite.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tunebench::detail {

using Stmt = sqlite::Statement;

std::string nowIso();
std::string joinTags(const std::vector<std::string> &tags);
std::vector<std::string> splitTags(const std::string &text);
bool isNumber(const std::string &s, double *value = nullptr);
bool isSummaryKey(const std::string &key); // best.*, last.*, test.*, validation.*
// The runs columns readRecord reads, in its order (table alias r).
extern const char *const kRunColumns;
extern const char *const kInterruptedReason;
// Whether a process with this id runs (a run "running" in the history whose process is gone was
// interrupted).
bool processAlive(std::int64_t pid);
RunRecord readRecord(Stmt &s);

} // namespace tunebench::detail
