// Learning-rate schedules (transformers' formulas) and the run diagnosis on synthetic curves.
#include "core/train/diagnosis.h"
#include "core/train/schedule.h"

#include <QtTest/QtTest>

#include <cmath>

using namespace tunebench;

namespace {

TrainingCurves::Point pt(long s, double v) { return {s, v}; }

bool has(const std::vector<Diagnosis> &found, Diagnosis::Kind kind, long *step = nullptr)
{
  for (const Diagnosis &d : found)
    if (d.kind == kind) {
      if (step)
        *step = d.step;
      return !d.remedies.empty() && !d.evidence.empty();
    }
  return false;
}

// A falling training loss over `steps` (with a little deterministic wiggle).
std::vector<TrainingCurves::Point> falling(long steps, double from, double to)
{
  std::vector<TrainingCurves::Point> out;
  for (long s = 1; s <= steps; ++s)
    out.push_back(pt(s, from + (to - from) * static_cast<double>(s) / static_cast<double>(steps) + 0.01 * std::sin(s)));
  return out;
}

} // namespace

class TestDiagnosis : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void schedules()
  {
    // Warm-up: 0 at step 0, half-way at 5 of 10.
    QCOMPARE(learningRateFactor("linear", 0, 100, 10), 0.0);
    QCOMPARE(learningRateFactor("linear", 5, 100, 10), 0.5);
    QCOMPARE(learningRateFactor("linear", 10, 100, 10), 1.0);
    QCOMPARE(learningRateFactor("linear", 55, 100, 10), 0.5);
    QCOMPARE(learningRateFactor("linear", 100, 100, 10), 0.0);
    QVERIFY(std::abs(learningRateFactor("cosine", 55, 100, 10) - 0.5) < 1e-12);
    QVERIFY(std::abs(learningRateFactor("cosine", 10, 100, 10) - 1.0) < 1e-12);
    // Two hard restarts: back at the top half-way.
    QVERIFY(std::abs(learningRateFactor("cosine_restarts", 50, 100, 0, 2) - 1.0) < 1e-12);
    QVERIFY(std::abs(learningRateFactor("cosine_restarts", 25, 100, 0, 2) - 0.5) < 1e-12);
    QVERIFY(std::abs(learningRateFactor("polynomial", 50, 100, 0, 1, 2.0) - 0.25) < 1e-12);
    QVERIFY(std::abs(learningRateFactor("inverse_sqrt", 40, 100, 10) - std::sqrt(10.0 / 40.0)) < 1e-12);
    QCOMPARE(learningRateFactor("constant_warmup", 3, 100, 10), 0.3);
    QCOMPARE(learningRateFactor("constant_warmup", 50, 100, 10), 1.0);
    QCOMPARE(learningRateFactor("constant", 0, 100, 10), 1.0);
  }

  void healthyRunIsQuiet()
  {
    TrainingCurves c;
    c.trainLoss = falling(200, 0.7, 0.2);
    for (long s = 1; s <= 200; ++s)
      c.gradNorm.push_back(pt(s, 1.0 + 0.1 * std::cos(s)));
    c.validationLoss = {pt(50, 0.6), pt(100, 0.45), pt(150, 0.4), pt(200, 0.38)};
    c.stepsPerEpoch = 50;
    c.finished = true;
    const auto found = diagnose(c);
    QVERIFY2(found.empty(), found.empty() ? "" : found.front().title.c_str());
  }

  // Validation loss bottoms out at step 100 and rises for three evaluations while training loss falls.
  void overfitting()
  {
    TrainingCurves c;
    c.trainLoss = falling(250, 0.7, 0.05);
    c.validationLoss = {pt(50, 0.6), pt(100, 0.45), pt(150, 0.5), pt(200, 0.6), pt(250, 0.75)};
    c.stepsPerEpoch = 50;
    long step = 0;
    QVERIFY(has(diagnose(c), Diagnosis::Kind::Overfitting, &step));
    QCOMPARE(step, 100L);
    // One bad evaluation is not enough.
    c.validationLoss.resize(3);
    QVERIFY(!has(diagnose(c), Diagnosis::Kind::Overfitting));
  }

  void underfitting()
  {
    TrainingCurves c;
    for (long s = 1; s <= 200; ++s)
      c.trainLoss.push_back(pt(s, 0.69 + 0.01 * std::sin(s)));
    c.stepsPerEpoch = 50;
    c.finished = true;
    QVERIFY(has(diagnose(c), Diagnosis::Kind::Underfitting));
    // A flat loss with a validation metric that clearly rises is a hard task learning, not under-fitting.
    c.validationMetric = {pt(50, 0.5), pt(100, 0.7), pt(150, 0.78)};
    QVERIFY(!has(diagnose(c), Diagnosis::Kind::Underfitting));
    c.validationMetric.clear();
    // Before two epochs of a run still going, it is too early to say.
    c.finished = false;
    c.trainLoss.resize(60);
    QVERIFY(!has(diagnose(c), Diagnosis::Kind::Underfitting));
    // A tiny learning rate names the cause.
    c.finished = true;
    for (long s = 1; s <= 60; ++s)
      c.learningRate.push_back(pt(s, 1e-8));
    QVERIFY(has(diagnose(c), Diagnosis::Kind::LearningRateTooLow));
  }

  void atChance()
  {
    TrainingCurves c;
    c.validationMetric = {pt(50, 0.5), pt(100, 0.505)};
    c.chanceMetric = 0.5;
    QVERIFY(has(diagnose(c), Diagnosis::Kind::Underfitting));
  }

  void learningRateTooHigh()
  {
    TrainingCurves c;
    c.trainLoss = falling(100, 0.7, 2.5);
    long step = 0;
    QVERIFY(has(diagnose(c), Diagnosis::Kind::LearningRateTooHigh, &step));
    QVERIFY(step > 0 && step < 30);
  }

  void spikesAndGradients()
  {
    TrainingCurves c;
    c.trainLoss = falling(200, 0.7, 0.3);
    c.trainLoss[120].value = 5.0;
    for (long s = 1; s <= 200; ++s)
      c.gradNorm.push_back(pt(s, s == 121 ? 400.0 : 1.0));
    long step = 0;
    const auto found = diagnose(c);
    QVERIFY(has(found, Diagnosis::Kind::Instability, &step));
    QCOMPARE(step, 121L);
    QVERIFY(has(found, Diagnosis::Kind::ExplodingGradients, &step));
    QCOMPARE(step, 121L);
    TrainingCurves v;
    v.trainLoss = falling(100, 0.7, 0.69);
    for (long s = 1; s <= 100; ++s)
      v.gradNorm.push_back(pt(s, s < 40 ? 0.5 : 1e-9));
    QVERIFY(has(diagnose(v), Diagnosis::Kind::VanishingGradients));
  }

  void nonFiniteIsCritical()
  {
    TrainingCurves c;
    c.trainLoss = falling(30, 0.7, 0.5);
    c.trainLoss.push_back(pt(31, std::nan("")));
    const auto found = diagnose(c);
    QCOMPARE(found.size(), std::size_t(1));
    QCOMPARE(found.front().kind, Diagnosis::Kind::NonFinite);
    QVERIFY(found.front().critical);
    QCOMPARE(found.front().step, 31L);
  }
};

QTEST_GUILESS_MAIN(TestDiagnosis)
#include "tst_diagnosis.moc"
