#include "ui/planqueue.h"

#include "core/experiments/plan.h"
#include "ui/tablecsv.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace tunebench {

PlanQueue::PlanQueue(QWidget *parent)
  : QWidget(parent)
{
  setObjectName(QStringLiteral("PlanQueue"));
  m_header = new QLabel(this);
  m_table = new QTableWidget(0, 3, this);
  m_table->setObjectName(QStringLiteral("PlanQueueTable"));
  m_table->setHorizontalHeaderLabels({tr("run"), tr("status"), tr("folder")});
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::SingleSelection);
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_table->horizontalHeader()->setStretchLastSection(true);
  m_table->setMaximumHeight(140);
  addCsvExport(m_table);
  m_skip = new QPushButton(tr("S&kip run"), this);
  m_skip->setToolTip(
      tr("A queued run is left out; the running one stops (resumable from History) and the plan "
         "goes on with the next. Pause and Stop act on the whole plan."));
  auto *top = new QHBoxLayout;
  top->addWidget(m_header, 1);
  top->addWidget(m_skip);
  auto *layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(top);
  layout->addWidget(m_table);
  connect(m_skip, &QPushButton::clicked, this, [this] {
    const int row = m_table->currentRow();
    const QString s = status(row);
    if (row >= 0 && (s == QLatin1String("queued") || s == QLatin1String("running"))) {
      setStatus(row, tr("skipping"));
      Q_EMIT skipRequested(row);
    }
  });
}

void PlanQueue::setPlan(const ExperimentPlan &plan)
{
  m_table->setRowCount(static_cast<int>(plan.runs.size()));
  for (int r = 0; r < m_table->rowCount(); ++r) {
    const PlannedRun &run = plan.runs[static_cast<std::size_t>(r)];
    m_table->setItem(r, 0, new QTableWidgetItem(QString::fromStdString(run.label)));
    m_table->setItem(r, 1, new QTableWidgetItem(QStringLiteral("queued")));
    m_table->setItem(r, 2, new QTableWidgetItem(QString::fromStdString(run.dir.filename().string())));
  }
  m_table->resizeColumnsToContents();
  updateHeader();
  setVisible(true);
}

void PlanQueue::setStatus(int index, const QString &status, const QString &tooltip)
{
  if (index < 0 || index >= m_table->rowCount())
    return;
  m_table->item(index, 1)->setText(status);
  m_table->item(index, 1)->setToolTip(tooltip);
  m_table->resizeColumnToContents(1);
  if (status == QLatin1String("running"))
    m_table->scrollToItem(m_table->item(index, 0));
  updateHeader();
}

QString PlanQueue::status(int index) const
{
  return index >= 0 && index < m_table->rowCount() ? m_table->item(index, 1)->text() : QString();
}

void PlanQueue::setFinished(const QString &status, const QString &reason)
{
  for (int r = 0; r < m_table->rowCount(); ++r)
    if (this->status(r) == QLatin1String("queued"))
      setStatus(r, tr("not run"));
  updateHeader();
  m_header->setText(m_header->text() + tr(" — plan %1: %2").arg(status, reason.toHtmlEscaped()));
  m_skip->setEnabled(false);
}

void PlanQueue::updateHeader()
{
  int done = 0;
  for (int r = 0; r < m_table->rowCount(); ++r)
    if (const QString s = status(r);
        s != QLatin1String("queued") && s != QLatin1String("running") && s != QLatin1String("skipping"))
      ++done;
  m_header->setText(tr("<b>Plan:</b> %1 of %2 runs done").arg(done).arg(m_table->rowCount()));
  m_skip->setEnabled(done < m_table->rowCount());
}

} // namespace tunebench
