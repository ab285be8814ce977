#pragma once

#include "core/config/experiment.h"
#include "ui/background.h"

#include <QPointer>
#include <QWidget>

class QComboBox;
class QListWidget;
class QPlainTextEdit;
class QPushButton;
class QLabel;
class QThread;
class QTabWidget;
class QTimer;

class QHBoxLayout;
class QSplitter;

#include <memory>

namespace tunebench {

class EstimatePanel;
class ExperimentForm;
class PlanPanel;

// The experiment as a form and as YAML (a preset to start from, load/save), checked as you go:
// every problem with its line, column and valid range, beside its field in the form. The YAML is
// the experiment; the form edits it key by key. Start, pause and stop drive the TrainingSession.
class ExperimentView final : public QWidget
{
  Q_OBJECT

public:
  explicit ExperimentView(QWidget *parent = nullptr);
  ~ExperimentView() override; // waits for a quick check in progress

  QString yaml() const;
  void setYaml(const QString &yaml);
  void loadPreset(const QString &name); // a file of resources/presets (":/presets/NAME.yaml")
  // Returns the problems of the current text ("" when valid); shows them in the list.
  QStringList validate(const QString &baseDir);
  // The experiment as parsed from the YAML now (relative paths from baseDir): parsed once per edit
  // and shared by the form, the problems list, the estimate, Start and the monitor.
  std::shared_ptr<const ConfigResult> parsed(const QString &baseDir) const;
  // How many times the view has parsed its YAML (a test checks it is once per edit).
  int parses() const { return m_parses; }
  void setRunning(bool running, bool paused = false);
  void setOverride(const QString &dottedKey, const QString &value); // edits the YAML text

  QPushButton *startButton() const { return m_start; }
  QPushButton *pauseButton() const { return m_pause; }
  QPushButton *stopButton() const { return m_stop; }
  QPushButton *quickCheckButton() const { return m_quick; }
  // The sanity checks on a worker thread (one batch over-fits; a short run on a subset finishes);
  // the findings go to the problems list and quickChecked.
  void quickCheck();
  QListWidget *problems() const { return m_problems; }
  EstimatePanel *estimate() const { return m_estimate; }
  ExperimentForm *form() const { return m_form; }
  PlanPanel *planPanel() const { return m_planPanel; } // "Run as": one run or a plan
  QTabWidget *editors() const { return m_editors; } // Form | YAML
  // Where relative paths of the experiment start (the workspace): the estimate reads from there.
  void setBaseDir(const QString &dir);

Q_SIGNALS:
  void startRequested();
  void pauseRequested(bool paused);
  void stopRequested();
  void quickChecked(bool ok, const QString &findings);

private:
  QStringList showProblems(const ConfigResult &r);
  QHBoxLayout *createPresetBar();
  QSplitter *createEditors();
  QHBoxLayout *createButtons();
  QComboBox *m_presets = nullptr;
  QPlainTextEdit *m_editor = nullptr;
  QListWidget *m_problems = nullptr;
  QPushButton *m_start = nullptr, *m_pause = nullptr, *m_stop = nullptr, *m_quick = nullptr;
  BackgroundSlot m_quickThread;
  QLabel *m_hint = nullptr;
  EstimatePanel *m_estimate = nullptr;
  ExperimentForm *m_form = nullptr;
  PlanPanel *m_planPanel = nullptr;
  QTabWidget *m_editors = nullptr;
  QTimer *m_formTimer = nullptr;
  mutable std::shared_ptr<const ConfigResult> m_parsed;
  mutable QString m_parsedYaml, m_parsedBase;
  mutable int m_parses = 0;
  QString m_baseDir;
};

} // namespace tunebench
