// TrainingState: what state/trainer.json holds, written and read back unchanged, and every field
// checked against the run it is resumed in (a step past the end, a wrong type: refused by name).
#include "core/train/trainstate.h"
#include "core/util/error.h"

#include <QtTest/QtTest>

using namespace tunebench;

class TestTrainState : public QObject
{
  Q_OBJECT

  static TrainingState::Limits limits() { return {48, 2, 30}; }

private Q_SLOTS:
  void roundTrip()
  {
    TrainingState a;
    a.step = 13;
    a.epoch = 1;
    a.batchInEpoch = 5;
    a.best = 0.8125;
    a.bestStep = 8;
    a.badEvals = 1;
    a.plateauScale = 0.5;
    a.plateauBad = 2;
    a.raised = {"overfitting"};
    const nlohmann::json j = a.toJson(12.5);
    QVERIFY(j["plateau_best"].is_null()); // NaN is stored as null
    const TrainingState b = TrainingState::fromJson(j, "trainer.json", limits());
    QCOMPARE(b.step, 13L);
    QCOMPARE(b.epoch, 1);
    QCOMPARE(b.batchInEpoch, 5L);
    QCOMPARE(b.best, 0.8125);
    QCOMPARE(b.bestStep, 8L);
    QCOMPARE(b.badEvals, 1);
    QCOMPARE(b.plateauScale, 0.5);
    QVERIFY(std::isnan(b.plateauBest));
    QCOMPARE(b.plateauBad, 2);
    QCOMPARE(b.elapsedBefore, 12.5);
    QCOMPARE(b.raised, a.raised);
    // An empty object is a fresh start.
    QCOMPARE(TrainingState::fromJson(nlohmann::json::object(), "t.json", limits()).step, 0L);
  }

  void fieldsOutsideTheRunAreRefused_data()
  {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("value"); // JSON
    QTest::addColumn<QString>("message");
    QTest::newRow("step past the end")
        << "step"
        << "1000000000"
        << "t.json: field \"step\" must be an integer from 0 to 48 for this run, got 1000000000";
    QTest::newRow("negative step") << "step"
                                   << "-1"
                                   << "field \"step\" must be an integer from 0 to 48";
    QTest::newRow("step as text") << "step"
                                  << "\"12\""
                                  << "got \"12\"";
    QTest::newRow("fractional epoch") << "epoch"
                                      << "1.5"
                                      << "field \"epoch\" must be an integer";
    QTest::newRow("best as text") << "best"
                                  << "\"high\""
                                  << "field \"best\" must be a number, got \"high\"";
    QTest::newRow("batch past the epoch") << "batch_in_epoch"
                                          << "31"
                                          << "field \"batch_in_epoch\" must be an integer from 0 to 30";
  }

  void fieldsOutsideTheRunAreRefused()
  {
    QFETCH(QString, field);
    QFETCH(QString, value);
    QFETCH(QString, message);
    nlohmann::json j = TrainingState().toJson(0);
    j[field.toStdString()] = nlohmann::json::parse(value.toStdString());
    try {
      TrainingState::fromJson(j, "t.json", limits());
      QFAIL("accepted");
    } catch (const Error &e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(message), e.what());
    }
    QVERIFY_THROWS_EXCEPTION(Error, TrainingState::fromJson(nlohmann::json::array(), "t.json", limits()));
  }
};

QTEST_GUILESS_MAIN(TestTrainState)
#include "tst_trainstate.moc"
