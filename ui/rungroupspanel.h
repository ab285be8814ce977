#pragma once

#include "core/runs/rungroups.h"
#include "core/runs/runstore.h"

#include <QWidget>

#include <vector>

class QCheckBox;
class QComboBox;
class QTableWidget;

namespace tunebench {

// History's grouping: runs that share a config key's value (or a parent: the folds, seeds and
// points of one plan) in one row each, with every test metric as mean ± std and the 95% confidence
// interval of the mean. Hidden while "Group by" is (none); the key is remembered between sessions.
class RunGroupsPanel final : public QWidget
{
  Q_OBJECT

public:
  explicit RunGroupsPanel(QWidget *parent = nullptr);

  // The runs the History lists (after its filter); regroups them.
  void setRuns(const RunStore *store, std::vector<RunRecord> runs);
  // "(none)", "parent" or a config key such as strategy.name.
  void setKey(const QString &key);
  QString key() const;
  QComboBox *keyBox() const { return m_key; }
  QTableWidget *table() const { return m_table; }
  // Unticked (default): the test metrics only; ticked: every summary metric (best, last, validation …).
  QCheckBox *allMetrics() const { return m_all; }
  // The groups whose rows are selected (in row order).
  std::vector<RunGroup> selectedGroups() const;

Q_SIGNALS:
  // The selection of group rows changed (History draws their curves; two: their comparison).
  void groupsSelected();

private:
  void regroup();

  const RunStore *m_store = nullptr;
  std::vector<RunRecord> m_runs;
  std::vector<RunGroup> m_groups; // as the table lists them
  QComboBox *m_key = nullptr;
  QCheckBox *m_all = nullptr;
  QTableWidget *m_table = nullptr;
};

} // namespace tunebench
