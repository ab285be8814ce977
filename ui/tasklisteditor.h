#pragma once

#include "core/config/experiment.h"

#include <QWidget>

#include <vector>

class QPushButton;
class QTableWidget;

namespace tunebench {

// The experiment form's multi-task list (multitask.tasks): one row per auxiliary task — name, kind,
// data file, columns ("role: column, …"), tag scheme, subset rows, loss weight — with Add and
// Remove. Each edit is reported as the list in YAML flow style; the config checks it like any field.
class TaskListEditor final : public QWidget
{
  Q_OBJECT

public:
  explicit TaskListEditor(QWidget *parent = nullptr);

  void setTasks(const std::vector<ExperimentConfig::AuxiliaryTask> &tasks);
  // The rows as a YAML flow sequence of maps ("[]" when there are none).
  QString yamlValue() const;
  QTableWidget *table() const { return m_table; }
  QPushButton *addButton() const { return m_add; }
  QPushButton *removeButton() const { return m_remove; }

Q_SIGNALS:
  void edited();

private:
  QTableWidget *m_table = nullptr;
  QPushButton *m_add = nullptr, *m_remove = nullptr;
  bool m_filling = false;
};

} // namespace tunebench
