// Data-parallel runs interrupted (Gloo, 127.0.0.1 only): kill -9 of rank 1 stops rank 0 within the
// timeout naming rank 1, a resume with another world size is refused and `resume` ends as the
// uninterrupted run does; a pause of rank 0 holds
// both ranks past the timeout and the run then ends as the uninterrupted one.
#include "support/rankruns.h"

#include <QElapsedTimer>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QtTest/QtTest>

#include <csignal>

class TestRankFaults : public QObject, tunebench::testing::RankRuns
{
  Q_OBJECT

  // The interrupted runs' settings: dropout on, an evaluation every 10 steps, 2 epochs of batch 16.
  static QStringList interruptedSettings()
  {
    return {QStringLiteral("training.dropout=0.1"), QStringLiteral("evaluation.every_steps=10"),
            QStringLiteral("training.batch_size=16"), QStringLiteral("training.epochs=2")};
  }

  // The same 2-rank run left alone (made once, for the kill and the pause tests).
  QString uninterrupted()
  {
    const QString whole = path(QStringLiteral("uninterrupted"));
    if (!QFile::exists(whole + QStringLiteral("/results.json"))) {
      const Result r = run(
          withSettings({QStringLiteral("train"), writeConfig(QStringLiteral("interrupted")),
                        QStringLiteral("--nproc"), QStringLiteral("2"), QStringLiteral("--run-dir"), whole},
                       interruptedSettings()));
      if (r.exitCode != 0)
        qWarning("%s", qPrintable(r.err));
    }
    return whole;
  }

  // A run's test metric and its step losses equal those of the uninterrupted run.
  void compareWithUninterrupted(const QString &run)
  {
    const QJsonObject a = results(uninterrupted()), b = results(run);
    QCOMPARE(a.value(QStringLiteral("status")).toString(), QStringLiteral("finished"));
    QCOMPARE(b.value(QStringLiteral("status")).toString(), a.value(QStringLiteral("status")).toString());
    QCOMPARE(b.value(QStringLiteral("steps")).toInt(), a.value(QStringLiteral("steps")).toInt());
    QCOMPARE(testMetric(b, "accuracy"), testMetric(a, "accuracy"));
    QVERIFY(std::abs(testMetric(b, "loss") - testMetric(a, "loss")) < 1e-9);
    const QList<QJsonObject> x = tunebench::testing::runEvents(uninterrupted(), QStringLiteral("step")),
                             y = tunebench::testing::runEvents(run, QStringLiteral("step"));
    QCOMPARE(y.size(), x.size());
    for (int i = 0; i < x.size(); ++i)
      QVERIFY(std::abs(x[i].value(QStringLiteral("loss")).toDouble() -
                       y[i].value(QStringLiteral("loss")).toDouble()) < 1e-9);
  }

  // Starts the interrupted runs' 2-rank training in `p` and waits until rank 0 logged `step` steps;
  // returns the ranks' pids.
  QStringList startAndWaitForStep(QProcess &p, const QString &runDir, int step, const QStringList &more = {})
  {
    p.setProcessEnvironment(env());
    p.start(m_cli, withSettings({QStringLiteral("train"), writeConfig(QStringLiteral("interrupted")),
                                 QStringLiteral("--nproc"), QStringLiteral("2"), QStringLiteral("--run-dir"),
                                 runDir},
                                interruptedSettings() + more));
    if (!p.waitForStarted())
      return {};
    QElapsedTimer timer;
    timer.start();
    while (steps(runDir) < step && p.state() == QProcess::Running && timer.elapsed() < 300000)
      QTest::qWait(10);
    const QString started = QString::fromUtf8(p.readAllStandardError());
    const QRegularExpressionMatch pids =
        QRegularExpression(QStringLiteral("pids (\\d+), (\\d+)")).match(started);
    return p.state() == QProcess::Running && pids.hasMatch() ? QStringList{pids.captured(1), pids.captured(2)}
                                                             : QStringList{};
  }

private Q_SLOTS:
  void initTestCase()
  {
    const QString problem = prepare();
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
  }

  // kill -9 of rank 1 mid-epoch: rank 0 stops within the timeout naming rank 1 and the run is
  // interrupted; a resume with 3 processes is refused; `resume` (2, as trained) ends with the
  // uninterrupted run's metrics. Dropout on: each rank's own masks are saved and restored.
  void killedRankStopsTheRunAndResumes()
  {
    const QString cut = path(QStringLiteral("kill-cut"));
    QVERIFY(QFile::exists(uninterrupted() + QStringLiteral("/results.json")));
    QProcess p;
    const QStringList pids = startAndWaitForStep(p, cut, 15);
    QVERIFY2(pids.size() == 2, "the run ended before it could be interrupted");
    QVERIFY(::kill(static_cast<pid_t>(pids[1].toLongLong()), SIGKILL) == 0);
    QElapsedTimer stopping;
    stopping.start();
    QVERIFY(p.waitForFinished(120000));
    QVERIFY2(stopping.elapsed() < 60000,
             qPrintable(QStringLiteral("rank 0 took %1 ms").arg(stopping.elapsed())));
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QCOMPARE(p.exitCode(), 130);
    QVERIFY2(err.contains(QStringLiteral("rank 1 stopped answering")), qPrintable(err));
    QVERIFY2(
        err.contains(QStringLiteral("rank 1 (pid ") + pids[1] + QStringLiteral(") was killed by signal 9")),
        qPrintable(err));
    QCOMPARE(results(cut).value(QStringLiteral("status")).toString(), QStringLiteral("interrupted"));

    const Result other = run({QStringLiteral("resume"), cut, QStringLiteral("--nproc"), QStringLiteral("3")});
    QCOMPARE(other.exitCode, 3);
    QVERIFY2(other.err.contains(QStringLiteral("trained by 2 process(es)")), qPrintable(other.err));

    const Result resumed = run({QStringLiteral("resume"), cut, QStringLiteral("--quiet")});
    QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
    compareWithUninterrupted(cut);
  }

  // Pausing rank 0 (what the workbench's Pause does to the rank it trains; SIGUSR1 from the command
  // line) holds every rank between steps for longer than the collective timeout (5 s here) without
  // either taking the other for dead; going on (SIGUSR2) ends as the uninterrupted run.
  void pauseHoldsEveryRank()
  {
    const QString held = path(QStringLiteral("paused"));
    QVERIFY(QFile::exists(uninterrupted() + QStringLiteral("/results.json")));
    QProcess p;
    const QStringList pids =
        startAndWaitForStep(p, held, 8, {QStringLiteral("training.distributed.timeout=5")});
    QVERIFY2(pids.size() == 2, "the run ended before it could be paused");
    QVERIFY(::kill(static_cast<pid_t>(pids[0].toLongLong()), SIGUSR1) == 0);
    QTest::qWait(3000); // a step under way ends
    const qint64 at = steps(held);
    QTest::qWait(8000);
    QCOMPARE(steps(held), at);
    QCOMPARE(p.state(), QProcess::Running);
    for (const QString &pid : pids)
      QVERIFY2(::kill(static_cast<pid_t>(pid.toLongLong()), 0) == 0, qPrintable(pid));
    QVERIFY(::kill(static_cast<pid_t>(pids[0].toLongLong()), SIGUSR2) == 0);
    QVERIFY(p.waitForFinished(300000));
    QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
    QVERIFY(steps(held) > at);
    compareWithUninterrupted(held);
  }
};

QTEST_GUILESS_MAIN(TestRankFaults)
#include "tst_rankfaults.moc"
