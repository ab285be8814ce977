#pragma once

#include "ui/background.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace tunebench {

// Export of a run's model (History's and the Evaluate tab's Export…): a format (core/export: hf,
// merged, peft, tunebench; the ones the run's strategy cannot leave in are greyed out with the
// reason) and a folder; the export runs on a worker thread with its steps shown, then the
// verification's numbers (rows checked, max |logit difference|, label agreement, loss and accuracy
// of export and run) and whether it passed, or the reason it failed.
class ExportDialog final : public QDialog
{
  Q_OBJECT

public:
  explicit ExportDialog(const QString &runDir, QWidget *parent = nullptr);
  ~ExportDialog() override;
  void start();
  QComboBox *format() const { return m_format; }
  QCheckBox *int8() const { return m_int8; }
  QLineEdit *folder() const { return m_folder; }
  QLabel *status() const { return m_status; }
  QTableWidget *verification() const { return m_table; }

Q_SIGNALS:
  void done(bool ok);

private:
  void offerFormats();
  void showVerification(const QString &json);
  QString m_runDir;
  QComboBox *m_format = nullptr;
  QCheckBox *m_int8 = nullptr;
  QLineEdit *m_folder = nullptr;
  QLabel *m_status = nullptr, *m_help = nullptr;
  QProgressBar *m_progress = nullptr;
  QPushButton *m_export = nullptr;
  QTableWidget *m_table = nullptr;
  BackgroundSlot m_thread;
};

} // namespace tunebench
