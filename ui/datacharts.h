#pragma once

#include "core/data/statistics.h"

#include <QChart>

#include <map>
#include <string>

namespace tunebench {

// The Data tab's charts, drawn anew for each data set.

// Label distribution: a bar per label, the most frequent first (at most 40).
void drawLabelCounts(QChart *chart, const std::map<std::string, int> &labelCounts);

// Token lengths: a histogram (30 bins, a step outline) and the max-length cut-off with the rows
// it cuts.
void drawTokenLengths(QChart *chart, const DatasetStatistics &s, int maxLength);

} // namespace tunebench
