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

// tunebench(1): the man page, from the same option list the command line parses.
void printManPage()
{
  const auto roff = [](QString text) {
    return text.replace(QLatin1Char('\\'), QStringLiteral("\\e"))
        .replace(QLatin1Char('-'), QStringLiteral("\\-"));
  };
  std::printf(".TH TUNEBENCH 1 \"\" \"tunebench %s\" \"User Commands\"\n.SH NAME\n"
              "tunebench \\- desktop workbench for fine\\-tuning pre\\-trained NLP models\n"
              ".SH SYNOPSIS\n.B tunebench\n[\\fIoptions\\fR]\n.SH DESCRIPTION\n"
              "Opens the workbench on a workspace: experiments edited as a form or YAML, training with live "
              "charts, the history of every run, evaluation and comparison. "
              "\\fBtunebench\\-cli\\fR(1) runs the same experiment files without a display.\n.SH OPTIONS\n",
              TUNEBENCH_APP_VERSION);
  QList<QCommandLineOption> all = options();
  all.prepend(
      QCommandLineOption({QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show the options.")));
  all.prepend(QCommandLineOption({QStringLiteral("v"), QStringLiteral("version")},
                                 QStringLiteral("Show the version.")));
  for (const QCommandLineOption &o : all) {
    QStringList names;
    for (const QString &n : o.names())
      names << QStringLiteral("\\fB%1\\fR")
                   .arg(roff((n.size() == 1 ? QStringLiteral("-") : QStringLiteral("--")) + n));
    const QString value =
        o.valueName().isEmpty() ? QString() : QStringLiteral(" \\fI%1\\fR").arg(roff(o.valueName()));
    std::printf(".TP\n%s%s\n%s\n", names.join(QStringLiteral(", ")).toUtf8().constData(),
                value.toUtf8().constData(), roff(o.description()).toUtf8().constData());
  }
  std::printf(
      ".SH ENVIRONMENT\n.TP\n.B TUNEBENCH_WORKSPACE\nThe workspace opened when \\fB\\-\\-workspace\\fR "
      "is not given; default \\fI$XDG_DATA_HOME/tunebench/workspace\\fR.\n.TP\n.B TUNEBENCH_ASSETS\n"
      "The fetched models, tokenizers and data; default \\fI$XDG_DATA_HOME/tunebench/assets\\fR. "
      "The Start tab offers to fetch them when they are missing.\n.TP\n.B TUNEBENCH_THREADS\n"
      "Intra\\-op threads.\n.SH SEE ALSO\n\\fBtunebench\\-cli\\fR(1)\n");
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
    if (std::strcmp(argv[i], "--man") == 0) {
      printManPage();
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
