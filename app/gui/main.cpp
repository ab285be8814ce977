// tunebench: the GUI entry point. Parses the command line, configures the runtime, opens the
// main window on the workspace.
#include "core/runtime/blascore.h"
#include "core/runtime/paths.h"
#include "core/runtime/runtime.h"
#include "core/util/error.h"
#include "core/runs/runstore.h"
#include "ui/columnmapping.h"
#include "ui/datasetview.h"
#include "ui/experimentview.h"
#include "ui/historyview.h"
#include "ui/evaluationview.h"
#include "ui/mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QPixmap>
#include <QTabWidget>
#include <QComboBox>
#include <QTimer>

#include <cstdio>
#include <cstring>

int main(int argc, char **argv)
{
  // Answered before any QApplication exists, so that `tunebench-cli --version` can ask without a
  // display.
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--qt-version") == 0) {
      std::printf("%s\n", qVersion());
      return 0;
    }
  }

  tunebench::reexecWithTunedRuntime(argv);
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("tunebench"));
  QApplication::setApplicationName(QStringLiteral("tunebench"));
  QApplication::setApplicationVersion(QStringLiteral(TUNEBENCH_APP_VERSION));

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Fine-tuning workbench"));
  parser.addHelpOption();
  parser.addVersionOption();
  const QCommandLineOption workspaceOption(QStringLiteral("workspace"),
                                           QStringLiteral("Workspace folder to open."),
                                           QStringLiteral("dir"));
  const QCommandLineOption threadsOption(QStringLiteral("threads"),
                                         QStringLiteral("Intra-op threads (default: all cores)."),
                                         QStringLiteral("n"));
  const QCommandLineOption screenshotOption(
      QStringLiteral("screenshot"),
      QStringLiteral("Save a PNG of the main window once it is shown, then quit."),
      QStringLiteral("file"));
  const QCommandLineOption afterOption(QStringLiteral("screenshot-after"),
                                      QStringLiteral("Seconds to wait before the screenshot (default 0.8)."),
                                      QStringLiteral("seconds"));
  const QCommandLineOption tabOption(QStringLiteral("tab"),
                                     QStringLiteral("Open on a tab: start, experiment, monitor or history."),
                                     QStringLiteral("name"));
  const QCommandLineOption presetOption(QStringLiteral("preset"),
                                        QStringLiteral("Load a preset into the Experiment tab."), QStringLiteral("name"));
  const QCommandLineOption setOption(QStringLiteral("set"),
                                     QStringLiteral("Override a key of the experiment (key=value; repeatable)."),
                                     QStringLiteral("key=value"));
  const QCommandLineOption startOption(QStringLiteral("start"), QStringLiteral("Start the experiment at once."));
  const QCommandLineOption compareOption(QStringLiteral("compare-last"),
                                         QStringLiteral("Compare the N most recent runs in the History tab."),
                                         QStringLiteral("n"));
  const QCommandLineOption evaluateOption(QStringLiteral("evaluate-last"),
                                          QStringLiteral("Evaluate the most recent finished run in the Evaluate tab "
                                                         "(test split)."));
  const QCommandLineOption playOption(QStringLiteral("playground"),
                                      QStringLiteral("With --evaluate-last: then predict this text in the playground."),
                                      QStringLiteral("text"));
  const QCommandLineOption dataOption(QStringLiteral("open-data"),
                                      QStringLiteral("Open the experiment's data file in the Data tab."));
  const QCommandLineOption importOption(QStringLiteral("import"),
                                        QStringLiteral("Import a data file: open the column-mapping dialog on it."),
                                        QStringLiteral("file"));
  const QCommandLineOption formOption(QStringLiteral("yaml-view"),
                                      QStringLiteral("Show the experiment as YAML (not as the form)."));
  parser.addOptions({workspaceOption, threadsOption, screenshotOption, afterOption, tabOption, presetOption, setOption,
                     startOption, compareOption, evaluateOption, playOption, dataOption, importOption, formOption});
  parser.process(app);

  try {
    tunebench::RuntimeOptions options = tunebench::runtimeOptionsFromEnvironment();
    if (parser.isSet(threadsOption)) {
      bool ok = false;
      options.threads = parser.value(threadsOption).toInt(&ok);
      if (!ok || options.threads < 1) {
        std::fprintf(stderr, "tunebench: --threads: expected a positive integer\n");
        return 2;
      }
    }
    tunebench::configureRuntime(options);
  } catch (const tunebench::Error &e) {
    std::fprintf(stderr, "tunebench: %s\n", e.what());
    return 2;
  }

  const QString workspace = parser.isSet(workspaceOption)
                                ? parser.value(workspaceOption)
                                : QString::fromStdString(tunebench::defaultWorkspaceDir().string());
  tunebench::MainWindow window(workspace);
  window.show();
  if (parser.isSet(presetOption))
    window.experiment()->loadPreset(parser.value(presetOption));
  for (const QString &kv : parser.values(setOption)) {
    const qsizetype eq = kv.indexOf(QLatin1Char('='));
    if (eq > 0)
      window.experiment()->setOverride(kv.left(eq), kv.mid(eq + 1));
  }
  if (parser.isSet(startOption)) {
    const QStringList problems = window.startExperiment();
    for (const QString &p : problems)
      std::fprintf(stderr, "tunebench: %s\n", qPrintable(p));
  }
  if (parser.isSet(compareOption)) {
    tunebench::RunStore store(workspace.toStdString());
    tunebench::RunQuery q;
    q.limit = parser.value(compareOption).toInt();
    std::vector<std::int64_t> ids;
    for (const auto &r : store.list(q))
      ids.insert(ids.begin(), r.id);
    if (ids.size() >= 2)
      window.history()->compare(ids);
  }
  if (parser.isSet(dataOption))
    window.openExperimentData();
  if (parser.isSet(formOption))
    window.experiment()->editors()->setCurrentIndex(1);
  tunebench::ColumnMappingDialog *importDialog = nullptr;
  if (parser.isSet(importOption)) {
    const QString importFile = parser.value(importOption);
    importDialog = new tunebench::ColumnMappingDialog(importFile, QStringLiteral("single_label"), &window);
    QObject::connect(importDialog, &QDialog::accepted, importDialog, [&window, importDialog, importFile] {
      window.tabs()->setCurrentWidget(window.data());
      window.data()->open(importFile, importDialog->kind(), {}, 128, importDialog->columns());
      if (importDialog->useInExperiment())
        Q_EMIT window.data()->useInExperiment(importFile, importDialog->kind(), importDialog->columns());
    });
    importDialog->open();
  }
  if (parser.isSet(evaluateOption)) {
    tunebench::EvaluationView *view = window.evaluation();
    if (view->runsBox()->count() > 0) {
      const QString text = parser.value(playOption);
      if (!text.isEmpty())
        QObject::connect(view, &tunebench::EvaluationView::evaluated, view, [view, text](bool ok) {
          if (ok)
            view->predict(text);
        });
      view->evaluate(view->runsBox()->itemData(0).toString(), QStringLiteral("test"));
    }
  }
  if (parser.isSet(tabOption)) {
    const QString tab = parser.value(tabOption).toLower();
    for (int i = 0; i < window.tabs()->count(); ++i)
      if (window.tabs()->tabText(i).remove(QLatin1Char('&')).toLower() == tab)
        window.tabs()->setCurrentIndex(i);
  }

  if (parser.isSet(screenshotOption)) {
    const QString file = parser.value(screenshotOption);
    const int delay = parser.isSet(afterOption) ? static_cast<int>(parser.value(afterOption).toDouble() * 1000) : 800;
    QTimer::singleShot(delay, &window, [&window, file, importDialog] {
      QWidget *target = importDialog && importDialog->isVisible() ? static_cast<QWidget *>(importDialog) : &window;
      const bool saved = target->grab().save(file, "PNG");
      std::fprintf(saved ? stdout : stderr, "%s %s\n", saved ? "saved" : "cannot save",
                   qPrintable(file));
      QApplication::exit(saved ? 0 : 1);
    });
  }
  return QApplication::exec();
}
