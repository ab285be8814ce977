#pragma once

#include <QWidget>

#include <cstdint>
#include <vector>

class QChart;
class QChartView;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace tunebench {

// The run history of the workspace (runs.sqlite): a sortable, filterable table of runs; select two
// or more to overlay their curves and see the config diff (only what differs); resume an
// interrupted run, archive, delete.
class HistoryView final : public QWidget
{
  Q_OBJECT

public:
  explicit HistoryView(QWidget *parent = nullptr);
  void setWorkspace(const QString &workspace);
  void refresh();
  void compare(const std::vector<std::int64_t> &runs);

  QTableWidget *runs() const { return m_runs; }
  QTableWidget *diff() const { return m_diff; }
  QPushButton *compareButton() const { return m_compare; }
  int overlaySeries() const;

Q_SIGNALS:
  void resumeRequested(const QString &runDir);

private:
  std::vector<std::int64_t> selectedIds() const;

  QString m_workspace;
  QLineEdit *m_filter = nullptr;
  QTableWidget *m_runs = nullptr, *m_diff = nullptr;
  QPushButton *m_compare = nullptr, *m_resume = nullptr, *m_archive = nullptr, *m_refresh = nullptr;
  QChart *m_chart = nullptr;
  QChartView *m_chartView = nullptr;
};

} // namespace tunebench
