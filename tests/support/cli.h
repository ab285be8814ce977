#pragma once

// Running tunebench-cli from a test as a script would: its exit, whether it was killed, its output.

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace tunebench::testing {

struct CliResult
{
  int exitCode = -1;    // -1: it did not end in time
  bool crashed = false; // ended by a signal (kill -9, a fault point)
  QString out;
  QString err;
  // The last line of stdout as a JSON object (the commands' --json line).
  QJsonObject json() const
  {
    const QStringList lines = out.trimmed().split(QLatin1Char('\n'));
    return QJsonDocument::fromJson(lines.last().toUtf8()).object();
  }
};

// Runs `cli` with `args` in `env`; a process still running after timeoutMs is killed.
inline CliResult runCli(const QString &cli, const QStringList &args, const QProcessEnvironment &env,
                        int timeoutMs = 300000)
{
  QProcess p;
  p.setProcessEnvironment(env);
  p.start(cli, args);
  p.closeWriteChannel(); // a command that reads stdin sees its end, as under `< /dev/null`
  if (!p.waitForFinished(timeoutMs)) {
    p.kill();
    p.waitForFinished();
    return {};
  }
  return {p.exitCode(), p.exitStatus() == QProcess::CrashExit, QString::fromUtf8(p.readAllStandardOutput()),
          QString::fromUtf8(p.readAllStandardError())};
}

} // namespace tunebench::testing
