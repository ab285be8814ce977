// core/experiments and core/eval/analysis as a library, without training: the plans of k-fold
// cross-validation and sweeps (folders, overrides, seeds, sampled values), their aggregation, and
// the error analysis the CLI and the GUI share. Training through the plans is in tst_trainingcli.
#include "core/eval/analysis.h"
#include "core/experiments/plan.h"
#include "core/experiments/runner.h"
#include "core/util/error.h"

#include <QtTest/QtTest>

#include <cmath>

using namespace tunebench;

class TestExperiments : public QObject
{
  Q_OBJECT

  QTemporaryDir m_dir; // holds the model folder and data file the config names (only checked to exist)

  ExperimentSource source(std::vector<std::string> overrides = {}) const
  {
    ExperimentSource s;
    s.yaml = "name: demo\nseed: 7\nmodel: {path: model}\ndata: {path: data.csv}\n"
             "training: {epochs: 1, learning_rate: 1.0e-4}\nevaluation: {metric: accuracy}\n";
    s.baseDir = m_dir.path().toStdString();
    s.overrides = std::move(overrides);
    s.name = "demo.yaml";
    return s;
  }

  static RunResult result(double validation, std::map<std::string, double> test)
  {
    RunResult r;
    r.status = RunStatus::Finished;
    r.bestMetric = validation;
    r.test.split = "test";
    r.test.metrics = std::move(test);
    return r;
  }

private Q_SLOTS:
  void initTestCase()
  {
    QVERIFY(QDir(m_dir.path()).mkpath(QStringLiteral("model")));
    QFile data(m_dir.filePath(QStringLiteral("data.csv")));
    QVERIFY(data.open(QIODevice::WriteOnly));
    data.write("text,label\na,x\n");
  }

  void crossValidationPlan()
  {
    const ExperimentPlan plan = planCrossValidation(source({"training.epochs=2"}), 3, "/tmp/cv-root");
    QCOMPARE(plan.kind, PlanKind::CrossValidation);
    QCOMPARE(plan.runs.size(), std::size_t(3));
    QCOMPARE(QString::fromStdString(plan.parent.name), QStringLiteral("demo-cv"));
    for (int k = 0; k < 3; ++k) {
      const PlannedRun &r = plan.runs[static_cast<std::size_t>(k)];
      QCOMPARE(r.config.data.fold, k);
      QCOMPARE(r.config.data.folds, 3);
      QCOMPARE(r.config.training.epochs, 2); // the source's overrides hold in every child
      QCOMPARE(QString::fromStdString(r.config.name), QStringLiteral("demo"));
      QCOMPARE(QString::fromStdString(r.dir.string()), QStringLiteral("/tmp/cv-root/fold-%1").arg(k + 1));
      QCOMPARE(r.group, static_cast<std::size_t>(k));
    }
    QVERIFY_THROWS_EXCEPTION(Error, planCrossValidation(source(), 1, "/tmp/x"));
    // Without a root: <output.runs>/demo-cv-<time>.
    const ExperimentPlan named = planCrossValidation(source(), 2);
    QVERIFY2(named.root.filename().string().rfind("demo-cv-", 0) == 0, named.root.c_str());
  }

  void gridSweepWithSeeds()
  {
    SweepSpec spec;
    spec.grid = {"training.learning_rate=1e-4,3e-4", "training.batch_size=8,16"};
    spec.seeds = 2;
    const ExperimentPlan plan = planSweep(source(), spec, "/tmp/sweep");
    QCOMPARE(plan.groups.size(), std::size_t(4));
    QCOMPARE(plan.runs.size(), std::size_t(8));
    const PlannedRun &last = plan.runs.back();
    QCOMPARE(last.group, std::size_t(3));
    QCOMPARE(last.config.training.learningRate, 3e-4);
    QCOMPARE(last.config.training.batchSize, 16);
    QCOMPARE(last.config.seed, std::uint64_t(8)); // seed 7 + 1
    QCOMPARE(plan.runs[6].config.seed, std::uint64_t(7));
    QCOMPARE(QString::fromStdString(last.dir.string()), QStringLiteral("/tmp/sweep/point-4-seed-2"));
    QCOMPARE(QString::fromStdString(last.label),
             QStringLiteral("point 4/4 seed 2: training.learning_rate=3e-4 training.batch_size=16"));
  }

  void randomSweepSamplesTheRange()
  {
    SweepSpec spec;
    spec.ranges = {"training.learning_rate=1e-5:1e-3:log"};
    spec.random = 20;
    const ExperimentPlan a = planSweep(source(), spec, "/tmp/r");
    const ExperimentPlan b = planSweep(source(), spec, "/tmp/r");
    QCOMPARE(a.runs.size(), std::size_t(20));
    double low = 1, high = 0;
    for (std::size_t i = 0; i < a.runs.size(); ++i) {
      const double lr = a.runs[i].config.training.learningRate;
      QVERIFY(lr >= 1e-5 && lr <= 1e-3);
      QCOMPARE(lr, b.runs[i].config.training.learningRate); // seeded
      low = std::min(low, lr);
      high = std::max(high, lr);
    }
    QVERIFY(low < 1e-4 && high > 1e-4); // log-uniform: both decades are visited
  }

  void malformedSweepsAreRefused()
  {
    SweepSpec grid;
    grid.grid = {"training.learning_rate"};
    QVERIFY_THROWS_EXCEPTION(Error, planSweep(source(), grid, "/tmp/x"));
    SweepSpec range;
    range.ranges = {"training.learning_rate=0:1e-3:log"};
    QVERIFY_THROWS_EXCEPTION(Error, planSweep(source(), range, "/tmp/x"));
    SweepSpec text;
    text.ranges = {"training.learning_rate=a:b"};
    QVERIFY_THROWS_EXCEPTION(Error, planSweep(source(), text, "/tmp/x"));
    SweepSpec unknown;
    unknown.grid = {"training.learning_rat=1,2"};
    try {
      planSweep(source(), unknown, "/tmp/x");
      QFAIL("accepted");
    } catch (const Error &e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1String("did you mean \"training.learning_rate\"")),
               e.what());
    }
  }

  // Points given whole (compare strategies: each with its own learning rate), the grid taken over each.
  void pointsGivenWhole()
  {
    SweepSpec spec;
    spec.points = {{"strategy.name=full", "training.learning_rate=1e-4"},
                   {"strategy.name=lora", "training.learning_rate=1e-3"}};
    spec.grid = {"training.batch_size=8,16"};
    const auto points = sweepPoints(spec);
    QCOMPARE(points.size(), std::size_t(4));
    QCOMPARE(points[3], (std::vector<std::string>{"strategy.name=lora", "training.learning_rate=1e-3",
                                                  "training.batch_size=16"}));
    spec.seeds = 2;
    const ExperimentPlan plan = planSweep(source(), spec, "/tmp/points");
    QCOMPARE(plan.runs.size(), std::size_t(8));
    QCOMPARE(plan.runs[4].config.strategy.name, std::string("lora"));
    QCOMPARE(plan.runs[4].config.training.learningRate, 1e-3);
    spec.points = {{"strategy.name"}};
    QVERIFY_THROWS_EXCEPTION(Error, sweepPoints(spec));
  }

  void aggregation()
  {
    const nlohmann::json ms = meanAndStd({1.0, 2.0, 4.0});
    QCOMPARE(ms["mean"].get<double>(), 7.0 / 3.0);
    QVERIFY(std::abs(ms["std"].get<double>() -
                     std::sqrt(((1 - 7.0 / 3) * (1 - 7.0 / 3) + (2 - 7.0 / 3) * (2 - 7.0 / 3) +
                                (4 - 7.0 / 3) * (4 - 7.0 / 3)) /
                               2)) < 1e-12);

    const ExperimentPlan cv = planCrossValidation(source(), 2, "/tmp/cv");
    const nlohmann::json c =
        summarizePlan(cv, {result(0.8, {{"accuracy", 0.7}}), result(0.9, {{"accuracy", 0.9}})});
    QCOMPARE(c["folds"].get<int>(), 2);
    QCOMPARE(c["test"]["accuracy"]["mean"].get<double>(), 0.8);
    QCOMPARE(c["runs"][1]["fold"].get<int>(), 2);

    SweepSpec spec;
    spec.grid = {"training.learning_rate=1e-4,3e-4"};
    spec.seeds = 2;
    const ExperimentPlan sweep = planSweep(source(), spec, "/tmp/s");
    const nlohmann::json s =
        summarizePlan(sweep, {result(0.6, {{"accuracy", 0.5}}), result(0.7, {{"accuracy", 0.6}}),
                              result(0.9, {{"accuracy", 0.8}}), result(0.8, {{"accuracy", 0.9}})});
    QCOMPARE(s["points"].size(), std::size_t(2));
    QCOMPARE(s["points"][0]["point"].get<int>(), 2); // the better validation mean first
    QCOMPARE(s["points"][0]["validation_accuracy"]["mean"].get<double>(), 0.85);
    QCOMPARE(s["points"][1]["test"]["accuracy"]["mean"].get<double>(), 0.55);
  }

  void errorAnalysis()
  {
    const std::vector<int> truth = {0, 1, 2, 1, 0};
    const std::vector<std::vector<double>> p = {
        {0.7, 0.2, 0.1}, {0.6, 0.3, 0.1}, {0.1, 0.1, 0.8}, {0.05, 0.15, 0.8}, {0.2, 0.5, 0.3}};
    const ErrorAnalysis a = analyseErrors(truth, p);
    QCOMPARE(a.predicted, (std::vector<int>{0, 0, 2, 2, 1}));
    QCOMPARE(a.mistakes.size(), std::size_t(3));
    QCOMPARE(a.mistakes[0].index, std::size_t(3)); // 0.8: the most confident mistake first
    QCOMPARE(a.mistakes[1].index, std::size_t(1));
    QCOMPARE(a.mistakes[2].index, std::size_t(4));
    QCOMPARE(a.confused.size(), std::size_t(3));
    QCOMPARE(a.confused[0].count, 1);

    const TagErrorAnalysis t = analyseTagErrors({{"B-X", "O", "O"}, {"O", "B-X"}},
                                                {{"B-X", "B-X", "O"}, {"B-X", "O"}}, {"O", "B-X"});
    QCOMPARE(t.truth.size(), std::size_t(5));
    QCOMPARE(t.mistakes.size(), std::size_t(2));
    QCOMPARE(t.mistakes[0].sentence, std::size_t(1)); // two wrong tags
    QCOMPARE(t.mistakes[0].wrongTags, 2);

    const auto summary = classificationSummary(
        {0, 1, 1, 0}, {{0.6, 0.4}, {0.55, 0.45}, {0.2, 0.8}, {0.7, 0.3}}, {"neg", "pos"});
    QCOMPARE(summary.at("accuracy"), 0.75);
    // With the threshold at 0.4 on p(pos) every row is right.
    QCOMPARE(classificationSummary({0, 1, 1, 0}, {{0.7, 0.3}, {0.55, 0.45}, {0.2, 0.8}, {0.7, 0.3}},
                                   {"neg", "pos"}, 0.4)
                 .at("accuracy"),
             1.0);
    QVERIFY_THROWS_EXCEPTION(Error, tuneThresholdOn({}, {}, {}, {}, {"a", "b", "c"}));
  }
};

QTEST_GUILESS_MAIN(TestExperiments)
#include "tst_experiments.moc"
