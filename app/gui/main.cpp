// tunebench: the GUI entry point. Parses the command line, configures the runtime, opens the
// main window on the workspace.
#include "core/runtime/blascore.h"
#include "core/runtime/paths.h"
#include "core/runtime/runtime.h"
#include "core/util/error.h"
#include "ui/mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>

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
  tunebench::StartupOptions startup;
  startup.preset = parser.value(presetOption);
  startup.overrides = parser.values(setOption);
  startup.start = parser.isSet(startOption);
  startup.compareLast = parser.value(compareOption).toInt();
  startup.openData = parser.isSet(dataOption);
  startup.yamlView = parser.isSet(formOption);
  startup.importFile = parser.value(importOption);
  startup.evaluateLast = parser.isSet(evaluateOption);
  startup.playground = parser.value(playOption);
  startup.tab = parser.value(tabOption);
  startup.screenshot = parser.value(screenshotOption);
  if (parser.isSet(afterOption))
    startup.screenshotDelayMs = static_cast<int>(parser.value(afterOption).toDouble() * 1000);

  tunebench::MainWindow window(workspace);
  window.show();
  window.applyStartup(startup);
  return QApplication::exec();
}
