// Nothing already saved is lost (issue "Hostile input and hard faults", its four data-loss cases),
// driven through tunebench-cli as a user would:
//   1. `train --sanity --run-dir DIR` never deletes DIR (a user's folder, the workspace's runs/);
//   2. `train --run-dir DIR` never overwrites what is in DIR (a user's own config.yaml);
//   3. history rows are keyed by the run id in run.json, so a second run in a reused folder gets a
//      row of its own and the first keeps its name, config and metrics;
//   4. a crash while the resumable state is written (before or after the swap) leaves a whole
//      state/, and resuming ends with the uninterrupted run's losses and metrics, the history
//      holding each step once.
// Also: a second process cannot train a run that is training (flock on the run folder).
// Every slot sets up what it needs (no order between them).
#include "core/runs/runstore.h"
#include "support/cli.h"
#include "support/golden.h"
#include "support/history.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest/QtTest>

#include <set>

using tunebench::testing::assetPath;

class TestDataLoss : public QObject
{
  Q_OBJECT

  using Result = tunebench::testing::CliResult;

  QString m_cli;
  QTemporaryDir m_dir;
  QString m_config;
  QJsonObject m_reference; // the uninterrupted run of m_config (made once, on first use)
  QList<double> m_referenceLosses;

  QString path(const QString &name) const { return m_dir.filePath(name); }

  QProcessEnvironment env(const QString &workspace, const QString &fault = {}) const
  {
    QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
    e.insert(QStringLiteral("TUNEBENCH_ASSETS"), tunebench::testing::assetsDir());
    e.insert(QStringLiteral("TUNEBENCH_WORKSPACE"), path(workspace));
    e.insert(QStringLiteral("TMPDIR"), path(QStringLiteral("tmp")));
    if (!fault.isEmpty())
      e.insert(QStringLiteral("TUNEBENCH_FAULT_AT"), fault);
    return e;
  }

  Result run(const QStringList &args, const QString &workspace, const QString &fault = {})
  {
    return tunebench::testing::runCli(m_cli, args, env(workspace, fault));
  }

  static void writeFile(const QString &file, const QByteArray &content)
  {
    QDir().mkpath(QFileInfo(file).absolutePath());
    QFile f(file);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(content);
  }

  static QByteArray readFile(const QString &file)
  {
    QFile f(file);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
  }

  // The history's row of a run folder, read through the store.
  static std::int64_t rowOf(tunebench::RunStore &store, const QString &runDir)
  {
    const QJsonObject id = QJsonDocument::fromJson(readFile(runDir + QStringLiteral("/run.json"))).object();
    const auto row = store.findByUid(id.value(QLatin1String("id")).toString().toStdString());
    return row ? *row : 0;
  }

  void makeReference()
  {
    if (!m_reference.isEmpty())
      return;
    const QString dir = path(QStringLiteral("reference"));
    const Result r = run({QStringLiteral("train"), m_config, QStringLiteral("--run-dir"), dir,
                          QStringLiteral("--quiet"), QStringLiteral("--json")},
                         QStringLiteral("ws-reference"));
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    m_reference = r.json();
    m_referenceLosses = tunebench::testing::eventLosses(dir);
    QCOMPARE(m_referenceLosses.size(), m_reference.value(QLatin1String("steps")).toInt());
  }

private Q_SLOTS:
  void initTestCase()
  {
    m_cli = qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli");
    QVERIFY2(QFileInfo::exists(m_cli), qPrintable(m_cli));
    QVERIFY2(QFile::exists(assetPath(QStringLiteral("models/use-lite/model.json"))),
             "USE-Lite is missing: run packaging/fetch-assets.sh");
    QVERIFY(QDir().mkpath(path(QStringLiteral("tmp"))));
    m_config = path(QStringLiteral("tiny.yaml"));
    // 128 training rows / 16 = 8 steps an epoch, 16 in all; state saved at steps 4, 8, 12 and 16.
    writeFile(m_config, "name: tiny\nseed: 42\n"
                        "model: {path: $ASSETS/models/use-lite}\n"
                        "data:\n  path: $ASSETS/data/sentiment/pang-lee-sentences.csv\n  subset_rows: 160\n"
                        "training: {epochs: 2, batch_size: 16, learning_rate: 1.0e-4}\n"
                        "evaluation: {every_steps: 4, metric: accuracy, early_stopping: {patience: 0}}\n");
  }

  // 1. --sanity with --run-dir: a user's folder and the workspace's runs/ are refused, untouched;
  // a new folder gets the run, and the check's own scratch folder is gone afterwards.
  void sanityNeverDeletesTheRunDir()
  {
    const QString mine = path(QStringLiteral("my-project"));
    writeFile(mine + QStringLiteral("/notes.txt"), "my notes\n");
    writeFile(mine + QStringLiteral("/config.yaml"), "name: mine\n");
    const Result r = run(
        {QStringLiteral("train"), m_config, QStringLiteral("--sanity"), QStringLiteral("--run-dir"), mine},
        QStringLiteral("ws-sanity"));
    QCOMPARE(r.exitCode, 3);
    QVERIFY2(r.err.contains(mine + QStringLiteral(": the folder is not empty")), qPrintable(r.err));
    QCOMPARE(readFile(mine + QStringLiteral("/notes.txt")), QByteArray("my notes\n"));
    QCOMPARE(readFile(mine + QStringLiteral("/config.yaml")), QByteArray("name: mine\n"));
    QCOMPARE(QDir(mine).entryList(QDir::NoDotAndDotDot | QDir::AllEntries).size(), 2);

    // The workspace's runs/ folder with another run in it.
    const QString runs = path(QStringLiteral("ws-sanity/runs"));
    writeFile(runs + QStringLiteral("/other-run/results.json"), "{\"status\": \"finished\"}\n");
    const Result w = run(
        {QStringLiteral("train"), m_config, QStringLiteral("--sanity"), QStringLiteral("--run-dir"), runs},
        QStringLiteral("ws-sanity"));
    QCOMPARE(w.exitCode, 3);
    QCOMPARE(readFile(runs + QStringLiteral("/other-run/results.json")),
             QByteArray("{\"status\": \"finished\"}\n"));

    // A new folder: the check passes, the run trains there and is kept whole.
    const QString fresh = path(QStringLiteral("sanity-run"));
    const Result ok = run({QStringLiteral("train"), m_config, QStringLiteral("--sanity"),
                           QStringLiteral("--run-dir"), fresh, QStringLiteral("--json")},
                          QStringLiteral("ws-sanity"));
    QVERIFY2(ok.exitCode == 0, qPrintable(ok.err));
    QVERIFY2(ok.err.contains(QLatin1String("sanity check: one batch over-fits")), qPrintable(ok.err));
    for (const char *file :
         {"run.json", "config.yaml", "results.json", "best/model.pt", "state/trainer.json"})
      QVERIFY2(QFile::exists(fresh + QLatin1Char('/') + QLatin1String(file)), file);
    QCOMPARE(QDir(path(QStringLiteral("tmp"))).entryList(QDir::NoDotAndDotDot | QDir::AllEntries),
             QStringList());
  }

  // 2. Without --sanity: a folder holding the user's own config.yaml is refused, the file kept;
  // a folder holding a run is refused with a pointer to `resume`.
  void runDirContentIsNeverOverwritten()
  {
    const QString mine = path(QStringLiteral("with-config"));
    const QByteArray own = "# my own notes on this experiment\nname: mine\n";
    writeFile(mine + QStringLiteral("/config.yaml"), own);
    const Result r =
        run({QStringLiteral("train"), m_config, QStringLiteral("--run-dir"), mine}, QStringLiteral("ws-own"));
    QCOMPARE(r.exitCode, 3);
    QVERIFY2(r.err.contains(QLatin1String("nothing in it was changed")), qPrintable(r.err));
    QCOMPARE(readFile(mine + QStringLiteral("/config.yaml")), own);
    QCOMPARE(QDir(mine).entryList(QDir::NoDotAndDotDot | QDir::AllEntries),
             QStringList{QStringLiteral("config.yaml")});

    const QString held = path(QStringLiteral("holds-a-run"));
    writeFile(held + QStringLiteral("/results.json"), "{}\n");
    const Result h =
        run({QStringLiteral("train"), m_config, QStringLiteral("--run-dir"), held}, QStringLiteral("ws-own"));
    QCOMPARE(h.exitCode, 3);
    QVERIFY2(h.err.contains(QLatin1String("already holds a run (use `resume`")), qPrintable(h.err));
    QCOMPARE(readFile(held + QStringLiteral("/results.json")), QByteArray("{}\n"));
  }

  // 3. Two runs trained one after the other in the same folder path (emptied by hand between
  // them) are two history rows: the first keeps its name, learning rate and metric series.
  void historyRowsAreKeyedByRunId()
  {
    const QString dir = path(QStringLiteral("reused"));
    const QString ws = QStringLiteral("ws-reused");
    const Result a =
        run({QStringLiteral("train"), m_config, QStringLiteral("--run-dir"), dir, QStringLiteral("--quiet"),
             QStringLiteral("--json"), QStringLiteral("--set"), QStringLiteral("name=first"),
             QStringLiteral("--set"), QStringLiteral("training.epochs=1")},
            ws);
    QVERIFY2(a.exitCode == 0, qPrintable(a.err));
    const QByteArray firstId = readFile(dir + QStringLiteral("/run.json"));
    QVERIFY(QDir(dir).removeRecursively());
    const Result b =
        run({QStringLiteral("train"), m_config, QStringLiteral("--run-dir"), dir, QStringLiteral("--quiet"),
             QStringLiteral("--json"), QStringLiteral("--set"), QStringLiteral("name=second"),
             QStringLiteral("--set"), QStringLiteral("training.learning_rate=3.0e-4")},
            ws);
    QVERIFY2(b.exitCode == 0, qPrintable(b.err));
    QVERIFY(readFile(dir + QStringLiteral("/run.json")) != firstId);

    tunebench::RunStore store(path(ws).toStdString());
    const std::vector<tunebench::RunRecord> runs = store.list();
    QCOMPARE(runs.size(), std::size_t(2));
    const tunebench::RunRecord &second = runs[0].name == "second" ? runs[0] : runs[1];
    const tunebench::RunRecord &first = runs[0].name == "second" ? runs[1] : runs[0];
    QCOMPARE(QString::fromStdString(first.name), QStringLiteral("first"));
    QCOMPARE(QString::fromStdString(first.status), QStringLiteral("finished"));
    QCOMPARE(QString::fromStdString(store.config(first.id).at("training.learning_rate")).toDouble(), 1.0e-4);
    QCOMPARE(QString::fromStdString(store.config(second.id).at("training.learning_rate")).toDouble(), 3.0e-4);
    QCOMPARE(static_cast<int>(store.series(first.id, "train", "loss").size()),
             a.json().value(QLatin1String("steps")).toInt());
    QCOMPARE(static_cast<int>(store.series(second.id, "train", "loss").size()),
             b.json().value(QLatin1String("steps")).toInt());
    QCOMPARE(rowOf(store, dir), second.id);
  }

  // 4. kill -9 while the state is written (before the new state/ is swapped in, and right after):
  // a whole state/ is there, and resuming gives the uninterrupted run's losses and metrics, with
  // each step recorded once in the history.
  void crashWhileSavingStateLosesNothing_data()
  {
    QTest::addColumn<QString>("fault");
    QTest::addColumn<int>("savedStep");
    QTest::newRow("before the swap") << QStringLiteral("state-written:2") << 4;
    QTest::newRow("after the swap") << QStringLiteral("folder-exchanged")
                                    << 8; // the first exchange: step 8's save
    QTest::newRow("third save, before the swap") << QStringLiteral("state-written:3") << 8;
  }

  void crashWhileSavingStateLosesNothing()
  {
    QFETCH(QString, fault);
    QFETCH(int, savedStep);
    makeReference();
    const QString dir =
        path(QStringLiteral("crash-") + QString(fault).replace(QLatin1Char(':'), QLatin1Char('-')));
    const QString ws = QStringLiteral("ws-") + QFileInfo(dir).fileName();
    const Result killed =
        run({QStringLiteral("train"), m_config, QStringLiteral("--run-dir"), dir, QStringLiteral("--quiet")},
            ws, fault);
    QVERIFY2(killed.crashed, qPrintable(killed.err));
    const QJsonObject state =
        QJsonDocument::fromJson(readFile(dir + QStringLiteral("/state/trainer.json"))).object();
    QCOMPARE(state.value(QLatin1String("step")).toInt(), savedStep);
    QVERIFY(!QFile::exists(dir + QStringLiteral("/results.json")));

    const Result resumed =
        run({QStringLiteral("resume"), dir, QStringLiteral("--quiet"), QStringLiteral("--json")}, ws);
    QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
    tunebench::testing::checkResumedResult(resumed.json(), dir, m_reference, m_referenceLosses);
    if (QTest::currentTestFailed())
      return;
    QVERIFY(!QFile::exists(dir + QStringLiteral("/state.tmp")));

    tunebench::RunStore store(path(ws).toStdString());
    QCOMPARE(store.list().size(), std::size_t(1));
    const std::int64_t id = rowOf(store, dir);
    QVERIFY(id > 0);
    tunebench::testing::checkResumedHistory(store, id, m_referenceLosses);
  }

  // A state that does not fit the run (a step past its end, a wrong type) is refused by `resume`
  // with the file and the field, and nothing is trained or changed.
  void corruptStateIsRefused()
  {
    const QString dir = path(QStringLiteral("corrupt-state"));
    const QString ws = QStringLiteral("ws-corrupt");
    const Result killed =
        run({QStringLiteral("train"), m_config, QStringLiteral("--run-dir"), dir, QStringLiteral("--quiet")},
            ws, QStringLiteral("state-written:2"));
    QVERIFY2(killed.crashed, qPrintable(killed.err));
    const QString state = dir + QStringLiteral("/state/trainer.json");
    QJsonObject j = QJsonDocument::fromJson(readFile(state)).object();
    j.insert(QStringLiteral("step"), 1000000000);
    const QByteArray corrupt = QJsonDocument(j).toJson();
    writeFile(state, corrupt);
    const QByteArray events = readFile(dir + QStringLiteral("/events.jsonl"));
    const Result r = run({QStringLiteral("resume"), dir, QStringLiteral("--quiet")}, ws);
    QCOMPARE(r.exitCode, 3);
    QVERIFY2(
        r.err.contains(
            state +
            QStringLiteral(": field \"step\" must be an integer from 0 to 16 for this run, got 1000000000")),
        qPrintable(r.err));
    QCOMPARE(r.err.trimmed().count(QLatin1Char('\n')), 0);
    QCOMPARE(readFile(state), corrupt);
    QCOMPARE(readFile(dir + QStringLiteral("/events.jsonl")), events);
    j.insert(QStringLiteral("step"), 4);
    j.insert(QStringLiteral("best"), QStringLiteral("high"));
    writeFile(state, QJsonDocument(j).toJson());
    const Result t = run({QStringLiteral("resume"), dir, QStringLiteral("--quiet")}, ws);
    QCOMPARE(t.exitCode, 3);
    QVERIFY2(t.err.contains(QLatin1String("field \"best\" must be a number, got \"high\"")),
             qPrintable(t.err));
  }

  // The disk fills up mid-run (a 160 MiB tmpfs holds the first checkpoint, 107 MiB, but not the
  // second beside it): one clear line naming the file and the cause, exit 3, no backtrace; the
  // history (on the same full disk) still lists the run; the last saved state is whole; once
  // there is space again, `resume` ends with the uninterrupted run's losses. Needs root for the
  // tmpfs mount (the test machines and CI run as root).
  void diskFullMidRunLosesNothing()
  {
    makeReference();
    const QString mountPoint = path(QStringLiteral("small-disk"));
    QVERIFY(QDir().mkpath(mountPoint));
    if (QProcess::execute(QStringLiteral("mount"),
                          {QStringLiteral("-t"), QStringLiteral("tmpfs"), QStringLiteral("-o"),
                           QStringLiteral("size=160m"), QStringLiteral("tmpfs"), mountPoint}) != 0)
      QSKIP("mounting a tmpfs needs root");
    struct Unmount
    {
      QString at;
      ~Unmount() { QProcess::execute(QStringLiteral("umount"), {at}); }
    } unmount{mountPoint};
    const QString dir = mountPoint + QStringLiteral("/run");
    const QString ws = QStringLiteral("small-disk/ws");
    const Result full = run(
        {QStringLiteral("train"), m_config, QStringLiteral("--run-dir"), dir, QStringLiteral("--quiet")}, ws);
    QCOMPARE(full.exitCode, 3);
    QVERIFY2(full.err.contains(QLatin1String("No space left on device")), qPrintable(full.err));
    QVERIFY2(full.err.contains(QLatin1String("the last saved state is kept")), qPrintable(full.err));
    QCOMPARE(full.err.trimmed().count(QLatin1Char('\n')), 0);
    QVERIFY2(!full.err.contains(QLatin1String("frame #")), qPrintable(full.err));
    QVERIFY(!QFile::exists(dir + QStringLiteral("/state.tmp")));
    QCOMPARE(QJsonDocument::fromJson(readFile(dir + QStringLiteral("/state/trainer.json")))
                 .object()
                 .value(QLatin1String("step"))
                 .toInt(),
             4);
    const Result listed = run({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--json")}, ws);
    QCOMPARE(listed.exitCode, 0);
    const QJsonArray runs = QJsonDocument::fromJson(listed.out.toUtf8()).array();
    QCOMPARE(runs.size(), 1);
    const QString status = runs[0].toObject().value(QLatin1String("status")).toString();
    QVERIFY2(status == QLatin1String("failed") || status == QLatin1String("interrupted"), qPrintable(status));
    QVERIFY(runs[0].toObject().value(QLatin1String("reason")).toString().size() < 600);

    QCOMPARE(QProcess::execute(QStringLiteral("mount"),
                               {QStringLiteral("-o"), QStringLiteral("remount,size=600m"), mountPoint}),
             0);
    const Result resumed =
        run({QStringLiteral("resume"), dir, QStringLiteral("--quiet"), QStringLiteral("--json")}, ws);
    QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
    QCOMPARE(resumed.json().value(QLatin1String("test")), m_reference.value(QLatin1String("test")));
    QCOMPARE(tunebench::testing::eventLosses(dir), m_referenceLosses);
  }

  // Two processes never train one run: `resume` of a run that is training is refused.
  void secondProcessCannotTrainTheSameRun()
  {
    const QString dir = path(QStringLiteral("busy"));
    const QString ws = QStringLiteral("ws-busy");
    QProcess p;
    p.setProcessEnvironment(env(ws));
    p.start(m_cli,
            {QStringLiteral("train"), m_config, QStringLiteral("--run-dir"), dir, QStringLiteral("--quiet"),
             QStringLiteral("--set"), QStringLiteral("training.epochs=50")});
    QVERIFY(p.waitForStarted());
    QElapsedTimer timer;
    timer.start();
    while (!QFile::exists(dir + QStringLiteral("/state/trainer.json")) && p.state() == QProcess::Running &&
           timer.elapsed() < 240000)
      QTest::qWait(20);
    QVERIFY2(p.state() == QProcess::Running, "the run ended before the check");
    const Result second = run({QStringLiteral("resume"), dir, QStringLiteral("--quiet")}, ws);
    QCOMPARE(second.exitCode, 3);
    QVERIFY2(second.err.contains(QLatin1String("another tunebench process is training this run")),
             qPrintable(second.err));
    QVERIFY2(p.state() == QProcess::Running, "the first run was disturbed");
    p.kill();
    QVERIFY(p.waitForFinished(60000));
  }
};

QTEST_GUILESS_MAIN(TestDataLoss)
#include "tst_dataloss.moc"
