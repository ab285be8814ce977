// The workbench stays responsive to its user: one parse of the experiment per edit, shared by
// everything that shows or starts it; and closing the window stops a run wherever it is.
#include "core/runs/runstore.h"
#include "support/golden.h"
#include "support/guitest.h"
#include "ui/estimatepanel.h"
#include "ui/experimentform.h"
#include "ui/experimentview.h"
#include "ui/mainwindow.h"
#include "ui/trainingsession.h"

#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QtTest/QtTest>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace tunebench;

class TestGuiResponsive : public QObject
{
  Q_OBJECT

  QTemporaryDir m_root;

private Q_SLOTS:
  void initTestCase()
  {
    tunebench::testing::isolateSettings(QStringLiteral("tst_guiresponsive"));
    QVERIFY2(tunebench::testing::useFetchedAssets(), "USE-Lite is missing: run packaging/fetch-assets.sh");
  }

  // One edit, one parse: the form, the problems list, the estimate, Start and the monitor share the
  // experiment the view parsed; the model description is read off the GUI thread.
  void editsAreParsedOnce()
  {
    MainWindow window(m_root.filePath(QStringLiteral("parse-once")));
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    ExperimentView *e = window.experiment();
    ExperimentForm *form = e->form();
    QTRY_VERIFY(form->modelInfo()->text().contains(QLatin1String("parameters")));
    QSignalSpy estimated(e->estimate(), &EstimatePanel::updated);
    const int before = e->parses();
    e->setOverride(QStringLiteral("training.epochs"), QStringLiteral("2"));
    QVERIFY(estimated.wait(20000)); // the estimate followed the edit
    QTest::qWait(400);
    QCOMPARE(e->parses(), before + 1);
    auto *epochs = qobject_cast<QLineEdit *>(form->editor(QStringLiteral("training.epochs")));
    QVERIFY(epochs);
    QCOMPARE(epochs->text(), QStringLiteral("2")); // the form shows the edit
    QVERIFY(window.startExperiment().isEmpty());
    QCOMPARE(e->parses(), before + 1); // Start and the monitor used the same parse
    QSignalSpy finished(window.session(), &TrainingSession::finished);
    window.session()->stop();
    QVERIFY(finished.wait(60000));
  }

  // Closing the window stops a run wherever it is — preparing its data (1,500 long reviews take
  // seconds to clean and tokenize), inside a validation (after every step here; one takes
  // seconds), between training steps — and the window is gone within 2 s. The run is left stopped
  // in the history, never "running".
  void closesWithinTwoSeconds_data()
  {
    QTest::addColumn<QString>("when");
    QTest::newRow("preparing the data") << QStringLiteral("prepare");
    QTest::newRow("in a validation") << QStringLiteral("validation");
    QTest::newRow("training") << QStringLiteral("training");
  }
  void closesWithinTwoSeconds()
  {
    QFETCH(QString, when);
    const QString ws = m_root.filePath(QStringLiteral("close-") + when);
    auto *window = new MainWindow(ws);
    window->show();
    QVERIFY(QTest::qWaitForWindowExposed(window));
    ExperimentView *e = window->experiment();
    const QString reviews =
        tunebench::testing::assetPath(QStringLiteral("data/sentiment/pang-lee-reviews.csv"));
    e->setOverride(QStringLiteral("data.path"), QStringLiteral("\"%1\"").arg(reviews));
    e->setOverride(QStringLiteral("training.epochs"), QStringLiteral("1"));
    e->setOverride(QStringLiteral("training.batch_size"),
                   QStringLiteral("8")); // a step takes a fraction of a second
    e->setOverride(QStringLiteral("evaluation.every_steps"),
                   when == QLatin1String("validation") ? QStringLiteral("1") : QStringLiteral("0"));
    QSignalSpy planned(window->session(), &TrainingSession::planned);
    QSignalSpy steps(window->session(), &TrainingSession::steps);
    QElapsedTimer sinceStart;
    sinceStart.start();
    QVERIFY(window->startExperiment().isEmpty());
    if (when == QLatin1String("prepare")) {
      QTest::qWait(500);
      QCOMPARE(planned.count(), 0); // still preparing
    } else {
      QVERIFY(steps.wait(300000));
      // An unstoppable preparation would have kept the first row's window open past the limit.
      QVERIFY2(sinceStart.elapsed() > 2500, qPrintable(QString::number(sinceStart.elapsed())));
    }
    const QString runDir = window->session()->runDir();
    QElapsedTimer closing;
    closing.start();
    window->close();
    delete window;
    QVERIFY2(closing.elapsed() < 2000, qPrintable(QStringLiteral("%1 ms").arg(closing.elapsed())));
    RunStore store(ws.toStdString(), RunStore::Access::ReadOnly);
    const auto runs = store.list();
    QCOMPARE(runs.size(), std::size_t(1));
    QCOMPARE(QString::fromStdString(runs.front().status), QStringLiteral("stopped"));
    if (when == QLatin1String("validation")) { // stopped inside it: saved as due for the resume
      const auto state = nlohmann::json::parse(std::ifstream(runDir.toStdString() + "/state/trainer.json"));
      QCOMPARE(state.value("validation_due", false), true);
    }
  }
};

QTEST_MAIN(TestGuiResponsive)
#include "tst_guiresponsive.moc"
