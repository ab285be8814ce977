// The forgetting meter and its mitigations, on a tiny BERT pre-trained with masked LM inside the
// test (movie reviews) and exported, then fine-tuned as a sentiment classifier with the reviews as
// the reference text. Checked against expectations worked out independently: the meter reads the
// run's current encoder (a learning rate of 1e-8 leaves it where it began; full fine-tuning at a
// high rate moves it up); L2-SP's second SGD step differs from plain SGD's by exactly
// −η·λ·(θ₁ − θ₀); rehearsal on every step trains the objective; results.json says it.
#include "core/config/experiment.h"
#include "core/export/exporter.h"
#include "core/train/trainedrun.h"
#include "core/train/trainer.h"
#include "support/golden.h"
#include "support/runfiles.h"

#include <QtTest/QtTest>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace tunebench;
using tunebench::testing::assetPath;
using tunebench::testing::readModel;
using tunebench::testing::runEvents;

class TestForgetting : public QObject
{
  Q_OBJECT

  QTemporaryDir m_dir;

  std::filesystem::path path(const std::string &name) const
  {
    return m_dir.filePath(QString::fromStdString(name)).toStdString();
  }
  std::string reviews() const
  {
    return assetPath(QStringLiteral("data/sentiment/pang-lee-reviews.csv")).toStdString();
  }

  ExperimentConfig parse(const std::string &yaml, const std::vector<std::string> &overrides)
  {
    const ConfigResult r = parseExperimentConfig(yaml, m_dir.path().toStdString(), overrides);
    if (!r.ok())
      qFatal("config: %s", r.problems.front().str("forgetting").c_str());
    return r.config;
  }

  // A sentiment classifier on the exported BERT, measuring masked-LM loss on 120 reviews.
  ExperimentConfig classifier(const std::vector<std::string> &extra)
  {
    std::vector<std::string> o = {
        "model.path=" + path("bert").string(),
        "model.max_length=48",
        "data.path=" + assetPath(QStringLiteral("data/sentiment/pang-lee-sentences.csv")).toStdString(),
        "data.subset_rows=240",
        "training.batch_size=16",
        "training.epochs=2",
        "training.precision=fp32",
        "evaluation.every_steps=10",
        "evaluation.metric=accuracy",
        "evaluation.early_stopping.patience=0",
        "forgetting.reference=" + reviews(),
        "forgetting.rows=120"};
    o.insert(o.end(), extra.begin(), extra.end());
    return parse("name: classifier\nseed: 3\n", o);
  }

  static nlohmann::json results(const std::filesystem::path &run)
  {
    return nlohmann::json::parse(std::ifstream(run / "results.json"));
  }

private Q_SLOTS:
  void initTestCase()
  {
    QVERIFY2(QFile::exists(QString::fromStdString(reviews())),
             "the reviews are missing: run packaging/fetch-assets.sh");
    const ExperimentConfig mlm = parse(
        "name: mlm\nseed: 1\n"
        "model: {path: $ASSETS/tokenizers/bert-base-uncased, init: random, max_length: 48,\n"
        "        scratch: {layers: 2, hidden: 64, heads: 4}}\n"
        "task: {kind: masked_lm}\n"
        "data: {path: $ASSETS/data/sentiment/pang-lee-reviews.csv, columns: {text: text}, subset_rows: 300,\n"
        "       split: {train: 0.9, validation: 0.05, test: 0.05, stratified: false}}\n"
        "training: {epochs: 1, batch_size: 16, learning_rate: 2.0e-3}\n"
        "evaluation: {metric: loss}\n",
        {});
    Trainer(mlm, path("mlm")).run();
    exportRun(*TrainedRun::open(path("mlm")), path("bert"), {});
  }

  // The meter reads the run's current encoder: at a learning rate of 1e-8 its values stay at the
  // start; full fine-tuning at 1e-2 (the last weights kept) raises the masked-LM loss. Every validation
  // carries the value, the log and results.json say before and after.
  void meterFollowsTheEncoder()
  {
    Trainer still(classifier({"training.learning_rate=1e-8"}), path("still"));
    const RunResult s = still.run();
    QCOMPARE(s.forgettingObjective, std::string("masked_lm"));
    QVERIFY(s.forgettingBefore > 0);
    QVERIFY2(std::abs(s.forgettingAfter - s.forgettingBefore) < 1e-3,
             qPrintable(QStringLiteral("%1 → %2").arg(s.forgettingBefore).arg(s.forgettingAfter)));

    Trainer full(classifier({"training.learning_rate=1e-2", "output.save_best=false"}), path("full"));
    const RunResult f = full.run();
    QCOMPARE(f.forgettingBefore, s.forgettingBefore); // the same starting model, text and noise
    QVERIFY2(f.forgettingAfter > f.forgettingBefore + 0.1,
             qPrintable(QStringLiteral("%1 → %2").arg(f.forgettingBefore).arg(f.forgettingAfter)));
    int validations = 0;
    for (const nlohmann::json &e : runEvents(path("full"), "eval"))
      if (e["split"] == "validation") {
        QVERIFY(e["metrics"].contains("reference_loss"));
        ++validations;
      }
    QVERIFY(validations >= 2);
    const nlohmann::json j = results(path("full"))["forgetting"];
    QCOMPARE(j["objective"].get<std::string>(), std::string("masked_lm"));
    QCOMPARE(j["before"].get<double>(), f.forgettingBefore);
    QCOMPARE(j["after"].get<double>(), f.test.metrics.at("reference_loss"));
  }

  // L2-SP: θ₁ is the same with and without the penalty (its gradient is zero at θ₀); with plain
  // SGD the second step then differs by exactly −η·λ·(θ₁ − θ₀) on a penalised weight. The head
  // (no starting point) is not penalised.
  void l2spPullsTowardTheStart()
  {
    const std::vector<std::string> sgd = {"training.optimizer.name=sgd",
                                          "training.optimizer.momentum=0",
                                          "training.weight_decay=0",
                                          "training.learning_rate=0.5",
                                          "training.dropout=0",
                                          "training.max_grad_norm=0",
                                          "training.bucket_by_length=false",
                                          "evaluation.every_steps=0",
                                          "training.scheduler.name=constant",
                                          "training.scheduler.warmup_ratio=0"};
    auto with = [&](const std::vector<std::string> &o) { // the run's own settings after the common ones
      std::vector<std::string> all = sgd;
      all.insert(all.end(), o.begin(), o.end());
      ExperimentConfig c = classifier(all);
      c.forgetting.reference.clear();
      return c;
    };
    Trainer(with({"training.max_steps=1", "training.learning_rate=1e-8"}), path("sgd0")).run(); // ≈ θ₀
    Trainer(with({"training.max_steps=1"}), path("sgd1")).run();
    Trainer(with({"training.max_steps=2"}), path("sgd2")).run();
    Trainer(with({"training.max_steps=2", "training.l2_sp=8"}), path("l2sp2")).run();
    const std::string query = "backbone.encoder.layer.0.attention.self.query.weight",
                      head = "heads.main.linear.weight";
    auto weights = [&](const char *run) {
      return readModel(path(run) / "state" / "model.pt", {query, head});
    };
    const auto w0 = weights("sgd0"), w1 = weights("sgd1"), w2 = weights("sgd2"), wl = weights("l2sp2");
    const torch::Tensor moved = w1.at(query) - w0.at(query);
    qInfo("the first step moved the query weights by up to %g", moved.abs().max().item<double>());
    QVERIFY(moved.abs().max().item<double>() > 1e-6); // the first step moved it
    const torch::Tensor expected = -0.5 * 8 * moved;
    const double error = (wl.at(query) - w2.at(query) - expected).abs().max().item<double>();
    qInfo("L2-SP changed the second step by up to %g; off by up to %g", expected.abs().max().item<double>(),
          error);
    // Within four float32 rounding steps of the weights; the change itself is hundreds of them.
    const double ulp = 1.2e-7 * w2.at(query).abs().max().item<double>();
    QVERIFY(expected.abs().max().item<double>() > 100 * ulp);
    QVERIFY2(error < 4 * ulp, qPrintable(QStringLiteral("max error %1 against a change of %2")
                                             .arg(error)
                                             .arg(expected.abs().max().item<double>())));
    QVERIFY((wl.at(head) - w2.at(head)).abs().max().item<double>() < 1e-6); // the head has no starting point
  }

  // Rehearsal on every step (a masked-LM batch of the reference text's training blocks added to
  // each step's loss) trains the objective: its held-out loss ends below the same fine-tuning's
  // without rehearsal.
  void rehearsalTrainsTheObjective()
  {
    const std::vector<std::string> common = {"training.learning_rate=2e-3", "output.save_best=false"};
    std::vector<std::string> with = common;
    with.push_back("forgetting.rehearsal=1");
    const RunResult plain = Trainer(classifier(common), path("plain")).run();
    const RunResult rehearsed = Trainer(classifier(with), path("rehearsed")).run();
    QVERIFY2(rehearsed.forgettingAfter < plain.forgettingAfter - 0.05,
             qPrintable(QStringLiteral("rehearsed %1, plain %2 (before %3)")
                            .arg(rehearsed.forgettingAfter)
                            .arg(plain.forgettingAfter)
                            .arg(plain.forgettingBefore)));
  }

  // forgetting.previous_run: a sentiment classifier started from a spam run keeps that run's head,
  // frozen (its saved weights equal the earlier run's head), and measures spam accuracy on the
  // earlier run's validation split: before training exactly the earlier run's own best validation
  // accuracy; unchanged at a learning rate of 1e-8; moved by full fine-tuning at 1e-2.
  void previousTaskIsMeasured()
  {
    const std::string spam =
        "data.path=" + assetPath(QStringLiteral("data/spam/spam-apache.csv")).toStdString();
    Trainer(classifier({"training.learning_rate=1e-3", spam, "data.subset_rows=200", "training.epochs=3"}),
            path("spam"))
        .run();
    const double own = results(path("spam"))["validation"]["metrics"]["accuracy"].get<double>();
    qInfo("the earlier run's validation accuracy: %g", own);
    auto sentiment = [&](const char *lr) {
      ExperimentConfig c = classifier({std::string("training.learning_rate=") + lr, "output.save_best=false",
                                       "forgetting.previous_run=" + path("spam").string()});
      c.forgetting.reference.clear();
      return c;
    };
    const RunResult still = Trainer(sentiment("1e-8"), path("sentiment-still")).run();
    QCOMPARE(still.previousMetric, std::string("previous_accuracy"));
    QCOMPARE(still.previousBefore, own);
    QVERIFY(std::abs(still.previousAfter - own) < 1e-9);
    const RunResult moved = Trainer(sentiment("1e-2"), path("sentiment-moved")).run();
    QCOMPARE(moved.previousBefore, own);
    QVERIFY2(moved.previousAfter != moved.previousBefore, qPrintable(QString::number(moved.previousAfter)));
    const auto earlier = readModel(path("spam") / "best" / "model.pt", {"heads.main.linear.weight"});
    const auto kept =
        readModel(path("sentiment-moved") / "state" / "model.pt", {"heads.previous.linear.weight"});
    QVERIFY(torch::equal(earlier.at("heads.main.linear.weight"), kept.at("heads.previous.linear.weight")));
    const nlohmann::json j = results(path("sentiment-moved"))["previous_task"];
    QCOMPARE(j["after"].get<double>(), moved.previousAfter);
  }

  // A model without its pre-training head here is refused with a message naming the field.
  void refusesModelsWithoutTheirObjective()
  {
    ExperimentConfig c = classifier({});
    c.model.path = assetPath(QStringLiteral("models/use-lite")).toStdString();
    try {
      Trainer(c, path("use-lite")).run();
      QFAIL("USE-Lite measured");
    } catch (const std::exception &e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1String("forgetting.reference")), e.what());
    }
  }
};

QTEST_GUILESS_MAIN(TestForgetting)
#include "tst_forgetting.moc"
