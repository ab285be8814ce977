#include "ui/rungroupspanel.h"

#include "core/runs/rungroups.h"
#include "ui/tablecsv.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSettings>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>
#include <set>

namespace tunebench {

namespace {
const QString kNone = QStringLiteral("(none)");

QString cellText(const MetricSummary &m)
{
  QString text = QStringLiteral("%1 ± %2").arg(m.mean, 0, 'f', 4).arg(m.std, 0, 'f', 4);
  if (std::isfinite(m.low))
    text += QStringLiteral("  [%1, %2]").arg(m.low, 0, 'f', 4).arg(m.high, 0, 'f', 4);
  return text;
}
} // namespace

RunGroupsPanel::RunGroupsPanel(QWidget *parent)
  : QWidget(parent)
{
  setObjectName(QStringLiteral("RunGroupsPanel"));
  m_key = new QComboBox(this);
  m_key->setObjectName(QStringLiteral("GroupByKey"));
  m_key->setEditable(true);
  m_key->addItems({kNone, QStringLiteral("parent"), QStringLiteral("strategy.name"), QStringLiteral("seed"),
                   QStringLiteral("training.learning_rate"), QStringLiteral("model.path"),
                   QStringLiteral("task.kind")});
  m_key->setToolTip(tr("Group the listed runs by a config key (any, typed in) or by parent: the folds, seeds "
                       "and points of one plan"));
  m_table = new QTableWidget(0, 0, this);
  m_table->setObjectName(QStringLiteral("GroupsTable"));
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_table->verticalHeader()->hide();
  addCsvExport(m_table);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  connect(m_table, &QTableWidget::itemSelectionChanged, this, &RunGroupsPanel::groupsSelected);
  m_table->setToolTip(
      tr("mean ± standard deviation over the group's runs, and in brackets the 95% confidence "
         "interval of the mean: mean ± t(0.975, n − 1) · sd / √n (two runs or more). Select rows to draw "
         "each group's mean curve with a band; select two to compare them (paired by seed or fold)"));
  auto *row = new QHBoxLayout;
  row->addWidget(new QLabel(tr("Group by"), this));
  row->addWidget(m_key, 1);
  m_all = new QCheckBox(tr("all summary metrics"), this);
  m_all->setToolTip(tr("Besides the test metrics: the best, last and validation values every run records"));
  row->addWidget(m_all);
  row->addStretch(2);
  auto *layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(row);
  layout->addWidget(m_table, 1);
  m_key->setCurrentText(QSettings().value(QStringLiteral("history/groupBy"), kNone).toString());
  connect(m_key, &QComboBox::currentTextChanged, this, [this](const QString &text) {
    QSettings().setValue(QStringLiteral("history/groupBy"), text); // remembered between sessions
    regroup();
  });
  connect(m_all, &QCheckBox::toggled, this, &RunGroupsPanel::regroup);
  regroup();
}

void RunGroupsPanel::setRuns(const RunStore *store, std::vector<RunRecord> runs)
{
  m_store = store;
  m_runs = std::move(runs);
  regroup();
}

void RunGroupsPanel::setKey(const QString &key)
{
  m_key->setCurrentText(key.isEmpty() ? kNone : key);
}

QString RunGroupsPanel::key() const
{
  const QString k = m_key->currentText().trimmed();
  return k == kNone ? QString() : k;
}

void RunGroupsPanel::regroup()
{
  const QString k = key();
  m_table->setVisible(!k.isEmpty());
  if (k.isEmpty() || !m_store) {
    m_groups.clear();
    m_table->setRowCount(0);
    return;
  }
  m_groups = groupRuns(*m_store, m_runs, k.toStdString());
  const std::vector<RunGroup> &groups = m_groups;
  std::set<std::string> metrics;
  for (const RunGroup &g : groups)
    for (const auto &[name, summary] : g.metrics)
      if (m_all->isChecked() || name.rfind("test.", 0) == 0)
        metrics.insert(name);
  QStringList headers = {k, tr("runs")};
  for (const std::string &m : metrics)
    headers << QString::fromStdString(m);
  m_table->clear();
  m_table->setColumnCount(static_cast<int>(headers.size()));
  m_table->setHorizontalHeaderLabels(headers);
  m_table->setRowCount(static_cast<int>(groups.size()));
  for (int r = 0; r < static_cast<int>(groups.size()); ++r) {
    const RunGroup &g = groups[static_cast<std::size_t>(r)];
    QStringList ids;
    for (std::int64_t id : g.runs)
      ids << QString::number(id);
    m_table->setItem(r, 0, new QTableWidgetItem(QString::fromStdString(g.value)));
    m_table->setItem(
        r, 1,
        new QTableWidgetItem(QStringLiteral("%1 (%2)").arg(g.runs.size()).arg(ids.join(QLatin1Char(',')))));
    int c = 2;
    for (const std::string &m : metrics) {
      const auto it = g.metrics.find(m);
      m_table->setItem(
          r, c++, new QTableWidgetItem(it == g.metrics.end() ? QStringLiteral("-") : cellText(it->second)));
    }
  }
  m_table->resizeColumnsToContents();
}

std::vector<RunGroup> RunGroupsPanel::selectedGroups() const
{
  std::set<int> rows;
  for (const QModelIndex &i : m_table->selectionModel()->selectedRows())
    rows.insert(i.row());
  std::vector<RunGroup> out;
  for (int r : rows)
    if (r < static_cast<int>(m_groups.size()))
      out.push_back(m_groups[static_cast<std::size_t>(r)]);
  return out;
}

} // namespace tunebench
