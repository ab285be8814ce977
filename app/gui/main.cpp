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

namespace {

// The command line's options (name, description, value name; none for a switch).
QList<QCommandLineOption> options()
{
  const auto option = [](const char *name, const char *description, const char *value = nullptr) {
    return value ? QCommandLineOption(QString::fromLatin1(name), QString::fromUtf8(description),
                                      QString::fromLatin1(value))
                 : QCommandLineOption(QString::fromLatin1(name), QString::fromUtf8(description));
  };
  return {
      option("workspace", "Workspace folder to open.", "dir"),
      option("threads", "Intra-op threads (default: all cores).", "n"),
      option("screenshot", "Save a PNG of the main window once it is shown, then quit.", "file"),
      option("screenshot-after", "Seconds to wait before the screenshot (default 0.8).", "seconds"),
      option("tab", "Open on a tab: start, experiment, monitor or history.", "name"),
      option("preset", "Load a preset into the Experiment tab.", "name"),
      option("set", "Override a key of the experiment (key=value; repeatable).", "key=value"),
      option("start", "Start the experiment at once."),
      option("compare-last", "Compare the N most recent runs in the History tab.", "n"),
      option("evaluate-last", "Evaluate the most recent finished run in the Evaluate tab (test split)."),
      option("playground", "With --evaluate-last: then predict this text in the playground.", "text"),
      option("open-data", "Open the experiment's data file in the Data tab."),
      option("import", "Import a data file: open the column-mapping dialog on it.", "file"),
      option("yaml-view", "Show the experiment as YAML (not as the form)."),
  };
}

tunebench::StartupOptions startupOptions(const QCommandLineParser &p)
{
  const auto value = [&](const char *name) { return p.value(QString::fromLatin1(name)); };
  const auto isSet = [&](const char *name) { return p.isSet(QString::fromLatin1(name)); };
  tunebench::StartupOptions o;
  o.preset = value("preset");
  o.overrides = p.values(QStringLiteral("set"));
  o.start = isSet("start");
  o.compareLast = value("compare-last").toInt();
  o.openData = isSet("open-data");
  o.yamlView = isSet("yaml-view");
  o.importFile = value("import");
  o.evaluateLast = isSet("evaluate-last");
  o.playground = value("playground");
  o.tab = value("tab");
  o.screenshot = value("screenshot");
  if (isSet("screenshot-after"))
    o.screenshotDelayMs = static_cast<int>(value("screenshot-after").toDouble() * 1000);
  return o;
}

// The runtime configured (threads from --threads or TUNEBENCH_THREADS); false after a message.
bool configureRuntime(const QCommandLineParser &p)
{
  try {
    tunebench::RuntimeOptions options = tunebench::runtimeOptionsFromEnvironment();
    if (p.isSet(QStringLiteral("threads"))) {
      bool ok = false;
      options.threads = p.value(QStringLiteral("threads")).toInt(&ok);
      if (!ok || options.threads < 1) {
        std::fprintf(stderr, "tunebench: --threads: expected a positive integer\n");
        return false;
      }
    }
    tunebench::configureRuntime(options);
    return true;
  } catch (const tunebench::Error &e) {
    std::fprintf(stderr, "tunebench: %s\n", e.what());
    return false;
  }
}

} // namespace

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
  parser.addOptions(options());
  parser.process(app);
  if (!configureRuntime(parser))
    return 2;

  const QString workspace = parser.isSet(QStringLiteral("workspace"))
                                ? parser.value(QStringLiteral("workspace"))
                                : QString::fromStdString(tunebench::defaultWorkspaceDir().string());
  tunebench::MainWindow window(workspace);
  window.show();
  window.applyStartup(startupOptions(parser));
  return QApplication::exec();
}
