#include "ui/historyview.h"

#include "core/config/experiment.h"
#include "core/eval/groupcomparison.h"
#include "core/eval/pairedcomparison.h"
#include "core/runs/rungroups.h"
#include "core/runs/runstore.h"
#include "core/util/error.h"
#include "ui/curvesview.h"
#include "ui/ensembledialog.h"
#include "ui/historyitems.h"
#include "ui/rungroupspanel.h"
#include "ui/sweepview.h"
#include "ui/tablecsv.h"

#include <QCheckBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFile>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

namespace tunebench {

namespace {

const QStringList kColumns = {QStringLiteral("id"),       QStringLiteral("name"),        QStringLiteral("status"),
                              QStringLiteral("strategy"), QStringLiteral("LR"),          QStringLiteral("test accuracy"),
                              QStringLiteral("test macro-F1"), QStringLiteral("duration (s)"), QStringLiteral("created"),
                              QStringLiteral("tags"),     QStringLiteral("notes")};

} // namespace

HistoryView::HistoryView(QWidget *parent) : QWidget(parent)
{
  setObjectName(QStringLiteral("HistoryView"));
  createWidgets();
  connectButtons();
}

void HistoryView::createWidgets()
{
  auto *layout = new QVBoxLayout(this);
  auto *bar = new QHBoxLayout;
  m_filter = new QLineEdit(this);
  m_filter->setPlaceholderText(tr("Filter: strategy.name=lora  test.accuracy>0.8  status=finished (space-separated)"));
  m_refresh = new QToolButton(this);
  m_refresh->setText(tr("Refresh"));
  m_refresh->setToolTip(tr("List the runs again (runs trained elsewhere, e.g. by the CLI, appear)"));
  m_compare = new QPushButton(tr("&Compare"), this);
  m_compare->setToolTip(tr("The selected runs side by side: config diff, summaries, curves; two runs: their "
                           "paired comparison on the test rows"));
  m_resume = new QPushButton(tr("Resume"), this);
  m_archive = new QPushButton(tr("Archive"), this);
  m_clone = new QPushButton(tr("C&lone"), this);
  m_clone->setToolTip(tr("Open the selected run's config in the Experiment tab, to edit and start"));
  m_rerun = new QPushButton(tr("Re&run"), this);
  m_rerun->setToolTip(tr("Start the selected run's config again"));
  m_notes = new QPushButton(tr("&Notes…"), this);
  m_notes->setToolTip(tr("The selected run's notes and tags"));
  m_delete = new QPushButton(tr("Delete…"), this);
  m_sweepButton = new QPushButton(tr("S&weep…"), this);
  m_ensembleButton = new QPushButton(tr("&Ensemble"), this);
  m_ensembleButton->setToolTip(
      tr("The selected classification runs' class probabilities averaged on their test "
         "split, scored beside each run"));
  m_exportButton = new QPushButton(tr("E&xport…"), this);
  m_exportButton->setObjectName(QStringLiteral("ExportButton"));
  m_exportButton->setToolTip(tr("The selected run's model as a Hugging Face folder, a PEFT adapter or "
                                "tunebench's layout, checked against the run before it is written"));
  m_sweepButton->setToolTip(
      tr("Parallel coordinates, scatter and importance of the selected runs, or of a selected "
         "plan's runs"));
  m_clone->setObjectName(QStringLiteral("CloneButton"));
  m_rerun->setObjectName(QStringLiteral("RerunButton"));
  // The filter on a row of its own, the actions under it: the window stays narrow enough.
  auto *filterRow = new QHBoxLayout;
  filterRow->addWidget(m_filter, 1);
  filterRow->addWidget(m_refresh);
  layout->addLayout(filterRow);
  for (QPushButton *b : {m_compare, m_sweepButton, m_ensembleButton, m_exportButton, m_clone, m_rerun,
                         m_resume, m_notes, m_archive, m_delete})
    bar->addWidget(b);
  bar->addStretch(1);
  layout->addLayout(bar);

  auto *split = new QSplitter(Qt::Vertical, this);
  m_runs = new QTableWidget(0, static_cast<int>(kColumns.size()), split);
  m_runs->setObjectName(QStringLiteral("RunsTable"));
  m_runs->setHorizontalHeaderLabels(kColumns);
  m_runs->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_runs->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_runs->setSortingEnabled(true);
  // Interactive, sized once after each fill: ResizeToContents re-measures every row on every
  // setItem, which is quadratic in the number of runs.
  m_runs->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
  m_runs->horizontalHeader()->setStretchLastSection(true);
  m_runs->verticalHeader()->hide();
  addCsvExport(m_runs);
  m_groups = new RunGroupsPanel(split);
  auto *lower = new QSplitter(Qt::Horizontal, split);
  lower->addWidget(createComparisonPane(lower));
  m_curves = new CurvesView(lower);
  lower->setStretchFactor(0, 2);
  lower->setStretchFactor(1, 3);
  lower->setSizes({440, 640});
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 1);
  split->setStretchFactor(2, 3);
  layout->addWidget(split, 1);
}

// Under the groups, left of the curves: the significance lines, "Differences only" and the diff.
QWidget *HistoryView::createComparisonPane(QWidget *parent)
{
  auto *left = new QWidget(parent);
  auto *leftLayout = new QVBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  m_significance = new QLabel(left);
  m_significance->setObjectName(QStringLiteral("Significance"));
  m_significance->setWordWrap(true);
  m_significance->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_significance->setVisible(false);
  m_diffOnly = new QCheckBox(tr("Differences only"), left);
  m_diffOnly->setChecked(true);
  m_diffOnly->setToolTip(tr("Show only the config keys whose values differ between the compared runs"));
  m_diff = new QTableWidget(0, 0, left);
  m_diff->setObjectName(QStringLiteral("ConfigDiff"));
  m_diff->setEditTriggers(QAbstractItemView::NoEditTriggers);
  addCsvExport(m_diff);
  leftLayout->addWidget(m_significance);
  leftLayout->addWidget(m_diffOnly);
  leftLayout->addWidget(m_diff, 1);
  return left;
}

void HistoryView::connectButtons()
{
  connect(m_refresh, &QToolButton::clicked, this, &HistoryView::refresh);
  connect(m_groups, &RunGroupsPanel::groupsSelected, this, &HistoryView::showGroups);
  connect(m_diffOnly, &QCheckBox::toggled, this, [this] {
    if (!m_compared.empty())
      compare(m_compared);
  });
  connect(m_sweepButton, &QPushButton::clicked, this, [this] { showSweep(selectedIds()); });
  connect(m_ensembleButton, &QPushButton::clicked, this, [this] {
    if (selectedIds().size() < 2)
      QMessageBox::information(this, tr("Ensemble"),
                               tr("Select two or more classification runs of the same data."));
    else
      ensemble(selectedIds());
  });
  connect(m_exportButton, &QPushButton::clicked, this, [this] {
    if (selectedIds().size() != 1)
      QMessageBox::information(this, tr("Export"), tr("Select one finished run."));
    else
      exportRun(selectedIds().front());
  });
  connect(m_filter, &QLineEdit::returnPressed, this, &HistoryView::refresh);
  connect(m_compare, &QPushButton::clicked, this, [this] {
    const auto ids = selectedIds();
    if (ids.size() < 2) {
      QMessageBox::information(this, tr("Compare runs"), tr("Select two or more runs."));
      return;
    }
    compare(ids);
  });
  connect(m_resume, &QPushButton::clicked, this, [this] {
    const auto ids = selectedIds();
    if (ids.size() != 1)
      return;
    RunStore &store = this->store();
    Q_EMIT resumeRequested(QString::fromStdString(store.run(ids.front()).folder));
  });
  for (QPushButton *b : {m_clone, m_rerun})
    connect(b, &QPushButton::clicked, this, [this, b] {
      const auto ids = selectedIds();
      if (ids.size() != 1) {
        QMessageBox::information(this, tr("Run history"), tr("Select one run."));
        return;
      }
      const QString yaml = configOf(ids.front());
      if (!yaml.isEmpty())
        Q_EMIT configRequested(yaml, b == m_rerun);
    });
  connect(m_notes, &QPushButton::clicked, this, &HistoryView::editNotes);
  connect(m_delete, &QPushButton::clicked, this, &HistoryView::deleteSelected);
  connect(m_archive, &QPushButton::clicked, this, [this] {
    RunStore &store = this->store();
    for (std::int64_t id : selectedIds())
      store.setArchived(id, true);
    refresh();
  });
}

// The selected run's notes and tags in a dialog.
void HistoryView::editNotes()
{
  const auto ids = selectedIds();
  if (ids.size() != 1)
    return;
  RunStore &store = this->store();
  const RunRecord r = store.run(ids.front());
  QDialog dialog(this);
  dialog.setWindowTitle(tr("Run %1: notes and tags").arg(r.id));
  auto *form = new QFormLayout(&dialog);
  QStringList tags;
  for (const std::string &t : r.tags)
    tags << QString::fromStdString(t);
  auto *tagEdit = new QLineEdit(tags.join(QStringLiteral(", ")), &dialog);
  tagEdit->setPlaceholderText(tr("comma-separated, e.g. baseline, lora"));
  auto *notes = new QPlainTextEdit(QString::fromStdString(r.notes), &dialog);
  form->addRow(tr("Tags:"), tagEdit);
  form->addRow(tr("Notes:"), notes);
  auto *buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, &dialog);
  form->addRow(buttons);
  connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  if (dialog.exec() == QDialog::Accepted) {
    QStringList list;
    for (const QString &t : tagEdit->text().split(QLatin1Char(','), Qt::SkipEmptyParts))
      list << t.trimmed();
    setNotesAndTags(r.id, notes->toPlainText(), list);
  }
}

// The selected runs removed from the history with their folders, once confirmed.
void HistoryView::deleteSelected()
{
  const auto ids = selectedIds();
  if (ids.empty())
    return;
  if (QMessageBox::question(this, tr("Delete runs"),
                            tr("Delete %n run(s) from the history and their folders (checkpoints included)?",
                               "", static_cast<int>(ids.size()))) != QMessageBox::Yes)
    return;
  try {
    RunStore &store = this->store();
    for (std::int64_t id : ids)
      store.remove(id, true);
  } catch (const Error &e) {
    QMessageBox::warning(this, tr("Delete runs"), QString::fromUtf8(e.what()));
  }
  refresh();
}

void HistoryView::setWorkspace(const QString &workspace, RunStore *store)
{
  m_workspace = workspace;
  m_store = store;
  m_curves->setStore(store);
  refresh();
}

RunStore &HistoryView::store() const
{
  if (!m_store)
    throw Error((m_workspace + QStringLiteral(": the run history cannot be opened")).toStdString());
  return *m_store;
}

std::vector<std::int64_t> HistoryView::selectedIds() const
{
  std::set<int> rows;
  for (const QModelIndex &i : m_runs->selectionModel()->selectedRows())
    rows.insert(i.row());
  std::vector<std::int64_t> out;
  for (int r : rows)
    out.push_back(static_cast<std::int64_t>(m_runs->item(r, 0)->data(Qt::UserRole).toDouble()));
  return out;
}

void HistoryView::refresh()
{
  if (m_workspace.isEmpty())
    return;
  try {
    RunStore &store = this->store();
    RunQuery q;
    for (const QString &f : m_filter->text().split(QLatin1Char(' '), Qt::SkipEmptyParts))
      q.filters.push_back(RunFilter::parse(f.toStdString()));
    const auto list = store.list(q);
    m_groups->setRuns(&store, list);
    const auto strategies = store.configValues("strategy.name");
    const auto rates = store.configValues("training.learning_rate");
    const auto processes = store.configValues("training.distributed.processes");
    const auto backends = store.configValues("training.distributed.backend");
    m_runs->setSortingEnabled(false);
    m_runs->setUpdatesEnabled(false);
    m_runs->setRowCount(static_cast<int>(list.size()));
    for (int row = 0; row < static_cast<int>(list.size()); ++row) {
      const RunRecord &r = list[static_cast<std::size_t>(row)];
      auto value = [&](const std::map<std::int64_t, std::string> &values) {
        const auto it = values.find(r.id);
        return it == values.end() ? QString() : QString::fromStdString(it->second);
      };
      auto summary = [&](const char *key) {
        const auto it = r.summary.find(key);
        return it == r.summary.end() ? std::nan("") : it->second;
      };
      m_runs->setItem(row, 0, new NumberItem(static_cast<double>(r.id), 0));
      m_runs->setItem(row, 1, new QTableWidgetItem(QString::fromStdString(r.name)));
      if (const double before = summary("forgetting.before"), after = summary("forgetting.after");
          std::isfinite(before))
        m_runs->item(row, 1)->setToolTip(tr("forgetting: reference loss %1 → %2 (%3%)")
                                             .arg(before, 0, 'f', 4)
                                             .arg(after, 0, 'f', 4)
                                             .arg(100.0 * (after - before) / before, 0, 'f', 1));
      m_runs->setItem(row, 2, new QTableWidgetItem(QString::fromStdString(r.status)));
      QString statusTip = QString::fromStdString(r.reason);
      if (const QString world = value(processes); !world.isEmpty() && world != QStringLiteral("1"))
        statusTip += tr("\ndata parallel: %1 processes (%2)").arg(world, value(backends));
      m_runs->item(row, 2)->setToolTip(statusTip);
      m_runs->setItem(row, 3, new QTableWidgetItem(value(strategies)));
      m_runs->setItem(row, 4, new QTableWidgetItem(value(rates)));
      m_runs->setItem(row, 5, new NumberItem(summary("test.accuracy"), 4));
      m_runs->setItem(row, 6, new NumberItem(summary("test.macro_f1"), 4));
      m_runs->setItem(row, 7, new NumberItem(r.duration, 0));
      m_runs->setItem(row, 8, new QTableWidgetItem(QString::fromStdString(r.created)));
      QStringList tags;
      for (const std::string &t : r.tags)
        tags << QString::fromStdString(t);
      m_runs->setItem(row, 9, new QTableWidgetItem(tags.join(QStringLiteral(", "))));
      m_runs->setItem(row, 10, new QTableWidgetItem(QString::fromStdString(r.notes).section(QLatin1Char('\n'), 0, 0)));
      m_runs->item(row, 10)->setToolTip(QString::fromStdString(r.notes));
    }
    m_runs->setSortingEnabled(true);
    m_runs->resizeColumnsToContents(); // measures at most 1,000 rows (the header's precision)
    m_runs->setUpdatesEnabled(true);
  } catch (const Error &e) {
    m_runs->setUpdatesEnabled(true);
    QMessageBox::warning(this, tr("Run history"), QString::fromUtf8(e.what()));
  }
}

QString HistoryView::configOf(std::int64_t run) const
{
  try {
    RunStore &store = this->store();
    const QString stored = QString::fromStdString(store.configYaml(run));
    if (!stored.isEmpty() && parseExperimentConfig(stored.toStdString(), m_workspace.toStdString()).ok())
      return stored;
    QFile resolved(QString::fromStdString(store.run(run).folder) + QStringLiteral("/config.yaml"));
    if (resolved.open(QIODevice::ReadOnly))
      return QString::fromUtf8(resolved.readAll());
    return stored;
  } catch (const Error &e) {
    QMessageBox::warning(const_cast<HistoryView *>(this), tr("Run history"), QString::fromUtf8(e.what()));
    return {};
  }
}

void HistoryView::selectRun(std::int64_t run)
{
  for (int r = 0; r < m_runs->rowCount(); ++r)
    if (static_cast<std::int64_t>(m_runs->item(r, 0)->data(Qt::UserRole).toDouble()) == run)
      m_runs->selectRow(r);
}

void HistoryView::setNotesAndTags(std::int64_t run, const QString &notes, const QStringList &tags)
{
  try {
    RunStore &store = this->store();
    store.setNotes(run, notes.toStdString());
    std::vector<std::string> list;
    for (const QString &t : tags)
      list.push_back(t.toStdString());
    store.setTags(run, list);
  } catch (const Error &e) {
    QMessageBox::warning(this, tr("Run history"), QString::fromUtf8(e.what()));
  }
  refresh();
}

int HistoryView::overlaySeries() const
{
  return m_curves->lineCount();
}

} // namespace tunebench
