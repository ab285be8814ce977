#pragma once

#include <QWidget>

class QLabel;
class QPushButton;
class QTableWidget;

namespace tunebench {

struct ExperimentPlan;

// A running plan's queue in the Monitor: every child with its status (queued, running, finished,
// skipped …); Skip leaves out the selected queued child or stops the running one (resumable) and
// the plan goes on; Pause and Stop of the Experiment tab act on the whole plan. Hidden for single runs.
class PlanQueue final : public QWidget
{
  Q_OBJECT

public:
  explicit PlanQueue(QWidget *parent = nullptr);

  void setPlan(const ExperimentPlan &plan);
  void setStatus(int index, const QString &status, const QString &tooltip = {});
  QString status(int index) const;
  // "3 of 20 done" and the plan's own end.
  void setFinished(const QString &status, const QString &reason);
  QTableWidget *table() const { return m_table; }
  QPushButton *skipButton() const { return m_skip; }
  QLabel *header() const { return m_header; } // "Plan: 3 of 20 runs done" and the plan's end

Q_SIGNALS:
  void skipRequested(int index);

private:
  void updateHeader();

  QLabel *m_header = nullptr;
  QTableWidget *m_table = nullptr;
  QPushButton *m_skip = nullptr;
};

} // namespace tunebench
