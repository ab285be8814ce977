#pragma once

#include <QWidget>

class QLabel;
class QPlainTextEdit;
class QProcess;
class QPushButton;

namespace tunebench {

// On the Start tab while the models and data are missing: says where they are looked for and
// fetches them with `tunebench-cli fetch-assets` (its output shown as it runs). Hidden once the
// folder holds what the default experiment needs.
class AssetsPanel final : public QWidget
{
  Q_OBJECT

public:
  explicit AssetsPanel(QWidget *parent = nullptr);
  ~AssetsPanel() override;

  // Re-checks the assets folder; shows or hides the panel. True when the assets are present.
  bool refresh();
  QPushButton *fetchButton() const { return m_fetch; }

Q_SIGNALS:
  void assetsReady();

private:
  void fetch();
  void finished(int exitCode);

  QLabel *m_message = nullptr;
  QPushButton *m_fetch = nullptr;
  QPlainTextEdit *m_log = nullptr;
  QProcess *m_process = nullptr;
};

} // namespace tunebench
