// tunebench: the GUI entry point. Parses the command line, configures the runtime, opens the
// main window on the workspace.
#include "core/runtime/blascore.h"
#include "core/runtime/paths.h"
#include "core/runtime/runtime.h"
#include "core/util/error.h"
#include "ui/mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QPixmap>
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

  tunebench::reexecWithBetterBlasCore(argv);
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
  parser.addOptions({workspaceOption, threadsOption, screenshotOption});
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

  if (parser.isSet(screenshotOption)) {
    const QString file = parser.value(screenshotOption);
    QTimer::singleShot(800, &window, [&window, file] {
      const bool saved = window.grab().save(file, "PNG");
      std::fprintf(saved ? stdout : stderr, "%s %s\n", saved ? "saved" : "cannot save",
                   qPrintable(file));
      QApplication::exit(saved ? 0 : 1);
    });
  }
  return QApplication::exec();
}
