// kill -9 at 20 points of a run chosen by a seeded draw — after a step, inside the history's write
// transaction, between writing a new state and swapping it in, right after the swap — and every
// time `resume` ends with the uninterrupted run's metrics and loss curve, the history's curve has
// each step once, and SQLite's integrity check says ok.
#include "core/runs/runstore.h"
#include "support/cli.h"
#include "support/golden.h"
#include "support/history.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest/QtTest>

#include <random>
#include <set>

using tunebench::testing::assetPath;

class TestCrashPoints : public QObject
{
  Q_OBJECT

  QString m_cli;
  QTemporaryDir m_dir;
  QString m_config;
  QJsonObject m_reference;
  QList<double> m_referenceLosses;

  QString path(const QString &name) const { return m_dir.filePath(name); }

  tunebench::testing::CliResult run(const QStringList &args, const QString &workspace,
                                    const QString &fault = {})
  {
    QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
    e.insert(QStringLiteral("TUNEBENCH_ASSETS"), tunebench::testing::assetsDir());
    e.insert(QStringLiteral("TUNEBENCH_WORKSPACE"), path(workspace));
    if (!fault.isEmpty())
      e.insert(QStringLiteral("TUNEBENCH_FAULT_AT"), fault);
    return tunebench::testing::runCli(m_cli, args, e);
  }

private Q_SLOTS:
  void initTestCase()
  {
    m_cli = qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli");
    QVERIFY2(QFileInfo::exists(m_cli), qPrintable(m_cli));
    QVERIFY2(QFile::exists(assetPath(QStringLiteral("models/use-lite/model.json"))),
             "USE-Lite is missing: run packaging/fetch-assets.sh");
    m_config = path(QStringLiteral("tiny.yaml"));
    QFile f(m_config);
    QVERIFY(f.open(QIODevice::WriteOnly));
    // 96 training rows / 16 = 6 steps an epoch, 12 in all; state saved at steps 3, 6, 9 and 12.
    f.write("name: tiny\nseed: 42\n"
            "model: {path: $ASSETS/models/use-lite}\n"
            "data:\n  path: $ASSETS/data/sentiment/pang-lee-sentences.csv\n  subset_rows: 120\n"
            "training: {epochs: 2, batch_size: 16, learning_rate: 1.0e-4}\n"
            "evaluation: {every_steps: 3, metric: accuracy, early_stopping: {patience: 0}}\n");
    f.close();
    const QString dir = path(QStringLiteral("reference"));
    const auto r = run({QStringLiteral("train"), m_config, QStringLiteral("--run-dir"), dir,
                        QStringLiteral("--quiet"), QStringLiteral("--json")},
                       QStringLiteral("ws-reference"));
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    m_reference = r.json();
    m_referenceLosses = tunebench::testing::eventLosses(dir);
    QCOMPARE(m_referenceLosses.size(), 12);
  }

  void killAndResume_data()
  {
    QTest::addColumn<QString>("fault");
    // The points a run passes (with how often it passes each): 12 steps, a history flush per
    // step or so, 4 states written, the 3 after the first swapped in (the first is a rename).
    // A kill before the first checkpoint leaves no state: `resume` starts the run again.
    const std::vector<std::pair<QString, int>> points = {{QStringLiteral("step"), 12},
                                                         {QStringLiteral("store-flush"), 12},
                                                         {QStringLiteral("state-written"), 4},
                                                         {QStringLiteral("folder-exchanged"), 3}};
    std::mt19937 rng(20261205);
    std::set<QString> chosen;
    while (chosen.size() < 20) {
      const auto &[name, passes] =
          points[std::uniform_int_distribution<std::size_t>(0, points.size() - 1)(rng)];
      chosen.insert(name + QLatin1Char(':') +
                    QString::number(std::uniform_int_distribution<int>(1, passes)(rng)));
    }
    for (const QString &fault : chosen)
      QTest::newRow(qPrintable(fault)) << fault;
  }

  void killAndResume()
  {
    QFETCH(QString, fault);
    const QString dir =
        path(QStringLiteral("run-") + QString(fault).replace(QLatin1Char(':'), QLatin1Char('-')));
    const QString ws = QStringLiteral("ws-") + QFileInfo(dir).fileName();
    const auto killed =
        run({QStringLiteral("train"), m_config, QStringLiteral("--run-dir"), dir, QStringLiteral("--quiet")},
            ws, fault);
    QVERIFY2(killed.crashed, qPrintable(QStringLiteral("%1 was not reached: %2").arg(fault, killed.err)));
    const auto resumed =
        run({QStringLiteral("resume"), dir, QStringLiteral("--quiet"), QStringLiteral("--json")}, ws);
    QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
    tunebench::testing::checkResumedResult(resumed.json(), dir, m_reference, m_referenceLosses);
    if (QTest::currentTestFailed())
      return;

    tunebench::RunStore store(path(ws).toStdString(), tunebench::RunStore::Access::ReadOnly);
    const auto runs = store.list();
    QCOMPARE(runs.size(), std::size_t(1));
    tunebench::testing::checkResumedHistory(store, runs.front().id, m_referenceLosses);
  }
};

QTEST_GUILESS_MAIN(TestCrashPoints)
#include "tst_crashpoints.moc"
