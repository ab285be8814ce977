#pragma once

#include <QWidget>

class QTreeWidget;

namespace tunebench {

struct RuntimeInfo;

// Read-only view of what this process runs with (libraries, BLAS, threads, bf16, CUDA), so a user
// sees at a glance whether the machine is set up to train fast.
class EnvironmentView final : public QWidget
{
  Q_OBJECT

public:
  explicit EnvironmentView(QWidget *parent = nullptr);

  void setInfo(const RuntimeInfo &info, const QString &qtVersion);
  QTreeWidget *tree() const { return m_tree; }

private:
  QTreeWidget *m_tree = nullptr;
};

} // namespace tunebench
