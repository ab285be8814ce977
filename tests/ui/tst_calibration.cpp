// Calibration from the Evaluate tab (offscreen, through its buttons): on a trained classifier the
// temperature and the threshold fitted on validation equal the CLI's `eval --calibrate
// --tune-threshold`, the rule saved from the tab is the run's decision.json, and `eval --calibrated`
// reports the metrics the tab showed with it.
#include "support/cli.h"
#include "support/guitest.h"
#include "ui/calibrationpanel.h"
#include "ui/evaluationview.h"
#include "ui/mainwindow.h"

#include <QLabel>
#include <QPushButton>
#include <QTabWidget>
#include <QTableWidget>
#include <QtTest/QtTest>

#include <cmath>

using namespace tunebench;

class TestCalibration : public QObject
{
  Q_OBJECT

  QTemporaryDir m_root;

private Q_SLOTS:
  void initTestCase()
  {
    tunebench::testing::isolateSettings(QStringLiteral("tst_calibration"));
    QVERIFY2(tunebench::testing::useFetchedAssets(), "USE-Lite is missing: run packaging/fetch-assets.sh");
  }

  void calibrateFromTheEvaluateTab()
  {
    const QString workspace = m_root.filePath(QStringLiteral("ws"));
    const QString runDir = workspace + QStringLiteral("/runs/small");
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("TUNEBENCH_WORKSPACE"), workspace);
    const QString cli = qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli");
    const QString preset = m_root.filePath(QStringLiteral("sentiment.yaml")); // the GUI's own copy
    QVERIFY(QFile::copy(QStringLiteral(":/presets/sentiment-use-lite.yaml"), preset));
    const auto trained = tunebench::testing::runCli(
        cli,
        {QStringLiteral("train"), preset, QStringLiteral("--quiet"), QStringLiteral("--run-dir"), runDir,
         QStringLiteral("--set"), QStringLiteral("data.subset_rows=400"), QStringLiteral("--set"),
         QStringLiteral("training.epochs=1"), QStringLiteral("--set"),
         QStringLiteral("training.learning_rate=1e-3")},
        env);
    QVERIFY2(trained.exitCode == 0, qPrintable(trained.err));

    MainWindow window(workspace);
    EvaluationView *ev = window.evaluation();
    QSignalSpy evaluated(ev, &EvaluationView::evaluated);
    ev->evaluate(runDir, QStringLiteral("test"));
    QVERIFY(evaluated.wait(120000));
    QVERIFY(evaluated.back().at(0).toBool());
    // The confusion matrix's data as CSV: a header and a row per label, the counts adding up to the split.
    const QStringList matrix = ev->heatMap()->csv().trimmed().split(QLatin1Char('\n'));
    QCOMPARE(matrix.size(), 3);
    int counted = 0;
    for (const QString &row : matrix.mid(1))
      for (const QString &c : row.split(QLatin1Char(',')).mid(1))
        counted += c.toInt();
    QCOMPARE(counted,
             ev->perClass()->item(0, 4)->text().toInt() + ev->perClass()->item(1, 4)->text().toInt());
    CalibrationPanel *panel = ev->calibration();
    QVERIFY(panel->temperatureButton()->isEnabled() && panel->thresholdButton()->isEnabled());
    QVERIFY(!panel->saveButton()->isEnabled());
    QTest::mouseClick(panel->temperatureButton(), Qt::LeftButton);
    QTest::mouseClick(panel->thresholdButton(), Qt::LeftButton);
    QVERIFY2(panel->report()->text().contains(QLatin1String("Temperature")),
             qPrintable(panel->report()->text()));

    const auto reference =
        tunebench::testing::runCli(cli,
                                   {QStringLiteral("eval"), runDir, QStringLiteral("--calibrate"),
                                    QStringLiteral("--tune-threshold"), QStringLiteral("--json")},
                                   env);
    QVERIFY2(reference.exitCode == 0, qPrintable(reference.err));
    const QJsonObject j = reference.json();
    const double temperature = j[QLatin1String("calibration")][QLatin1String("temperature")].toDouble();
    const double threshold = j[QLatin1String("threshold")][QLatin1String("threshold")].toDouble();
    QVERIFY2(std::abs(panel->rule().temperature - temperature) < 1e-9,
             qPrintable(QStringLiteral("%1 vs %2").arg(panel->rule().temperature).arg(temperature)));
    QVERIFY(std::abs(panel->rule().threshold - threshold) < 1e-9);
    QVERIFY(std::abs(temperature - 1.0) > 1e-6); // a fit, not the identity

    QTest::mouseClick(panel->saveButton(), Qt::LeftButton);
    if (const QString dir = qEnvironmentVariable("TUNEBENCH_SCREENSHOTS"); !dir.isEmpty()) {
      window.resize(1280, 860);
      window.show();
      window.tabs()->setCurrentWidget(ev);
      ev->findChild<QTabWidget *>()->setCurrentWidget(panel);
      QApplication::processEvents();
      QVERIFY(window.grab().save(dir + QStringLiteral("/evaluate-calibration.png")));
    }
    QVERIFY(QFile::exists(runDir + QStringLiteral("/decision.json")));
    const auto calibrated = tunebench::testing::runCli(
        cli, {QStringLiteral("eval"), runDir, QStringLiteral("--calibrated"), QStringLiteral("--json")}, env);
    QVERIFY2(calibrated.exitCode == 0, qPrintable(calibrated.err));
    const QJsonObject metrics = calibrated.json()[QLatin1String("metrics")].toObject();
    QVERIFY(!metrics.isEmpty());
    for (const auto &[name, value] : panel->appliedMetrics())
      QVERIFY2(std::abs(metrics[QString::fromStdString(name)].toDouble() - value) < 1e-9, name.c_str());
  }
};

QTEST_MAIN(TestCalibration)
#include "tst_calibration.moc"
