#include "ui/tasklisteditor.h"

#include <QApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace tunebench {

namespace {

enum Column { Name, Kind, Path, Columns, TagScheme, SubsetRows, Weight, ColumnCount };

QString yamlQuoted(QString text)
{
  text.replace(QLatin1Char('\\'), QStringLiteral("\\\\")).replace(QLatin1Char('"'), QStringLiteral("\\\""));
  return QLatin1Char('"') + text + QLatin1Char('"');
}

} // namespace

TaskListEditor::TaskListEditor(QWidget *parent)
  : QWidget(parent)
{
  m_table = new QTableWidget(0, ColumnCount, this);
  m_table->setObjectName(QStringLiteral("MultitaskTable"));
  m_table->setHorizontalHeaderLabels({tr("name"), tr("kind"), tr("data file"), tr("columns"),
                                      tr("tag scheme"), tr("subset rows"), tr("weight")});
  m_table->horizontalHeaderItem(Kind)->setToolTip(tr("single_label, multi_label or token_tagging"));
  m_table->horizontalHeaderItem(Columns)->setToolTip(
      tr("role: column, … (e.g. text: sentence, label: label)"));
  m_table->horizontalHeaderItem(Weight)->setToolTip(tr("its loss is multiplied by this (0 < weight ≤ 100)"));
  m_table->verticalHeader()->hide();
  m_table->setMaximumHeight(120);
  m_add = new QPushButton(tr("Add task"), this);
  m_remove = new QPushButton(tr("Remove task"), this);
  auto *buttons = new QHBoxLayout;
  buttons->addWidget(m_add);
  buttons->addWidget(m_remove);
  buttons->addStretch(1);
  auto *layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_table);
  layout->addLayout(buttons);
  connect(m_table, &QTableWidget::itemChanged, this, [this] {
    if (!m_filling)
      Q_EMIT edited();
  });
  connect(m_add, &QPushButton::clicked, this, [this] {
    m_filling = true;
    const int r = m_table->rowCount();
    m_table->insertRow(r);
    const QStringList defaults = {QStringLiteral("task%1").arg(r + 1),
                                  QStringLiteral("single_label"),
                                  QString(),
                                  QString(),
                                  QString(),
                                  QStringLiteral("0"),
                                  QStringLiteral("1")};
    for (int c = 0; c < ColumnCount; ++c)
      m_table->setItem(r, c, new QTableWidgetItem(defaults[c]));
    m_filling = false;
    m_table->editItem(m_table->item(r, Path)); // its data file is what it needs first
    Q_EMIT edited();
  });
  connect(m_remove, &QPushButton::clicked, this, [this] {
    if (m_table->currentRow() < 0)
      return;
    m_table->removeRow(m_table->currentRow());
    Q_EMIT edited();
  });
}

void TaskListEditor::setTasks(const std::vector<ExperimentConfig::AuxiliaryTask> &tasks)
{
  const QWidget *focus = QApplication::focusWidget();
  if (focus && focus != m_table && m_table->isAncestorOf(focus))
    return; // a cell being typed in keeps its text
  m_filling = true;
  m_table->setRowCount(static_cast<int>(tasks.size()));
  for (int r = 0; r < m_table->rowCount(); ++r) {
    const auto &t = tasks[static_cast<std::size_t>(r)];
    QStringList columns;
    for (const auto &[role, column] : t.columns)
      columns << QStringLiteral("%1: %2").arg(QString::fromStdString(role), QString::fromStdString(column));
    const QStringList cells = {QString::fromStdString(t.name),      QString::fromStdString(t.kind),
                               QString::fromStdString(t.path),      columns.join(QStringLiteral(", ")),
                               QString::fromStdString(t.tagScheme), QString::number(t.subsetRows),
                               QString::number(t.weight, 'g', 10)};
    for (int c = 0; c < ColumnCount; ++c)
      m_table->setItem(r, c, new QTableWidgetItem(cells[c]));
  }
  m_table->resizeColumnsToContents();
  m_filling = false;
}

QString TaskListEditor::yamlValue() const
{
  QStringList rows;
  for (int r = 0; r < m_table->rowCount(); ++r) {
    auto cell = [&](int c) {
      return m_table->item(r, c) ? m_table->item(r, c)->text().trimmed() : QString();
    };
    QStringList fields = {QStringLiteral("name: ") + yamlQuoted(cell(Name)),
                          QStringLiteral("kind: ") + yamlQuoted(cell(Kind)),
                          QStringLiteral("path: ") + yamlQuoted(cell(Path))};
    QStringList columns;
    for (const QString &pair : cell(Columns).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
      const QString role = pair.section(QLatin1Char(':'), 0, 0).trimmed();
      const QString column = pair.section(QLatin1Char(':'), 1).trimmed();
      columns << yamlQuoted(role) + QStringLiteral(": ") + yamlQuoted(column);
    }
    if (!columns.isEmpty())
      fields << QStringLiteral("columns: {%1}").arg(columns.join(QStringLiteral(", ")));
    if (!cell(TagScheme).isEmpty())
      fields << QStringLiteral("tag_scheme: ") + yamlQuoted(cell(TagScheme));
    // numbers as typed: a wrong one is the config's to name
    fields << QStringLiteral("subset_rows: ") +
                  (cell(SubsetRows).isEmpty() ? QStringLiteral("0") : cell(SubsetRows));
    fields << QStringLiteral("weight: ") + (cell(Weight).isEmpty() ? QStringLiteral("1") : cell(Weight));
    rows << QLatin1Char('{') + fields.join(QStringLiteral(", ")) + QLatin1Char('}');
  }
  return QLatin1Char('[') + rows.join(QStringLiteral(", ")) + QLatin1Char(']');
}

} // namespace tunebench
