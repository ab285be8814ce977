#include "ui/mainwindow.h"

#include "core/config/experiment.h"
#include "core/runs/runstore.h"
#include "core/runtime/runtime.h"
#include "core/util/error.h"
#include "ui/assetspanel.h"
#include "ui/datasetview.h"
#include "ui/environmentview.h"
#include "ui/evaluationview.h"
#include "ui/experimentview.h"
#include "ui/historyview.h"
#include "ui/monitorview.h"
#include "ui/planpanel.h"
#include "ui/planqueue.h"
#include "ui/trainingsession.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

namespace tunebench {

namespace {
constexpr auto kGeometryKey = "mainwindow/geometry";
constexpr auto kStateKey = "mainwindow/state";
constexpr auto kTabKey = "mainwindow/tab";
} // namespace

MainWindow::MainWindow(const QString &workspaceDir, QWidget *parent)
  : QMainWindow(parent), m_tabs(new QTabWidget(this))
{
  setObjectName(QStringLiteral("MainWindow"));
  setWindowTitle(tr("tunebench"));
  m_tabs->setDocumentMode(true);
  setCentralWidget(m_tabs);
  createStartPage();
  createTrainingViews();
  createMenus();

  m_statusRun = new QLabel(this);
  statusBar()->addPermanentWidget(m_statusRun);
  m_statusRuntime = new QLabel(this);
  statusBar()->addPermanentWidget(m_statusRuntime);
  const RuntimeInfo info = runtimeInfo();
  m_environment->setInfo(info, QString::fromLatin1(qVersion()));
  m_statusRuntime->setText(tr("%1 threads · %2%3")
                               .arg(info.intraOpThreads)
                               .arg(QString::fromStdString(info.blas.name))
                               .arg(info.cpuBf16 ? tr(" · bf16") : QString()));
  openWorkspace(workspaceDir);
  restoreLayout();
}

MainWindow::~MainWindow() = default;

void MainWindow::createStartPage()
{
  auto *page = new QWidget(m_tabs);
  page->setObjectName(QStringLiteral("StartPage"));
  auto *layout = new QVBoxLayout(page);
  auto *title = new QLabel(tr("<h2>tunebench</h2><p>Fine-tune pre-trained NLP models on this "
                              "workstation, watch over-fitting as it happens, and compare runs.</p>"),
                           page);
  title->setWordWrap(true);
  m_workspaceLabel = new QLabel(page);
  m_workspaceLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto *envTitle = new QLabel(tr("<b>This machine</b>"), page);
  m_environment = new EnvironmentView(page);
  m_assets = new AssetsPanel(page);
  layout->addWidget(title);
  layout->addWidget(m_workspaceLabel);
  layout->addWidget(m_assets);
  layout->addSpacing(8);
  layout->addWidget(envTitle);
  layout->addWidget(m_environment, 1);
  m_tabs->addTab(page, tr("Start"));
}

void MainWindow::createTrainingViews()
{
  m_session = new TrainingSession(this);
  m_data = new DatasetView(m_tabs);
  m_tabs->addTab(m_data, tr("Data"));
  m_experiment = new ExperimentView(m_tabs);
  m_monitor = new MonitorView(m_tabs);
  m_history = new HistoryView(m_tabs);
  m_evaluation = new EvaluationView(m_tabs);
  m_tabs->addTab(m_experiment, tr("Experiment"));
  m_tabs->addTab(m_monitor, tr("Monitor"));
  m_tabs->addTab(m_history, tr("History"));
  m_tabs->addTab(m_evaluation, tr("Evaluate"));

  connect(m_data, &DatasetView::experimentDataRequested, this, &MainWindow::openExperimentData);
  connect(m_data, &DatasetView::useInExperiment, this,
          [this](const QString &file, const QString &kind, const QMap<QString, QString> &columns) {
            QStringList pairs;
            for (auto it = columns.begin(); it != columns.end(); ++it)
              pairs << QStringLiteral("%1: \"%2\"").arg(it.key(), QString(it.value()).replace(QLatin1Char('"'), QStringLiteral("\\\"")));
            m_experiment->setOverride(QStringLiteral("data.path"), QStringLiteral("\"%1\"").arg(file));
            m_experiment->setOverride(QStringLiteral("task.kind"), kind);
            m_experiment->setOverride(QStringLiteral("data.columns"), QStringLiteral("{%1}").arg(pairs.join(QStringLiteral(", "))));
            statusBar()->showMessage(tr("The experiment now reads %1").arg(file), 8000);
          });
  connect(m_data, &DatasetView::versionSaved, this, [this](const QString &file) {
    statusBar()->showMessage(tr("Saved a new dataset version: %1 (set it as data.path to train on it)").arg(file), 10000);
  });
  connect(m_experiment, &ExperimentView::startRequested, this, [this] {
    const QStringList problems = startExperiment();
    if (!problems.isEmpty())
      statusBar()->showMessage(tr("The experiment has %1 problem(s): see the list").arg(problems.size()), 8000);
  });
  connect(m_experiment, &ExperimentView::pauseRequested, m_session, &TrainingSession::setPaused);
  connect(m_experiment, &ExperimentView::stopRequested, m_session, &TrainingSession::stop);
  connect(m_session, &TrainingSession::steps, this, [this](const std::vector<StepEvent> &batch) {
    m_monitor->addSteps(batch);
    const StepEvent &last = batch.back();
    m_statusRun->setText(tr("training: step %1 of %2").arg(last.step).arg(last.totalSteps));
  });
  connect(m_session, &TrainingSession::planned, m_monitor, &MonitorView::setPlan);
  connect(m_session, &TrainingSession::evaluation, m_monitor, &MonitorView::addEvaluation);
  connect(m_session, &TrainingSession::diagnosis, m_monitor, &MonitorView::addDiagnosis);
  connect(m_session, &TrainingSession::logLine, this, [this](const QString &line) { statusBar()->showMessage(line, 5000); });
  connect(m_session, &TrainingSession::finished, this, [this](const QString &status, const QString &reason) {
    m_monitor->setFinished(status, reason);
    if (!m_monitor->planQueue()->isHidden()) // a plan's end, whichever tab is shown
      m_monitor->planQueue()->setFinished(status, reason);
    m_experiment->setRunning(false);
    m_statusRun->setText(tr("last run: %1").arg(status));
    m_history->refresh();
    m_evaluation->refreshRuns();
  });
  connectPlanQueue();
  connect(m_history, &HistoryView::configRequested, this, [this](const QString &yaml, bool start) {
    m_experiment->setYaml(yaml);
    m_tabs->setCurrentWidget(m_experiment);
    if (start)
      startExperiment();
    else
      statusBar()->showMessage(tr("The run's config is in the Experiment tab: edit it and start"), 8000);
  });
  connect(m_history, &HistoryView::resumeRequested, this, [this](const QString &runDir) {
    const QStringList problems = m_session->resume(runDir, m_workspaceDir);
    if (!problems.isEmpty()) {
      statusBar()->showMessage(problems.front(), 8000);
      return;
    }
    m_monitor->planQueue()->setVisible(false);
    m_monitor->reset(tr("<b>Resumed:</b> %1").arg(runDir.toHtmlEscaped()), m_session->selectionMetric());
    m_experiment->setRunning(true);
    m_tabs->setCurrentWidget(m_monitor);
  });
}

// A plan's children in the Monitor's queue (and the Monitor reset for each).
void MainWindow::connectPlanQueue()
{
  connect(m_session, &TrainingSession::childStarted, this, [this](int index, const QString &runDir) {
    PlanQueue *queue = m_monitor->planQueue();
    queue->setStatus(index, QStringLiteral("running"));
    const int atOnce = m_planAtOnce;
    m_monitor->reset(atOnce > 1 ? tr("<b>%1 runs at once</b>, each a tunebench-cli process: their curves are "
                                     "in History as they train")
                                      .arg(atOnce)
                                : tr("<b>%1</b> — %2")
                                      .arg(queue->table()->item(index, 0)->text().toHtmlEscaped(),
                                           QDir(m_workspaceDir).relativeFilePath(runDir).toHtmlEscaped()),
                     m_session->selectionMetric());
  });
  connect(m_session, &TrainingSession::childFinished, this,
          [this](int index, const QString &status, const QString &reason) {
            m_monitor->planQueue()->setStatus(index, status, reason);
            m_history->refresh();
          });
  connect(m_monitor->planQueue(), &PlanQueue::skipRequested, m_session, &TrainingSession::skip);
}

bool MainWindow::openExperimentData()
{
  const ConfigResult r = parseExperimentConfig(m_experiment->yaml().toStdString(), m_workspaceDir.toStdString());
  if (r.config.data.path.empty()) {
    statusBar()->showMessage(tr("The experiment names no data file (data.path)"), 8000);
    return false;
  }
  const ExperimentConfig &c = r.config;
  const QString kind = c.isDenoising() ? QStringLiteral("causal_lm")
                       : c.isSeq2Seq() ? QStringLiteral("instruction") // source → target pairs
                                       : QString::fromStdString(c.task.kind);
  m_data->openExperiment(c, kind); // the rows, labels and splits the run will train on
  m_tabs->setCurrentWidget(m_data);
  return true;
}

QStringList MainWindow::startExperiment()
{
  QStringList problems = m_experiment->validate(m_workspaceDir);
  if (!problems.isEmpty())
    return problems;
  if (m_experiment->planPanel()->kind() != PlanPanel::Single)
    return startPlan();
  m_monitor->planQueue()->setVisible(false);
  const ExperimentConfig &config = m_experiment->parsed(m_workspaceDir)->config; // the one parse
  problems = m_session->start(config, m_workspaceDir);
  if (!problems.isEmpty())
    return problems;
  m_monitor->reset(tr("<b>%1</b> — %2")
                       .arg(QString::fromStdString(config.name).toHtmlEscaped(),
                            QDir(m_workspaceDir).relativeFilePath(m_session->runDir()).toHtmlEscaped()),
                   QString::fromStdString(config.selectionMetric()));
  m_experiment->setRunning(true);
  m_tabs->setCurrentWidget(m_monitor);
  return {};
}

QStringList MainWindow::startPlan()
{
  ExperimentSource source;
  source.yaml = m_experiment->yaml().toStdString();
  source.baseDir = m_workspaceDir.toStdString();
  source.name = "the Experiment tab";
  QString runs = QDir(m_workspaceDir).filePath(QStringLiteral("runs"));
  runs.replace(QLatin1Char('\\'), QStringLiteral("\\\\")).replace(QLatin1Char('"'), QStringLiteral("\\\""));
  source.overrides = {"output.runs=\"" + runs.toStdString() + "\""};
  ExperimentPlan plan;
  try {
    plan = m_experiment->planPanel()->plan(source);
  } catch (const Error &e) {
    m_experiment->problems()->clear();
    m_experiment->problems()->addItem(tr("The plan cannot start: %1").arg(QString::fromUtf8(e.what())));
    return {QString::fromUtf8(e.what())};
  }
  m_monitor->planQueue()->setPlan(plan);
  const QString title = QString::fromStdString(plan.parent.name);
  const QString metric = QString::fromStdString(plan.parent.selectionMetric());
  m_planAtOnce = m_experiment->planPanel()->workers()->value();
  QStringList problems = m_session->startPlan(std::move(plan), m_workspaceDir, m_planAtOnce);
  if (!problems.isEmpty()) {
    m_monitor->planQueue()->setVisible(false);
    return problems;
  }
  m_monitor->reset(tr("<b>%1</b> — %2")
                       .arg(title.toHtmlEscaped(),
                            QDir(m_workspaceDir).relativeFilePath(m_session->runDir()).toHtmlEscaped()),
                   metric);
  m_experiment->setRunning(true);
  m_tabs->setCurrentWidget(m_monitor);
  return {};
}

void MainWindow::createMenus()
{
  QMenu *file = menuBar()->addMenu(tr("&File"));
  QAction *open = file->addAction(tr("&Open Workspace…"), this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open Workspace"), m_workspaceDir);
    if (!dir.isEmpty())
      openWorkspace(dir);
  });
  open->setShortcut(QKeySequence::Open);
  QMenu *examples = file->addMenu(tr("&Examples"));
  for (const auto &[name, title] : exampleList())
    examples->addAction(title, this, [this, name = name] {
      const QString dir = openExample(name);
      if (!dir.isEmpty())
        statusBar()->showMessage(tr("Example workspace %1: its experiments are in that folder (Load… opens the next "
                                    "one)").arg(dir), 15000);
    });
  file->addSeparator();
  QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  QMenu *run = menuBar()->addMenu(tr("&Run"));
  QAction *start = run->addAction(tr("&Start"), m_experiment, &ExperimentView::startRequested);
  start->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
  QAction *check = run->addAction(tr("&Quick check"), m_experiment, &ExperimentView::quickCheck);
  check->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_K));
  QAction *stop = run->addAction(tr("S&top"), m_session, &TrainingSession::stop);
  stop->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));

  // Ctrl+1 … Ctrl+6: the tabs.
  QMenu *view = menuBar()->addMenu(tr("&View"));
  for (int i = 0; i < m_tabs->count(); ++i) {
    QAction *a = view->addAction(m_tabs->tabText(i).remove(QLatin1Char('&')), this, [this, i] { m_tabs->setCurrentIndex(i); });
    a->setShortcut(QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)));
  }

  QMenu *help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About tunebench"), this, &MainWindow::showAbout);
  help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

std::vector<std::pair<QString, QString>> MainWindow::exampleList()
{
  return {{QStringLiteral("sentiment-full-vs-lora"), tr("Sentiment: full fine-tuning vs LoRA (USE-Lite)")},
          {QStringLiteral("pos-tagging-lora"), tr("POS tagging with LoRA: parameters against quality (WSJ)")},
          {QStringLiteral("gpt2-instructions"), tr("Instruction fine-tuning of a small GPT-2 (WordNet, quiz)")}};
}

QString MainWindow::openExample(const QString &name, const QString &root)
{
  // The example's experiments are copied (never overwritten) into a workspace of its own.
  const QString base = root.isEmpty() ? QFileInfo(m_workspaceDir).absolutePath() + QStringLiteral("/examples") : root;
  const QString dir = base + QLatin1Char('/') + name;
  const QDir source(QStringLiteral(":/examples/") + name);
  const QStringList files = source.entryList({QStringLiteral("*.yaml")}, QDir::Files, QDir::Name);
  if (files.isEmpty() || !QDir().mkpath(dir)) {
    statusBar()->showMessage(tr("Cannot open the example %1 in %2").arg(name, dir), 8000);
    return {};
  }
  for (const QString &f : files)
    if (!QFile::exists(dir + QLatin1Char('/') + f)) {
      QFile::copy(source.filePath(f), dir + QLatin1Char('/') + f);
      QFile(dir + QLatin1Char('/') + f).setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadGroup |
                                                      QFileDevice::ReadOther);
    }
  if (!openWorkspace(dir))
    return {};
  QFile first(dir + QLatin1Char('/') + files.front());
  if (first.open(QIODevice::ReadOnly))
    m_experiment->setYaml(QString::fromUtf8(first.readAll()));
  m_tabs->setCurrentWidget(m_experiment);
  return dir;
}

bool MainWindow::openWorkspace(const QString &dir)
{
  QDir workspace(dir);
  if (!workspace.exists() && !QDir().mkpath(dir)) {
    statusBar()->showMessage(tr("Cannot create the workspace folder %1").arg(dir));
    return false;
  }
  m_workspaceDir = workspace.absolutePath();
  m_workspaceLabel->setText(tr("Workspace: <code>%1</code>").arg(m_workspaceDir.toHtmlEscaped()));
  m_store.reset();
  try {
    m_store = std::make_unique<RunStore>(m_workspaceDir.toStdString());
  } catch (const std::exception &e) {
    // A read-only workspace still shows its history.
    try {
      m_store = std::make_unique<RunStore>(m_workspaceDir.toStdString(), RunStore::Access::ReadOnly);
    } catch (const std::exception &) {
    }
    statusBar()->showMessage(tr("The run history: %1").arg(QString::fromUtf8(e.what())), 10000);
  }
  if (m_experiment)
    m_experiment->setBaseDir(m_workspaceDir);
  if (m_history)
    m_history->setWorkspace(m_workspaceDir, m_store.get());
  if (m_evaluation)
    m_evaluation->setWorkspace(m_workspaceDir, m_store.get());
  if (m_data)
    m_data->setVersionsDir(QDir(m_workspaceDir).filePath(QStringLiteral("datasets")));
  setWindowTitle(tr("tunebench — %1").arg(QDir(m_workspaceDir).dirName()));
  QSettings().setValue(QStringLiteral("workspace/last"), m_workspaceDir);
  return true;
}

void MainWindow::restoreLayout()
{
  QSettings settings;
  if (!restoreGeometry(settings.value(kGeometryKey).toByteArray()))
    resize(1100, 720);
  restoreState(settings.value(kStateKey).toByteArray());
  m_tabs->setCurrentIndex(settings.value(kTabKey, 0).toInt());
}

void MainWindow::closeEvent(QCloseEvent *event)
{
  QSettings settings;
  settings.setValue(kGeometryKey, saveGeometry());
  settings.setValue(kStateKey, saveState());
  settings.setValue(kTabKey, m_tabs->currentIndex());
  event->accept();
}

void MainWindow::showAbout()
{
  const RuntimeInfo info = runtimeInfo();
  QMessageBox::about(this, tr("About tunebench"),
                     tr("<h3>tunebench %1</h3><p>A workbench for fine-tuning pre-trained NLP models.</p>"
                        "<p>Qt %2 · LibTorch %3</p>")
                         .arg(QString::fromStdString(info.tunebenchVersion), QString::fromLatin1(qVersion()),
                              QString::fromStdString(info.torchVersion)));
}

} // namespace tunebench
