#pragma once

#include <QWidget>

#include <cstdint>
#include <vector>

class QCheckBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;
class QToolButton;

namespace tunebench {

class CurvesView;
class EnsembleDialog;
class ExportDialog;
class SweepView;
class RunGroupsPanel;
class RunStore;

// The run history of the workspace (runs.sqlite): a sortable, filterable table of runs; select two
// or more to overlay their curves and see the config diff (only what differs); resume an
// interrupted run, clone or rerun a run's config, notes and tags, archive, delete.
class HistoryView final : public QWidget
{
  Q_OBJECT

public:
  explicit HistoryView(QWidget *parent = nullptr);
  // The workspace and its history (owned by the main window; null when it cannot be opened).
  void setWorkspace(const QString &workspace, RunStore *store);
  void refresh();
  void compare(const std::vector<std::int64_t> &runs);

  QTableWidget *runs() const { return m_runs; }
  QTableWidget *diff() const { return m_diff; }
  QCheckBox *diffOnly() const { return m_diffOnly; } // ticked: only the keys that differ
  QPushButton *compareButton() const { return m_compare; }
  QPushButton *resumeButton() const { return m_resume; }
  RunGroupsPanel *groups() const { return m_groups; }
  CurvesView *curves() const { return m_curves; }
  // B against A: two runs on their test rows (paired bootstrap, McNemar) or two groups paired by
  // seed or fold (paired t-test), one line per metric; or why it cannot be computed.
  QLabel *significance() const { return m_significance; }
  // The sweep views (parallel coordinates, scatter, importance) of these runs, or of a plan's
  // children when `runs` is its parent alone; in a window of their own.
  void showSweep(std::vector<std::int64_t> runs);
  SweepView *sweepView() const { return m_sweep; }
  QPushButton *sweepButton() const { return m_sweepButton; }
  // The selected runs' ensemble (averaged probabilities on their test split) beside its members.
  EnsembleDialog *ensemble(const std::vector<std::int64_t> &runs);
  // The Export dialog on one run (its model in a chosen format, verified).
  ExportDialog *exportRun(std::int64_t run);
  int overlaySeries() const;
  // A past run's config as the experiment to edit (clone) or to start again (rerun): the YAML it
  // was started with, or its folder's resolved config.yaml when that no longer resolves here.
  QString configOf(std::int64_t run) const;
  void selectRun(std::int64_t run);
  // Notes and tags of a run (the table's tags column shows them).
  void setNotesAndTags(std::int64_t run, const QString &notes, const QStringList &tags);

Q_SIGNALS:
  void resumeRequested(const QString &runDir);
  void configRequested(const QString &yaml, bool start);

private:
  void createWidgets();
  QWidget *createComparisonPane(QWidget *parent);
  void connectButtons();
  void editNotes();
  void deleteSelected();
  std::vector<std::int64_t> selectedIds() const;
  void showGroups(); // the selected group rows: curves, and two compared

  // The open history; throws Error when there is none.
  RunStore &store() const;

  QString m_workspace;
  RunStore *m_store = nullptr;
  QLineEdit *m_filter = nullptr;
  QTableWidget *m_runs = nullptr, *m_diff = nullptr;
  QToolButton *m_refresh = nullptr; // beside the filter, as small as its text
  QPushButton *m_compare = nullptr, *m_resume = nullptr, *m_archive = nullptr, *m_clone = nullptr,
              *m_rerun = nullptr, *m_notes = nullptr, *m_delete = nullptr, *m_sweepButton = nullptr,
              *m_ensembleButton = nullptr, *m_exportButton = nullptr;
  SweepView *m_sweep = nullptr; // in its own window, made when first shown
  RunGroupsPanel *m_groups = nullptr;
  CurvesView *m_curves = nullptr;
  QLabel *m_significance = nullptr;
  QCheckBox *m_diffOnly = nullptr;
  std::vector<std::int64_t> m_compared; // what the diff shows
};

} // namespace tunebench
