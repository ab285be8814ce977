#pragma once

#include "ui/background.h"

#include <QDialog>

#include <cstdint>
#include <filesystem>
#include <vector>

class QLabel;
class QTableWidget;

namespace tunebench {

// An ensemble of runs selected in History: their test-split class probabilities averaged
// (core/experiments/ensemble.h, on a worker thread), its metrics in a table beside each member's.
class EnsembleDialog final : public QDialog
{
  Q_OBJECT

public:
  explicit EnsembleDialog(QWidget *parent = nullptr);
  ~EnsembleDialog() override;
  // runs: (id, folder) of each member.
  void start(const std::vector<std::pair<std::int64_t, std::filesystem::path>> &runs);
  QTableWidget *table() const { return m_table; }
  QLabel *status() const { return m_status; }

Q_SIGNALS:
  void done(bool ok);

private:
  QTableWidget *m_table = nullptr;
  QLabel *m_status = nullptr;
  BackgroundSlot m_thread;
};

} // namespace tunebench
