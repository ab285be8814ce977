#include "ui/tablecsv.h"

#include "ui/plotview.h"

#include <QFile>
#include <QHeaderView>
#include <QTableWidget>

namespace tunebench {

QString tableCsv(const QTableWidget *table)
{
  QStringList header;
  const bool rowNames = table->verticalHeader()->isVisible() && table->verticalHeaderItem(0);
  if (rowNames)
    header << QString();
  for (int c = 0; c < table->columnCount(); ++c)
    header << csvField(table->horizontalHeaderItem(c) ? table->horizontalHeaderItem(c)->text() : QString());
  QString out = header.join(QLatin1Char(',')) + QLatin1Char('\n');
  for (int r = 0; r < table->rowCount(); ++r) {
    QStringList row;
    if (rowNames)
      row << csvField(table->verticalHeaderItem(r) ? table->verticalHeaderItem(r)->text() : QString());
    for (int c = 0; c < table->columnCount(); ++c)
      row << csvField(table->item(r, c) ? table->item(r, c)->text() : QString());
    out += row.join(QLatin1Char(',')) + QLatin1Char('\n');
  }
  return out;
}

bool saveTableCsv(const QTableWidget *table, const QString &file)
{
  return writeText(file, tableCsv(table));
}

void addCsvExport(QTableWidget *table)
{
  table->addAction(saveAction(table, QObject::tr("Export table as CSV…"), QObject::tr("CSV (*.csv)"),
                              [table](const QString &file) { return saveTableCsv(table, file); }));
  table->setContextMenuPolicy(Qt::ActionsContextMenu);
}

} // namespace tunebench
