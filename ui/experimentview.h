#pragma once

#include <QWidget>

class QComboBox;
class QListWidget;
class QPlainTextEdit;
class QPushButton;
class QLabel;

namespace tunebench {

class EstimatePanel;

// The experiment as YAML (a preset to start from, load/save), checked as you go: every problem
// with its line, column and valid range. Start, pause and stop drive the TrainingSession.
class ExperimentView final : public QWidget
{
  Q_OBJECT

public:
  explicit ExperimentView(QWidget *parent = nullptr);

  QString yaml() const;
  void setYaml(const QString &yaml);
  void loadPreset(const QString &name); // a file of resources/presets (":/presets/NAME.yaml")
  // Returns the problems of the current text ("" when valid); shows them in the list.
  QStringList validate(const QString &baseDir);
  void setRunning(bool running, bool paused = false);
  void setOverride(const QString &dottedKey, const QString &value); // edits the YAML text

  QPushButton *startButton() const { return m_start; }
  QPushButton *pauseButton() const { return m_pause; }
  QPushButton *stopButton() const { return m_stop; }
  QListWidget *problems() const { return m_problems; }
  EstimatePanel *estimate() const { return m_estimate; }
  // Where relative paths of the experiment start (the workspace): the estimate reads from there.
  void setBaseDir(const QString &dir);

Q_SIGNALS:
  void startRequested();
  void pauseRequested(bool paused);
  void stopRequested();

private:
  QComboBox *m_presets = nullptr;
  QPlainTextEdit *m_editor = nullptr;
  QListWidget *m_problems = nullptr;
  QPushButton *m_start = nullptr, *m_pause = nullptr, *m_stop = nullptr;
  QLabel *m_hint = nullptr;
  EstimatePanel *m_estimate = nullptr;
  QString m_baseDir;
};

} // namespace tunebench
