#pragma once

#include <QMainWindow>
#include <QString>
#include <QStringList>

#include <memory>
#include <utility>
#include <vector>

class QLabel;
class QTabWidget;

namespace tunebench {

class EnvironmentView;
class AssetsPanel;
class ExperimentView;
class HistoryView;
class DatasetView;
class EvaluationView;
class MonitorView;
class TrainingSession;
class RunStore;

// What the command line asks the window to do once it is shown (app/gui/main.cpp fills it;
// MainWindow::applyStartup does it, in this order).
struct StartupOptions
{
  QString preset;            // loaded into the Experiment tab
  QStringList overrides;     // key=value, set in the experiment
  bool start = false;        // start the experiment at once
  int compareLast = 0;       // compare the N most recent runs in History (N >= 2)
  bool openData = false;     // the experiment's data in the Data tab
  bool yamlView = false;     // the experiment as YAML
  QString importFile;        // the column-mapping dialog on this data file
  bool evaluateLast = false; // the most recent finished run evaluated on its test split
  QString playground;        // with evaluateLast: then this text predicted
  QString tab;               // open on this tab (its title, case-insensitive)
  QString screenshot;        // a PNG of the window (or the import dialog) saved, then quit
  int screenshotDelayMs = 800;
};

// The workbench window: menus, the view tabs, the status bar. It owns its views; the layout
// (geometry and dock/tab state) is remembered between sessions through QSettings.
class MainWindow final : public QMainWindow
{
  Q_OBJECT

public:
  explicit MainWindow(const QString &workspaceDir, QWidget *parent = nullptr);
  ~MainWindow() override;

  QString workspaceDir() const { return m_workspaceDir; }
  QTabWidget *tabs() const { return m_tabs; }
  ExperimentView *experiment() const { return m_experiment; }
  MonitorView *monitor() const { return m_monitor; }
  HistoryView *history() const { return m_history; }
  EvaluationView *evaluation() const { return m_evaluation; }
  DatasetView *data() const { return m_data; }
  TrainingSession *session() const { return m_session; }
  // The workspace's run history (null when it cannot be opened).
  RunStore *store() const { return m_store.get(); }

  // Starts the experiment in the Experiment tab (what its Start button does). Returns the
  // problems that kept it from starting.
  QStringList startExperiment();
  // The Experiment tab's plan ("Run as" other than a single run) through the session's queue.
  QStringList startPlan();

  // Does what the command line asked (messages for problems go to stderr).
  void applyStartup(const StartupOptions &options);

  // Opens another workspace folder (creates it when missing). Returns false with a message shown
  // in the status bar when the folder cannot be used.
  bool openWorkspace(const QString &dir);

  // Opens the Experiment tab's data file in the Data tab (its task, model tokenizer, max length).
  bool openExperimentData();

  // File → Examples: the guide's case studies (name, title).
  static std::vector<std::pair<QString, QString>> exampleList();
  // Copies the example's experiments into ROOT/NAME (default: "examples" beside the workspace;
  // files already there are kept), opens that folder as the workspace and its first experiment in
  // the Experiment tab. Returns the folder, or "" when it cannot be used.
  QString openExample(const QString &name, const QString &root = {});

protected:
  void closeEvent(QCloseEvent *event) override;

private:
  void createMenus();
  void createStartPage();
  void createTrainingViews();
  void connectPlanQueue();
  void restoreLayout();
  void showAbout();

  QString m_workspaceDir;
  int m_planAtOnce = 1; // the running plan's runs at once (the Experiment tab's value at its start)
  // The workspace's run history, one connection for every view on the GUI thread (the training
  // worker records its run through a connection of its own).
  std::unique_ptr<RunStore> m_store;
  QTabWidget *m_tabs = nullptr;
  QLabel *m_workspaceLabel = nullptr;
  QLabel *m_statusRuntime = nullptr;
  EnvironmentView *m_environment = nullptr;
  AssetsPanel *m_assets = nullptr;
  ExperimentView *m_experiment = nullptr;
  MonitorView *m_monitor = nullptr;
  HistoryView *m_history = nullptr;
  EvaluationView *m_evaluation = nullptr;
  DatasetView *m_data = nullptr;
  TrainingSession *m_session = nullptr;
  QLabel *m_statusRun = nullptr;
};

} // namespace tunebench
