#include "ui/tablecsv.h"

#include "ui/plotview.h"

#include <QFile>
#include <QHeaderView>
#include <QTableWidget>

namespace tunebench {

namespace {
QString quoted(QString v)
{
  if (v.contains(QLatin1Char(',')) || v.contains(QLatin1Char('"')) || v.contains(QLatin1Char('\n')))
    return QLatin1Char('"') + v.replace(QLatin1Char('"'), QStringLiteral("\"\"")) + QLatin1Char('"');
  return v;
}
} // namespace

QString tableCsv(const QTableWidget *table)
{
  QStringList header;
  const bool rowNames = table->verticalHeader()->isVisible() && table->verticalHeaderItem(0);
  if (rowNames)
    header << QString();
  for (int c = 0; c < table->columnCount(); ++c)
    header << quoted(table->horizontalHeaderItem(c) ? table->horizontalHeaderItem(c)->text() : QString());
  QString out = header.join(QLatin1Char(',')) + QLatin1Char('\n');
  for (int r = 0; r < table->rowCount(); ++r) {
    QStringList row;
    if (rowNames)
      row << quoted(table->verticalHeaderItem(r) ? table->verticalHeaderItem(r)->text() : QString());
    for (int c = 0; c < table->columnCount(); ++c)
      row << quoted(table->item(r, c) ? table->item(r, c)->text() : QString());
    out += row.join(QLatin1Char(',')) + QLatin1Char('\n');
  }
  return out;
}

bool saveTableCsv(const QTableWidget *table, const QString &file)
{
  QFile f(file);
  return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(tableCsv(table).toUtf8()) >= 0;
}

void addCsvExport(QTableWidget *table)
{
  table->addAction(saveAction(table, QObject::tr("Export table as CSV…"), QObject::tr("CSV (*.csv)"),
                              [table](const QString &file) { return saveTableCsv(table, file); }));
  table->setContextMenuPolicy(Qt::ActionsContextMenu);
}

} // namespace tunebench
