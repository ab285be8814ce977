#pragma once

#include <QString>

class QTableWidget;

namespace tunebench {

// A table as CSV: the header row, then every row as shown (cells quoted where they hold a comma,
// a quote or a line break).
QString tableCsv(const QTableWidget *table);
bool saveTableCsv(const QTableWidget *table, const QString &file);
// The table's right-click menu gets "Export table as CSV…".
void addCsvExport(QTableWidget *table);

} // namespace tunebench
