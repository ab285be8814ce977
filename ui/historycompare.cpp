#include "core/eval/groupcomparison.h"
#include "core/eval/pairedcomparison.h"
#include "core/runs/rungroups.h"
#include "core/runs/runstore.h"
#include "core/util/error.h"
#include "ui/curvesview.h"
#include "ui/ensembledialog.h"
#include "ui/exportdialog.h"
#include "ui/historyitems.h"
#include "ui/historyview.h"
#include "ui/rungroupspanel.h"
#include "ui/sweepview.h"

#include <QCheckBox>
#include <QLabel>
#include <QMessageBox>
#include <QTableWidget>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

// History's comparisons: runs side by side (config diff, summaries, curves, significance), groups
// (mean curves and their paired comparison), the sweep views and ensembles.
namespace tunebench {

void HistoryView::compare(const std::vector<std::int64_t> &ids)
{
  RunStore &store = this->store();
  m_compared = ids;
  RunComparison c = store.compare(ids);
  if (!m_diffOnly->isChecked()) { // every key, the same ones too
    std::vector<std::map<std::string, std::string>> configs;
    std::set<std::string> keys;
    for (std::int64_t id : ids) {
      configs.push_back(store.config(id));
      for (const auto &[k, v] : configs.back())
        keys.insert(k);
    }
    c.configDiff.clear();
    for (const std::string &k : keys) {
      std::vector<std::string> values;
      for (const auto &cfg : configs)
        values.push_back(cfg.count(k) ? cfg.at(k) : std::string());
      c.configDiff.emplace_back(k, values);
    }
  }
  m_diff->clear();
  m_diff->setColumnCount(static_cast<int>(ids.size()));
  QStringList headers;
  for (std::int64_t id : ids)
    headers << tr("run %1").arg(id);
  m_diff->setHorizontalHeaderLabels(headers);
  QStringList rows;
  int row = 0;
  m_diff->setRowCount(static_cast<int>(c.configDiff.size() + c.summary.size()));
  for (const auto &[key, values] : c.configDiff) {
    rows << QString::fromStdString(key);
    for (std::size_t i = 0; i < values.size(); ++i)
      m_diff->setItem(
          row, static_cast<int>(i),
          new QTableWidgetItem(values[i].empty() ? tr("(unset)") : QString::fromStdString(values[i])));
    ++row;
  }
  for (const auto &[key, values] : c.summary) {
    rows << QString::fromStdString(key);
    for (std::size_t i = 0; i < values.size(); ++i)
      m_diff->setItem(row, static_cast<int>(i), new NumberItem(values[i], -1));
    ++row;
  }
  m_diff->setVerticalHeaderLabels(rows);
  m_diff->resizeColumnsToContents();

  m_curves->showRuns(ids);
  QStringList lines;
  if (ids.size() == 2) {
    try {
      const RunPairComparison p = compareOnTestRows(store.run(ids[0]).folder, store.run(ids[1]).folder);
      lines << tr("run %1 (B) against run %2 (A), %3 test rows:").arg(ids[1]).arg(ids[0]).arg(p.rows);
      for (const std::string &l : describeComparison(p))
        lines << QString::fromStdString(l);
    } catch (const Error &e) {
      lines << tr("No significance: %1").arg(QString::fromUtf8(e.what()));
    }
  }
  m_significance->setText(lines.join(QLatin1Char('\n')));
  m_significance->setVisible(!lines.isEmpty());
}

void HistoryView::showGroups()
{
  const std::vector<RunGroup> groups = m_groups->selectedGroups();
  if (groups.empty() || !m_store)
    return;
  std::vector<std::pair<QString, std::vector<std::int64_t>>> shown;
  for (const RunGroup &g : groups)
    shown.push_back({QString::fromStdString(g.value), g.runs});
  m_curves->showGroups(shown);
  QStringList lines;
  if (groups.size() == 2) {
    // Paired by position: each group's runs in the order they were made (a plan's seeds and folds).
    auto folders = [this](std::vector<std::int64_t> ids) {
      std::sort(ids.begin(), ids.end());
      std::vector<std::filesystem::path> out;
      for (std::int64_t id : ids)
        out.push_back(m_store->run(id).folder);
      return out;
    };
    try {
      lines << tr("%1 (B) against %2 (A), paired by seed or fold:")
                   .arg(QString::fromStdString(groups[1].value), QString::fromStdString(groups[0].value));
      for (const std::string &l :
           describeGroupComparison(compareGroups(folders(groups[0].runs), folders(groups[1].runs))))
        lines << QString::fromStdString(l);
    } catch (const Error &e) {
      lines << tr("No significance: %1").arg(QString::fromUtf8(e.what()));
    }
  }
  m_significance->setText(lines.join(QLatin1Char('\n')));
  m_significance->setVisible(!lines.isEmpty());
}

void HistoryView::showSweep(std::vector<std::int64_t> runs)
{
  if (!m_store || runs.empty())
    return;
  if (runs.size() == 1) { // a plan: its children
    const std::int64_t parent = runs.front();
    runs.clear();
    for (const RunRecord &r : m_store->list({}))
      if (r.parent == parent)
        runs.push_back(r.id);
    std::sort(runs.begin(), runs.end());
  }
  if (runs.size() < 2) {
    QMessageBox::information(this, tr("Sweep view"),
                             tr("Select a plan (a sweep, seeds or folds) or two or more runs."));
    return;
  }
  if (!m_sweep) {
    m_sweep = new SweepView(this);
    m_sweep->setWindowFlag(Qt::Window);
    m_sweep->resize(900, 560);
  }
  m_sweep->setWindowTitle(tr("Sweep view: %n run(s)", "", static_cast<int>(runs.size())));
  m_sweep->setRuns(m_store, runs);
  m_sweep->show();
  m_sweep->raise();
}

ExportDialog *HistoryView::exportRun(std::int64_t run)
{
  auto *dialog = new ExportDialog(QString::fromStdString(store().run(run).folder), this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  dialog->show();
  return dialog;
}

EnsembleDialog *HistoryView::ensemble(const std::vector<std::int64_t> &runs)
{
  std::vector<std::pair<std::int64_t, std::filesystem::path>> members;
  for (std::int64_t id : runs)
    members.emplace_back(id, store().run(id).folder);
  auto *dialog = new EnsembleDialog(this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  dialog->start(members);
  dialog->show();
  return dialog;
}

} // namespace tunebench
