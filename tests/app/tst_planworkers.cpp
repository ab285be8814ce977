// `cv` and `sweep --workers N`: a plan's children as N concurrent single-process runs. The same
// folds give the same results as one after the other (threads held equal); the children run at
// once, are filed under the plan in the history, stop together on Ctrl-C and continue; a child
// that cannot start fails the plan with its own message.
#include "support/cli.h"
#include "support/golden.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest/QtTest>

#include <csignal>

class TestPlanWorkers : public QObject
{
  Q_OBJECT

  using Result = tunebench::testing::CliResult;

  QString m_cli;
  QTemporaryDir m_dir;
  QString m_config;

  QProcessEnvironment env(int threads) const
  {
    QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
    e.insert(QStringLiteral("TUNEBENCH_ASSETS"), tunebench::testing::assetsDir());
    e.insert(QStringLiteral("TUNEBENCH_WORKSPACE"), m_dir.filePath(QStringLiteral("workspace")));
    e.insert(QStringLiteral("TUNEBENCH_THREADS"), QString::number(threads));
    return e;
  }

  Result run(const QStringList &args, int threads = 1)
  {
    return tunebench::testing::runCli(m_cli, args, env(threads), 300000);
  }

  QString path(const QString &name) const { return m_dir.filePath(name); }

  QStringList cvArgs(const QString &root, const QStringList &more = {}) const
  {
    return QStringList{QStringLiteral("cv"),        m_config, QStringLiteral("--folds"), QStringLiteral("3"),
                       QStringLiteral("--run-dir"), root} +
           more;
  }

  int m_rowsListed = 0; // the rows the last historyByFolder() listed

  // The history's rows by folder: {folder: {id, parent, status}}.
  QMap<QString, QJsonObject> historyByFolder()
  {
    const Result listed = run(
        {QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--json"), QStringLiteral("--all")});
    QMap<QString, QJsonObject> rows;
    const QJsonArray all = QJsonDocument::fromJson(listed.out.toUtf8()).array();
    for (const QJsonValue &v : all)
      rows.insert(QDir::cleanPath(v.toObject().value(QLatin1String("folder")).toString()), v.toObject());
    m_rowsListed = static_cast<int>(all.size());
    return rows;
  }

private Q_SLOTS:
  void initTestCase()
  {
    m_cli = qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli");
    QVERIFY2(QFileInfo::exists(m_cli), qPrintable(m_cli));
    m_config = path(QStringLiteral("small.yaml"));
    QFile f(m_config);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("name: small\nseed: 42\n"
            "model: {path: $ASSETS/models/use-lite}\n"
            "data:\n  path: $ASSETS/data/sentiment/pang-lee-sentences.csv\n  subset_rows: 150\n"
            "training: {epochs: 1, batch_size: 16, learning_rate: 1.0e-4}\n"
            "evaluation: {every_steps: 6, metric: accuracy, early_stopping: {patience: 0}}\n");
  }

  // Three folds one after the other (1 thread) and two at a time (2 threads split: 1 each): the
  // same test metrics fold by fold; the second fold starts before the first ends; every fold
  // filed under the plan's row.
  void sameFoldsAtOnce()
  {
    const Result serial =
        run(cvArgs(path(QStringLiteral("serial")), {QStringLiteral("--quiet"), QStringLiteral("--json")}));
    QVERIFY2(serial.exitCode == 0, qPrintable(serial.err));
    const QString root = path(QStringLiteral("workers"));
    const Result parallel =
        run(cvArgs(root, {QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--json")}), 2);
    QVERIFY2(parallel.exitCode == 0, qPrintable(parallel.err));
    const QJsonArray a = serial.json().value(QLatin1String("runs")).toArray();
    const QJsonArray b = parallel.json().value(QLatin1String("runs")).toArray();
    QCOMPARE(a.size(), 3);
    QCOMPARE(b.size(), 3);
    for (int k = 0; k < 3; ++k) {
      const QJsonObject x = a[k].toObject().value(QLatin1String("test")).toObject();
      const QJsonObject y = b[k].toObject().value(QLatin1String("test")).toObject();
      QVERIFY(x.contains(QLatin1String("accuracy")));
      for (const QString &metric : x.keys())
        QVERIFY2(std::abs(x.value(metric).toDouble() - y.value(metric).toDouble()) < 1e-6,
                 qPrintable(QStringLiteral("fold %1 %2: %3 vs %4")
                                .arg(k + 1)
                                .arg(metric)
                                .arg(x.value(metric).toDouble())
                                .arg(y.value(metric).toDouble())));
    }
    // Progress: "fold 2/3: DIR" (started) comes before the first "  fold N/3: finished".
    const qsizetype secondStarted = parallel.err.indexOf(QStringLiteral("fold 2/3: ") + root);
    const qsizetype firstEnded =
        parallel.err.indexOf(QRegularExpression(QStringLiteral("  fold \\d/3: finished")));
    QVERIFY2(secondStarted >= 0 && firstEnded > secondStarted, qPrintable(parallel.err));
    for (int k = 1; k <= 3; ++k)
      QVERIFY(QFile::exists(root + QStringLiteral("/workers/fold-%1.log").arg(k)));

    const QMap<QString, QJsonObject> rows = historyByFolder();
    QCOMPARE(rows.size(), m_rowsListed); // one row per folder
    const QJsonObject plan = rows.value(QDir::cleanPath(root));
    QVERIFY(!plan.isEmpty());
    QCOMPARE(plan.value(QLatin1String("status")).toString(), QStringLiteral("finished"));
    for (int k = 1; k <= 3; ++k) {
      const QJsonObject fold = rows.value(QDir::cleanPath(root + QStringLiteral("/fold-%1").arg(k)));
      QCOMPARE(fold.value(QLatin1String("parent")).toInteger(), plan.value(QLatin1String("id")).toInteger());
      QCOMPARE(fold.value(QLatin1String("status")).toString(), QStringLiteral("finished"));
    }
  }

  // Ctrl-C stops every running child (resumable, exit 130); the same command continues them in
  // their own folders and history rows and finishes the plan.
  void stopAndContinue()
  {
    const QString root = path(QStringLiteral("stopped"));
    const QStringList args = cvArgs(root, {QStringLiteral("--workers"), QStringLiteral("2"),
                                           QStringLiteral("--set"), QStringLiteral("data.subset_rows=480"),
                                           QStringLiteral("--set"), QStringLiteral("training.epochs=2")});
    QProcess p;
    p.setProcessEnvironment(env(2));
    p.start(m_cli, args);
    QVERIFY(p.waitForStarted());
    const auto stepped = [&](int k) {
      QFile f(root + QStringLiteral("/fold-%1/events.jsonl").arg(k));
      return f.open(QIODevice::ReadOnly) && f.readAll().contains("\"type\":\"step\"");
    };
    QElapsedTimer timer;
    timer.start();
    while (!(stepped(1) && stepped(2)) && p.state() == QProcess::Running && timer.elapsed() < 120000)
      QTest::qWait(20);
    QVERIFY2(stepped(1) && stepped(2), "both workers should be training at once");
    ::kill(static_cast<pid_t>(p.processId()), SIGINT);
    QVERIFY(p.waitForFinished(120000));
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QCOMPARE(p.exitCode(), 130);
    QVERIFY2(err.contains(QStringLiteral("stopped during fold 1/3, fold 2/3")), qPrintable(err));
    QVERIFY(!QFile::exists(root + QStringLiteral("/fold-3")));
    const QMap<QString, QJsonObject> before = historyByFolder();
    const qint64 fold1 = before.value(QDir::cleanPath(root + QStringLiteral("/fold-1")))
                             .value(QLatin1String("id"))
                             .toInteger();
    QCOMPARE(before.value(QDir::cleanPath(root + QStringLiteral("/fold-1")))
                 .value(QLatin1String("status"))
                 .toString(),
             QStringLiteral("stopped"));

    const Result continued = run(args + QStringList{QStringLiteral("--json")}, 2);
    QVERIFY2(continued.exitCode == 0, qPrintable(continued.err));
    QCOMPARE(continued.json().value(QLatin1String("folds")).toInt(), 3);
    const QMap<QString, QJsonObject> after = historyByFolder();
    QCOMPARE(after.size(), m_rowsListed); // the continued folds kept their rows
    const QJsonObject again = after.value(QDir::cleanPath(root + QStringLiteral("/fold-1")));
    QCOMPARE(again.value(QLatin1String("id")).toInteger(), fold1);
    QCOMPARE(again.value(QLatin1String("status")).toString(), QStringLiteral("finished"));
    QFile results(root + QStringLiteral("/fold-1/results.json"));
    QVERIFY(results.open(QIODevice::ReadOnly));
    const QJsonObject r = QJsonDocument::fromJson(results.readAll()).object();
    QCOMPARE(r.value(QLatin1String("status")).toString(), QStringLiteral("finished"));
    QCOMPARE(r.value(QLatin1String("steps")).toInteger(), r.value(QLatin1String("total_steps")).toInteger());
  }

  // How a worker (or any `train`) is paused: SIGUSR1 holds it between steps, SIGUSR2 lets it go on.
  void pauseSignals()
  {
    const QString runDir = path(QStringLiteral("paused"));
    QProcess p;
    p.setProcessEnvironment(env(2));
    p.start(m_cli,
            {QStringLiteral("train"), m_config, QStringLiteral("--run-dir"), runDir,
             QStringLiteral("--quiet"), QStringLiteral("--set"), QStringLiteral("data.subset_rows=960"),
             QStringLiteral("--set"), QStringLiteral("training.epochs=3")});
    QVERIFY(p.waitForStarted());
    const auto steps = [&] {
      QFile f(runDir + QStringLiteral("/events.jsonl"));
      return f.open(QIODevice::ReadOnly) ? f.readAll().count("\"type\":\"step\"") : 0;
    };
    QElapsedTimer timer;
    timer.start();
    while (steps() < 3 && p.state() == QProcess::Running && timer.elapsed() < 120000)
      QTest::qWait(20);
    QVERIFY2(steps() >= 3, "the run should be training");
    ::kill(static_cast<pid_t>(p.processId()), SIGUSR1);
    QTest::qWait(1500); // the step under way ends
    const auto held = steps();
    QTest::qWait(2000);
    QCOMPARE(steps(), held);
    QCOMPARE(p.state(), QProcess::Running);
    ::kill(static_cast<pid_t>(p.processId()), SIGUSR2);
    timer.restart();
    while (steps() == held && timer.elapsed() < 60000)
      QTest::qWait(20);
    QVERIFY2(steps() > held, "SIGUSR2 should let the run go on");
    ::kill(static_cast<pid_t>(p.processId()), SIGINT);
    QVERIFY(p.waitForFinished(120000));
    QCOMPARE(p.exitCode(), 130);
  }

  // A child whose model folder cannot be used: the plan fails naming the point and the reason
  // (exit 3); the other worker is stopped, resumable.
  void childThatCannotStart()
  {
    QDir(m_dir.path()).mkpath(QStringLiteral("nomodel"));
    QFile config(path(QStringLiteral("nomodel/config.json")));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write("{}");
    config.close();
    const Result r = run({QStringLiteral("sweep"), m_config, QStringLiteral("--grid"),
                          QStringLiteral("model.path=") +
                              tunebench::testing::assetPath(QStringLiteral("models/use-lite")) +
                              QLatin1Char(',') + path(QStringLiteral("nomodel")),
                          QStringLiteral("--run-dir"), path(QStringLiteral("sweep")),
                          QStringLiteral("--workers"), QStringLiteral("2")},
                         2);
    QCOMPARE(r.exitCode, 3);
    QVERIFY2(r.err.contains(QStringLiteral("point 2/2")) &&
                 r.err.contains(QStringLiteral("no tokenizer found")),
             qPrintable(r.err));
    const QJsonObject plan = historyByFolder().value(QDir::cleanPath(path(QStringLiteral("sweep"))));
    QCOMPARE(plan.value(QLatin1String("status")).toString(), QStringLiteral("failed"));
  }
};

QTEST_GUILESS_MAIN(TestPlanWorkers)
#include "tst_planworkers.moc"
