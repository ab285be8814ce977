// The training engine on the real default task (USE-Lite, Pang & Lee sentences), kept small:
// stop + resume ends exactly where an uninterrupted run ends, the same seed repeats a run bit for
// bit, one batch over-fits, and a run forced to over-fit is diagnosed as such.
#include "core/config/experiment.h"
#include "core/models/taskmodel.h"
#include "core/strategies/strategy.h"
#include "core/train/trainedrun.h"
#include "core/train/trainer.h"
#include "support/golden.h"
#include "support/runfiles.h"

#include <torch/serialize.h>

#include <QtTest/QtTest>

#include <atomic>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

using namespace tunebench;
using tunebench::testing::assetPath;
using tunebench::testing::readModel;
using tunebench::testing::stepLosses;

namespace {

class StopAt final : public TrainingObserver
{
public:
  StopAt(Trainer &t, long step) : m_trainer(t), m_step(step) {}
  void onStep(const StepEvent &e) override
  {
    if (e.step == m_step)
      m_trainer.requestStop();
  }

private:
  Trainer &m_trainer;
  long m_step;
};

} // namespace

class TestTrainer : public QObject
{
  Q_OBJECT

  QTemporaryDir m_dir;

  ExperimentConfig config(const std::vector<std::string> &extra = {}, const std::string &yaml = "name: t\n")
  {
    std::vector<std::string> overrides = {
      "model.path=" + assetPath(QStringLiteral("models/use-lite")).toStdString(),
      "data.path=" + assetPath(QStringLiteral("data/sentiment/pang-lee-sentences.csv")).toStdString(),
      "data.subset_rows=480", "training.epochs=2", "training.batch_size=16", "training.learning_rate=1e-4",
      "evaluation.every_steps=8", "evaluation.metric=accuracy",
      "evaluation.early_stopping.patience=0"};
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    const ConfigResult r = parseExperimentConfig(yaml, m_dir.path().toStdString(), overrides);
    if (!r.ok())
      qFatal("config: %s", r.problems.front().str("t").c_str());
    return r.config;
  }

  std::filesystem::path dir(const char *name) const { return m_dir.filePath(QString::fromLatin1(name)).toStdString(); }

  // The uninterrupted run of config() in dir("whole"), trained by the first slot that needs it
  // (the slots do not depend on their order).
  std::optional<RunResult> m_whole;
  const RunResult &wholeRun()
  {
    if (!m_whole) {
      Trainer whole(config(), dir("whole"));
      m_whole = whole.run();
    }
    return *m_whole;
  }

private Q_SLOTS:
  void initTestCase()
  {
    QVERIFY2(QFile::exists(assetPath(QStringLiteral("models/use-lite/model.json"))),
             "USE-Lite is missing: run packaging/fetch-assets.sh");
  }

  // Multi-task: sentiment (main) and POS tagging share USE-Lite, each with its head. Round robin
  // alternates the tasks' batches until the smaller runs out; every task is evaluated on its own
  // splits (TASK/metric), multitask_score is the mean of the tasks' own metrics and selects the
  // best checkpoint; the run's main task evaluates again from the saved model.
  void multiTaskRoundRobin()
  {
    const std::string yaml = "name: mt\nmultitask:\n  sampling: round_robin\n  tasks:\n"
                             "    - {name: pos, kind: token_tagging, path: " +
                             assetPath(QStringLiteral("data/pos/wsj.conll")).toStdString() +
                             ", tag_scheme: plain, subset_rows: 100}\n";
    const ExperimentConfig c = config({"evaluation.metric=auto", "evaluation.every_steps=0"}, yaml);
    QCOMPARE(QString::fromStdString(c.selectionMetric()), QStringLiteral("multitask_score"));
    Trainer trainer(c, dir("multitask"));
    const RunResult r = trainer.run();
    QCOMPARE(QString::fromLatin1(runStatusName(r.status)), QStringLiteral("finished"));
    QCOMPARE(r.steps, 2L * (24 + 5)); // per epoch: 384/16 sentiment batches and ⌈80/16⌉ POS batches
    std::vector<std::string> tasks;
    std::ifstream in(dir("multitask") / "events.jsonl");
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line);
      if (j.value("type", "") == "step" && j.value("epoch", 0) == 0)
        tasks.push_back(j.value("task", ""));
    }
    QCOMPARE(tasks.size(), std::size_t(29));
    for (std::size_t i = 0; i < tasks.size(); ++i)
      QCOMPARE(QString::fromStdString(tasks[i]), QString::fromLatin1(i < 10 && i % 2 == 1 ? "pos" : "main"));
    for (const EvalEvent *e : {&r.validation, &r.test}) {
      const auto &m = e->metrics;
      QVERIFY(m.count("pos/accuracy") && m.count("macro_f1") && m.count("multitask_score"));
      QVERIFY(std::abs(m.at("multitask_score") - (m.at("macro_f1") + m.at("pos/accuracy")) / 2) < 1e-12);
    }
    // 45 tags: far above chance (2%) and nearly twice the most frequent tag's share (NN, 13.6%) after
    // 10 batches (0.30 in bf16, where the step sits at this boundary's edge: 0.25).
    QVERIFY(r.test.metrics.at("pos/accuracy") > 0.25);
    QCOMPARE(QString::fromStdString(r.metric), QStringLiteral("multitask_score"));
    auto run = TrainedRun::open(dir("multitask"));
    QVERIFY(std::abs(run->evaluate("test").metrics.at("accuracy") - r.test.metrics.at("accuracy")) < 1e-9);
  }

  void stopAndResumeIsExact()
  {
    const ExperimentConfig c = config();
    const RunResult a = wholeRun();
    QCOMPARE(QString::fromLatin1(runStatusName(a.status)), QStringLiteral("finished"));
    QCOMPARE(a.steps, 48L); // 384 training rows / 16 × 2 epochs
    QVERIFY(a.test.metrics.at("accuracy") > 0.5);

    {
      Trainer first(c, dir("resumed"));
      StopAt stop(first, 13); // between two saved states (every 8 steps): the stop saves its own
      first.setObserver(&stop);
      const RunResult stopped = first.run();
      QCOMPARE(QString::fromLatin1(runStatusName(stopped.status)), QStringLiteral("stopped"));
      QCOMPARE(stopped.steps, 13L);
    }
    Trainer second(c, dir("resumed"));
    const RunResult b = second.run();
    QCOMPARE(QString::fromLatin1(runStatusName(b.status)), QStringLiteral("finished"));
    QCOMPARE(b.steps, a.steps);
    QCOMPARE(b.bestStep, a.bestStep);
    QCOMPARE(b.test.metrics, a.test.metrics);
    QCOMPARE(b.validation.loss, a.validation.loss);
    QCOMPARE(stepLosses(dir("resumed")), stepLosses(dir("whole")));

    // The last weights are identical, tensor for tensor.
    std::vector<std::string> keys = {"heads.main.linear.weight", "backbone.layers.0.qkv.weight",
                                     "backbone.embeddings.weight"};
    const auto wa = readModel(dir("whole") / "state" / "model.pt", keys);
    const auto wb = readModel(dir("resumed") / "state" / "model.pt", keys);
    for (const std::string &k : keys)
      QVERIFY2(torch::equal(wa.at(k), wb.at(k)), k.c_str());
  }

  // A stop that arrives during a validation stops it part-way (the window closes at once); the
  // validation is saved as due and the resume runs it first: the run still ends exactly where the
  // uninterrupted one does.
  void stopInsideValidationResumesExactly()
  {
    const ExperimentConfig small = config({"data.subset_rows=200"}); // 10 steps an epoch, validation every 8
    Trainer whole(small, dir("small-whole"));
    const RunResult a = whole.run();
    {
      Trainer first(small, dir("stopped-in-validation"));
      StopAt stop(first, 8); // step 8 is followed by a validation
      first.setObserver(&stop);
      const RunResult stopped = first.run();
      QCOMPARE(QString::fromLatin1(runStatusName(stopped.status)), QStringLiteral("stopped"));
      QCOMPARE(stopped.steps, 8L);
    }
    const auto saved =
        nlohmann::json::parse(std::ifstream(dir("stopped-in-validation") / "state" / "trainer.json"));
    QCOMPARE(saved.value("validation_due", false), true);
    QCOMPARE(saved.value("best_step", 0L), -1L); // the validation did not happen
    Trainer second(small, dir("stopped-in-validation"));
    const RunResult b = second.run();
    QCOMPARE(QString::fromLatin1(runStatusName(b.status)), QStringLiteral("finished"));
    QCOMPARE(stepLosses(dir("stopped-in-validation")), stepLosses(dir("small-whole")));
    QCOMPARE(b.bestStep, a.bestStep);
    QCOMPARE(b.test.metrics, a.test.metrics);
  }

  void sameSeedSameRunOtherSeedNot()
  {
    wholeRun();
    Trainer again(config(), dir("again"));
    const RunResult r = again.run();
    QCOMPARE(stepLosses(dir("again")), stepLosses(dir("whole")));
    const auto saved = nlohmann::json::parse(std::ifstream(dir("whole") / "results.json"));
    const auto metrics = saved["test"]["metrics"].get<std::map<std::string, double>>();
    QCOMPARE(r.test.metrics, metrics);
    Trainer other(config({"seed=7"}), dir("seed7"));
    other.run();
    QVERIFY(stepLosses(dir("seed7")) != stepLosses(dir("whole")));
  }

  // A run draws from its own generator: trained while another thread seeds and draws from
  // LibTorch's process-wide generator, runs quick checks (a model built and over-fitted) and
  // evaluates a saved run, its losses and results are bit-identical to the same run alone.
  void isolatedFromRunsBeside()
  {
    const ExperimentConfig small = config({"data.subset_rows=200"}); // 10 steps an epoch
    Trainer aloneTrainer(small, dir("small-alone"));
    const RunResult alone = aloneTrainer.run();
    std::atomic<bool> done{false};
    std::atomic<int> rounds{0};
    std::thread beside([&] {
      for (int i = 0; !done; ++i) {
        torch::manual_seed(static_cast<std::uint64_t>(i));
        (void)torch::randn({4096}).sum().item<double>();
        Trainer quick(config({"seed=" + std::to_string(100 + i), "training.dropout=0.3"}), dir("quick"));
        (void)quick.overfitOneBatch(2);
        (void)TrainedRun::open(dir("small-alone"))->evaluate("validation");
        ++rounds;
      }
    });
    Trainer trainer(small, dir("small-beside"));
    const RunResult r = trainer.run();
    done = true;
    beside.join();
    QVERIFY2(rounds > 0, "nothing ran beside the run");
    QCOMPARE(stepLosses(dir("small-beside")), stepLosses(dir("small-alone")));
    QCOMPARE(r.test.metrics, alone.test.metrics);
    QCOMPARE(r.bestStep, alone.bestStep);
  }

  // strategy.cache_frozen: partial fine-tuning of USE-Lite's top layer with the embeddings and
  // the layers below cached. With dropout 0 (where caching changes nothing) and fp32 the run's
  // losses and metrics are those of the same run uncached; the cache covers the training and
  // validation rows and is hit from the second epoch on; the saved run evaluates the same.
  void cachedFrozenLayersTrainAlike()
  {
    int layers = 0;
    {
      const ExperimentConfig probe = config();
      auto backbone = loadBackbone(probe.resolve(probe.model.path));
      for (const auto &p : backbone->module()->named_parameters())
        layers = std::max(layers, layerIndexOf(p.key()) + 1);
    }
    QVERIFY(layers >= 2);
    const std::vector<std::string> partial = {"strategy.name=partial", "strategy.freeze_bottom_layers=" + std::to_string(layers - 1),
                                              "training.dropout=0", "training.precision=fp32"};
    std::vector<std::string> cachedOverrides = partial;
    cachedOverrides.push_back("strategy.cache_frozen=true");
    Trainer plain(config(partial), dir("uncached"));
    const RunResult a = plain.run();
    Trainer cached(config(cachedOverrides), dir("cached"));
    const RunResult b = cached.run();
    QCOMPARE(QString::fromLatin1(runStatusName(b.status)), QStringLiteral("finished"));
    QCOMPARE(b.steps, a.steps);
    const auto la = stepLosses(dir("uncached")), lb = stepLosses(dir("cached"));
    QCOMPARE(la.size(), lb.size());
    for (std::size_t i = 0; i < la.size(); ++i)
      QVERIFY2(std::abs(la[i] - lb[i]) < 1e-4, qPrintable(QStringLiteral("step %1: %2 vs %3").arg(i + 1).arg(la[i]).arg(lb[i])));
    QVERIFY(std::abs(a.validation.loss - b.validation.loss) < 1e-4);
    QCOMPARE(b.test.metrics.at("accuracy"), a.test.metrics.at("accuracy"));

    const auto results = nlohmann::json::parse(std::ifstream(dir("cached") / "results.json"));
    const auto &cache = results["frozen_cache"];
    QVERIFY2(cache.is_object(), results.dump().c_str());
    QCOMPARE(cache["layers"].get<int>(), layers - 1);
    // 384 training + 48 validation + 48 test rows, each computed once.
    QCOMPARE(cache["examples"].get<int>(), 480);
    QCOMPARE(cache["misses"].get<int>(), 480);
    QVERIFY(cache["hits"].get<int>() >= 384); // the second epoch, and every later evaluation
    QVERIFY(nlohmann::json::parse(std::ifstream(dir("uncached") / "results.json"))["frozen_cache"].is_null());

    auto run = TrainedRun::open(dir("cached"));
    QVERIFY(std::abs(run->evaluate("test").metrics.at("accuracy") - b.test.metrics.at("accuracy")) < 1e-9);
  }

  void oneBatchOverfits()
  {
    Trainer t(config(), dir("sanity"));
    const std::string problem = t.overfitOneBatch();
    QVERIFY2(problem.empty(), problem.c_str());
  }

  void trainedRunPredicts()
  {
    wholeRun();
    auto run = TrainedRun::open(dir("whole"));
    const auto p = run->predict({"a wonderful , moving and funny film", "a dull , tedious mess"});
    QCOMPARE(p.size(), std::size_t(2));
    QCOMPARE(p[0].probabilities.size(), std::size_t(2));
    QVERIFY(std::abs(p[0].probabilities[0] + p[0].probabilities[1] - 1.0) < 1e-5);
    const EvalEvent test = run->evaluate("test");
    const auto saved = nlohmann::json::parse(std::ifstream(dir("whole") / "results.json"));
    QVERIFY(std::abs(test.metrics.at("accuracy") - saved["test"]["metrics"]["accuracy"].get<double>()) < 1e-9);
  }

  // A tiny training split, a high learning rate and many epochs: validation loss turns up while
  // training loss keeps falling.
  void forcedOverfittingIsDiagnosed()
  {
    Trainer t(config({"data.subset_rows=120", "training.epochs=25", "training.learning_rate=5e-4",
                      "evaluation.every_steps=0", "evaluation.early_stopping.patience=0",
                      "training.scheduler.name=constant"}),
              dir("overfit"));
    const RunResult r = t.run();
    bool found = false;
    for (const Diagnosis &d : r.diagnoses)
      found = found || d.kind == Diagnosis::Kind::Overfitting;
    QVERIFY2(found, "no over-fitting diagnosis");
    const auto results = nlohmann::json::parse(std::ifstream(dir("overfit") / "results.json"));
    bool saved = false;
    for (const auto &d : results["diagnoses"])
      saved = saved || d["kind"] == "overfitting";
    QVERIFY(saved);
  }
};

QTEST_GUILESS_MAIN(TestTrainer)
#include "tst_trainer.moc"
