// Data parallel from the workbench: the form's processes field set to 2 trains rank 0 in the window
// and rank 1 as a tunebench-cli process; the Monitor shows each rank's step, tokens/s and last
// heartbeat, the estimate each process's memory, History the world and backend, and results.json
// its distributed section. No process is left behind.
#include "support/guitest.h"
#include "ui/estimatepanel.h"
#include "ui/experimentview.h"
#include "ui/historyview.h"
#include "ui/mainwindow.h"
#include "ui/monitorview.h"
#include "ui/trainingsession.h"

#include <QLabel>
#include <QTabWidget>
#include <QTableWidget>
#include <QtTest/QtTest>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace tunebench;

class TestDataParallel : public QObject
{
  Q_OBJECT

  QTemporaryDir m_root;

private Q_SLOTS:
  void initTestCase()
  {
    tunebench::testing::isolateSettings(QStringLiteral("tst_dataparallel"));
    QVERIFY2(tunebench::testing::useFetchedAssets(), "assets are missing: run packaging/fetch-assets.sh");
  }

  void twoProcessesFromTheForm()
  {
    MainWindow window(m_root.filePath(QStringLiteral("ws")));
    window.resize(1280, 860);
    window.experiment()->setYaml(
        QStringLiteral("name: sentiment-2p\nseed: 42\n"
                       "model: {path: $ASSETS/models/use-lite, max_length: 64}\n"
                       "task: {kind: single_label}\n"
                       "data: {path: $ASSETS/data/sentiment/pang-lee-sentences.csv, subset_rows: 600,\n"
                       "       split: {train: 0.8, validation: 0.1, test: 0.1}}\n"
                       "training: {epochs: 2, batch_size: 16, learning_rate: 1.0e-4,\n"
                       "           distributed: {processes: 2, timeout: 30}}\n"
                       "output: {runs: $WORKSPACE/runs}\n"));
    QSignalSpy finished(window.session(), &TrainingSession::finished);
    const QStringList problems = window.startExperiment();
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
    window.tabs()->setCurrentWidget(window.monitor());
    auto *ranks = window.monitor()->findChild<QLabel *>(QStringLiteral("RankStatus"));
    QVERIFY(ranks);
    QTRY_VERIFY_WITH_TIMEOUT(ranks->isVisible() || !finished.isEmpty(), 240000);
    if (finished.isEmpty())
      QVERIFY(finished.wait(240000));
    QCOMPARE(finished.back().at(0).toString(), QStringLiteral("finished"));
    QVERIFY2(ranks->text().startsWith(QStringLiteral("2 processes")), qPrintable(ranks->text()));
    QVERIFY2(ranks->text().contains(QStringLiteral("rank 1: step")), qPrintable(ranks->text()));
    QVERIFY(ranks->text().contains(QStringLiteral("tokens/s, heartbeat")));
    if (const QString dir = qEnvironmentVariable("TUNEBENCH_SCREENSHOTS"); !dir.isEmpty())
      QVERIFY(window.grab().save(dir + QStringLiteral("/monitor-data-parallel.png")));

    // History: the world and its backend; the run folder: rank 0's files alone, the result's
    // distributed section.
    HistoryView *history = window.history();
    history->refresh();
    QCOMPARE(history->runs()->rowCount(), 1);
    QVERIFY2(
        history->runs()->item(0, 2)->toolTip().contains(QStringLiteral("data parallel: 2 processes (gloo)")),
        qPrintable(history->runs()->item(0, 2)->toolTip()));
    const QDir runs(m_root.filePath(QStringLiteral("ws/runs")));
    const QStringList folders = runs.entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    QCOMPARE(folders.size(), 1);
    const nlohmann::json r =
        nlohmann::json::parse(std::ifstream(runs.filePath(folders.front()).toStdString() + "/results.json"));
    QCOMPARE(r["distributed"]["world_size"].get<int>(), 2);
    QCOMPARE(r["distributed"]["backend"].get<std::string>(), std::string("gloo"));
    QVERIFY(r["distributed"]["all_reduced_bytes_per_step"].get<long>() > 1000000);
    QVERIFY(r["test"]["metrics"]["accuracy"].get<double>() > 0.55);

    // The estimate: each process's memory and the gradients a step all-reduces.
    auto *estimate = window.experiment()->findChild<EstimatePanel *>();
    QVERIFY(estimate);
    QTRY_VERIFY_WITH_TIMEOUT(estimate->text()->text().contains(QStringLiteral("2 processes")), 20000);
    QVERIFY(estimate->text()->text().contains(QStringLiteral("all-reduces")));
  }
};

QTEST_MAIN(TestDataParallel)
#include "tst_dataparallel.moc"
