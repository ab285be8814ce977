// Every training option proven against an expectation computed independently of the code under
// test: early stopping, gradient accumulation, clipping, label smoothing, SGD (momentum, Nesterov),
// the linear LR scaling rule, augmentation, temperature scaling (a SciPy golden file) and threshold
// tuning. The runs use the real default task (USE-Lite, Pang & Lee sentences), kept small.
#include "core/config/experiment.h"
#include "core/data/datareport.h"
#include "core/eval/calibration.h"
#include "core/experiments/ensemble.h"
#include "core/strategies/basicstrategies.h"
#include "core/train/batches.h"
#include "core/train/dataprep.h"
#include "core/train/optimizers.h"
#include "core/train/trainedrun.h"
#include "core/train/trainer.h"
#include "support/golden.h"
#include "support/runfiles.h"
#include "support/tensors.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/module.h>
#include <torch/optim/sgd.h>

#include <QtTest/QtTest>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

using namespace tunebench;
using tunebench::testing::assetPath;
using tunebench::testing::maxDiff;
using tunebench::testing::readModel;
using tunebench::testing::runEvents;
using tunebench::testing::stepLosses;

namespace {

// Two parameters the way models name them: a weight that takes weight decay, a bias that does not.
struct Toy : torch::nn::Module
{
  Toy()
  {
    torch::manual_seed(3);
    weight = register_parameter("weight", torch::randn({3, 4}, torch::kFloat64));
    bias = register_parameter("bias", torch::randn({3}, torch::kFloat64));
  }
  torch::Tensor loss(const torch::Tensor &x) const { return (x.matmul(weight.t()) + bias).pow(2).sum(); }
  torch::Tensor weight, bias;
};

ExperimentConfig::Training sgd(double momentum, bool nesterov)
{
  ExperimentConfig::Training t;
  t.optimizer = "sgd";
  t.learningRate = 0.01;
  t.momentum = momentum;
  t.nesterov = nesterov;
  t.weightDecay = 0.1;
  return t;
}

// PyTorch's documented SGD update, written out: g = grad + wd·p; b = g on the first step, else
// μ·b + g; Nesterov: g + μ·b, else b; p -= lr · that.
struct ReferenceSgd
{
  double lr, momentum, decay;
  bool nesterov;
  torch::Tensor buffer;
  void step(torch::Tensor &p, const torch::Tensor &grad)
  {
    torch::Tensor g = grad + decay * p;
    if (momentum > 0) {
      buffer = buffer.defined() ? momentum * buffer + g : g.clone();
      g = nesterov ? g + momentum * buffer : buffer;
    }
    p = p - lr * g;
  }
};

double f1At(const std::vector<double> &p, const std::vector<bool> &positive, double threshold)
{
  double tp = 0, fp = 0, fn = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const bool predicted = p[i] >= threshold;
    tp += predicted && positive[i];
    fp += predicted && !positive[i];
    fn += !predicted && positive[i];
  }
  return tp == 0 ? 0.0 : 2 * tp / (2 * tp + fp + fn);
}

} // namespace

class TestTrainingOptions : public QObject
{
  Q_OBJECT

  QTemporaryDir m_dir;

  ExperimentConfig config(const std::vector<std::string> &extra)
  {
    std::vector<std::string> overrides = {
        "model.path=" + assetPath(QStringLiteral("models/use-lite")).toStdString(),
        "data.path=" + assetPath(QStringLiteral("data/sentiment/pang-lee-sentences.csv")).toStdString(),
        "data.subset_rows=200",
        "training.epochs=2",
        "training.batch_size=16",
        "training.learning_rate=1e-4",
        "evaluation.every_steps=4",
        "evaluation.metric=accuracy",
        "evaluation.early_stopping.patience=0"};
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    const ConfigResult r = parseExperimentConfig("name: options\n", m_dir.path().toStdString(), overrides);
    if (!r.ok())
      qFatal("config: %s", r.problems.front().str("options").c_str());
    return r.config;
  }
  std::filesystem::path dir(const char *name) const
  {
    return m_dir.filePath(QString::fromLatin1(name)).toStdString();
  }

private Q_SLOTS:
  void initTestCase()
  {
    QVERIFY2(QFile::exists(assetPath(QStringLiteral("models/use-lite/model.json"))),
             "USE-Lite is missing: run packaging/fetch-assets.sh");
  }

  // Patience p: training stops at the p-th evaluation in a row that does not beat the best by more
  // than the threshold (worked out here from the run's own validation events), and the test split
  // is scored with the best checkpoint (re-scored here from the saved best model).
  void earlyStoppingStopsWherePatienceSays()
  {
    const ExperimentConfig c =
        config({"training.epochs=30", "training.learning_rate=5e-4", "evaluation.every_steps=2",
                "evaluation.early_stopping.patience=3", "evaluation.early_stopping.threshold=0.004"});
    Trainer trainer(c, dir("early"));
    const RunResult r = trainer.run();
    QCOMPARE(QString::fromLatin1(runStatusName(r.status)), QStringLiteral("early_stopped"));

    double best = std::nan("");
    long bestStep = -1, expectedStop = -1;
    int bad = 0;
    for (const nlohmann::json &e : runEvents(dir("early"), "eval")) {
      if (e["split"] != "validation")
        continue;
      const double v = e["metrics"]["accuracy"].get<double>();
      if (std::isnan(best) || v > best + 0.004) {
        best = v;
        bestStep = e["step"].get<long>();
        bad = 0;
      } else if (++bad == 3) {
        expectedStop = e["step"].get<long>();
        break;
      }
    }
    QVERIFY2(expectedStop > 0, "the validation accuracy never stalled for 3 evaluations");
    QVERIFY(expectedStop < 30 * 10); // before the epochs end (160 training rows: 10 steps an epoch)
    QCOMPARE(r.steps, expectedStop);
    QCOMPARE(r.bestStep, bestStep);
    QCOMPARE(r.bestMetric, best);
    const EvalEvent again = TrainedRun::open(dir("early"))->evaluate("test");
    QCOMPARE(again.metrics.at("accuracy"), r.test.metrics.at("accuracy"));
    QVERIFY(std::abs(again.loss - r.test.loss) < 1e-6);
  }

  // k micro-batches of b accumulated equal one batch of k·b (fp32, no dropout, no bucketing: the
  // same rows in the same order): the same step losses and the same weights within 1e-5. SGD with
  // momentum, whose weights follow the gradients linearly: Adam divides by √v, which turns the
  // rounding noise of near-zero gradients (embedding rows) into steps of the LR's size.
  void accumulationEqualsALargerBatch()
  {
    const std::vector<std::string> exact = {"training.precision=fp32",         "training.dropout=0",
                                            "training.bucket_by_length=false", "training.max_steps=5",
                                            "training.optimizer.name=sgd",     "training.learning_rate=0.05",
                                            "evaluation.every_steps=0",        "data.subset_rows=200"};
    auto with = [&](int batch, int accumulation) {
      std::vector<std::string> o = exact;
      o.push_back("training.batch_size=" + std::to_string(batch));
      o.push_back("training.gradient_accumulation=" + std::to_string(accumulation));
      return config(o);
    };
    Trainer a(with(16, 2), dir("accumulated"));
    Trainer b(with(32, 1), dir("large"));
    Trainer s(with(16, 1), dir("small"));
    QCOMPARE(a.run().steps, 5L);
    QCOMPARE(b.run().steps, 5L);
    QCOMPARE(s.run().steps, 5L);
    const std::vector<double> la = stepLosses(dir("accumulated")), lb = stepLosses(dir("large"));
    QCOMPARE(la.size(), std::size_t(5));
    QCOMPARE(lb.size(), std::size_t(5));
    for (std::size_t i = 0; i < la.size(); ++i)
      QVERIFY2(std::abs(la[i] - lb[i]) < 1e-5,
               qPrintable(QStringLiteral("step %1: %2 vs %3").arg(i + 1).arg(la[i]).arg(lb[i])));
    QVERIFY(std::abs(stepLosses(dir("small"))[1] - lb[1]) > 1e-4); // one micro-batch alone is not it
    const std::vector<std::string> keys = {"heads.main.linear.weight", "backbone.layers.0.qkv.weight",
                                           "backbone.embeddings.weight"};
    const auto wa = readModel(dir("accumulated") / "state" / "model.pt", keys);
    const auto wb = readModel(dir("large") / "state" / "model.pt", keys);
    const auto ws = readModel(dir("small") / "state" / "model.pt", keys);
    for (const std::string &k : keys) {
      QVERIFY2(maxDiff(wa.at(k), wb.at(k)) < 1e-5,
               qPrintable(
                   QStringLiteral("%1: %2").arg(QString::fromStdString(k)).arg(maxDiff(wa.at(k), wb.at(k)))));
      // batch 16 alone lands elsewhere, by far more than the accumulated run's rounding
      QVERIFY2(maxDiff(ws.at(k), wb.at(k)) > 20 * maxDiff(wa.at(k), wb.at(k)),
               qPrintable(QStringLiteral("%1: %2 vs %3")
                              .arg(QString::fromStdString(k))
                              .arg(maxDiff(ws.at(k), wb.at(k)))
                              .arg(maxDiff(wa.at(k), wb.at(k)))));
    }
  }

  // runtime.kernels: aten (LibTorch's own operations: torch::optim's AdamW instead of the fused
  // step, autocast's casts, no frozen-layer cache) trains as tunebench's kernels do: 20 steps in
  // fp32, every loss within 1e-5 — full fine-tuning, and a partial run whose frozen bottom layer
  // tunebench caches. Dropout on: LibTorch's bernoulli_ masks differ from the hash masks, so the
  // losses must then differ (the switch reaches the dropout).
  void atenKernelsTrainAlike()
  {
    const std::vector<std::string> common = {"training.precision=fp32", "training.dropout=0",
                                             "training.max_steps=20", "evaluation.every_steps=0",
                                             "data.subset_rows=400"};
    const auto losses = [&](const char *name, std::vector<std::string> o) {
      o.insert(o.end(), common.begin(), common.end());
      Trainer t(config(o), dir(name));
      const RunResult r = t.run();
      if (r.steps != 20)
        qFatal("%s: %s", name, r.reason.c_str());
      return stepLosses(dir(name));
    };
    const std::vector<std::vector<std::string>> settings = {
        {"strategy.name=full"},
        {"strategy.name=partial", "strategy.freeze_bottom_layers=1", "strategy.cache_frozen=true"}};
    for (std::size_t k = 0; k < settings.size(); ++k) {
      const std::string tag = std::to_string(k);
      std::vector<std::string> ours = settings[k], theirs = settings[k];
      ours.push_back("runtime.kernels=tunebench");
      theirs.push_back("runtime.kernels=aten");
      const std::vector<double> a = losses(("tunebench" + tag).c_str(), ours),
                                b = losses(("aten" + tag).c_str(), theirs);
      QCOMPARE(a.size(), std::size_t(20));
      QCOMPARE(b.size(), std::size_t(20));
      for (std::size_t i = 0; i < a.size(); ++i)
        QVERIFY2(
            std::abs(a[i] - b[i]) < 1e-5,
            qPrintable(QStringLiteral("setting %1 step %2: %3 vs %4").arg(k).arg(i + 1).arg(a[i]).arg(b[i])));
    }
    std::vector<std::string> drop = settings[0];
    drop.push_back("runtime.kernels=aten");
    drop.push_back("training.dropout=0.1"); // after the common dropout=0: the later override wins
    std::vector<std::string> dropped = common;
    dropped.erase(dropped.begin() + 1);
    dropped.insert(dropped.end(), drop.begin(), drop.end());
    Trainer t(config(dropped), dir("aten-dropout"));
    QCOMPARE(t.run().steps, 20L);
    const std::vector<double> withDropout = stepLosses(dir("aten-dropout")),
                              without = stepLosses(dir("aten0"));
    QVERIFY(std::abs(withDropout[0] - without[0]) > 1e-4);
  }

  // max_grad_norm: the norm reported is the one before clipping (the gradients' own), and after
  // clipping the global norm is at most the limit with every gradient scaled alike.
  void clippingBoundsTheGlobalNorm()
  {
    Toy toy;
    FullFineTuning full;
    ExperimentConfig::Training t = sgd(0, false);
    Optimization o = buildOptimizer(t, toy, full);
    toy.loss(torch::full({5, 4}, 3.0, torch::kFloat64)).backward();
    const torch::Tensor gw = toy.weight.grad().clone(), gb = toy.bias.grad().clone();
    const double norm = std::sqrt(gw.pow(2).sum().item<double>() + gb.pow(2).sum().item<double>());
    QVERIFY(norm > 10);
    QVERIFY(std::abs(o.gradientNorm(0.5) - norm) < 1e-9 * norm);
    const double after = std::sqrt(toy.weight.grad().pow(2).sum().item<double>() +
                                   toy.bias.grad().pow(2).sum().item<double>());
    QVERIFY2(after <= 0.5 * (1 + 1e-6), qPrintable(QString::number(after)));
    QVERIFY(after > 0.5 * (1 - 1e-3)); // clipped to the limit, not below it
    QVERIFY(maxDiff(toy.weight.grad(), gw * (after / norm)) < 1e-12);
    QVERIFY(maxDiff(toy.bias.grad(), gb * (after / norm)) < 1e-12);
    // Without a limit the gradients stay as they are.
    const double unclipped = o.gradientNorm(0);
    QVERIFY(std::abs(unclipped - after) < 1e-12);
  }

  // label_smoothing ε: the loss is (1 − ε)·NLL of the label + ε·mean over classes of −log p, averaged
  // over rows (tagging: over the positions not ignored).
  void labelSmoothingLossIsTheFormula()
  {
    torch::manual_seed(5);
    const torch::Tensor logits = torch::randn({6, 4}, torch::kFloat32) * 3;
    Batch b;
    b.labels = torch::tensor({0, 3, 1, 1, 2, 0}, torch::kLong);
    const double eps = 0.2;
    const torch::Tensor logp = torch::log_softmax(logits.to(torch::kFloat64), 1);
    double expected = 0;
    for (int i = 0; i < 6; ++i) {
      const long y = b.labels[i].item<long>();
      expected += (1 - eps) * -logp[i][y].item<double>() + eps * -logp[i].mean().item<double>();
    }
    expected /= 6;
    QVERIFY(std::abs(lossOf(logits, b, "single_label", eps).item<double>() - expected) < 1e-5);
    QVERIFY(std::abs(lossOf(logits, b, "single_label", 0.0).item<double>() - expected) > 1e-3);

    // Token tagging: 2 sentences × 3 positions, two of them ignored (-100).
    Batch tags;
    tags.labels = torch::tensor({1, -100, 2, 0, 3, -100}, torch::kLong).reshape({2, 3});
    double tagged = 0;
    int counted = 0;
    for (int i = 0; i < 6; ++i) {
      const long y = tags.labels.flatten()[i].item<long>();
      if (y < 0)
        continue;
      tagged += (1 - eps) * -logp[i][y].item<double>() + eps * -logp[i].mean().item<double>();
      ++counted;
    }
    tagged /= counted;
    QVERIFY(std::abs(lossOf(logits.reshape({2, 3, 4}), tags, "token_tagging", eps).item<double>() - tagged) <
            1e-5);
  }

  // optimizer: sgd with momentum, with Nesterov and without momentum: ten steps equal the update
  // rule written out above and LibTorch's own torch::optim::SGD; weight decay on the weight only.
  void sgdFollowsTheUpdateRule_data()
  {
    QTest::addColumn<double>("momentum");
    QTest::addColumn<bool>("nesterov");
    QTest::newRow("plain") << 0.0 << false;
    QTest::newRow("momentum") << 0.9 << false;
    QTest::newRow("nesterov") << 0.9 << true;
  }
  void sgdFollowsTheUpdateRule()
  {
    QFETCH(double, momentum);
    QFETCH(bool, nesterov);
    Toy toy, libtorch;
    FullFineTuning full;
    Optimization o = buildOptimizer(sgd(momentum, nesterov), toy, full);
    torch::optim::SGD reference(
        {torch::optim::OptimizerParamGroup(
             {libtorch.weight},
             std::make_unique<torch::optim::SGDOptions>(
                 torch::optim::SGDOptions(0.01).momentum(momentum).nesterov(nesterov).weight_decay(0.1))),
         torch::optim::OptimizerParamGroup(
             {libtorch.bias}, std::make_unique<torch::optim::SGDOptions>(
                                  torch::optim::SGDOptions(0.01).momentum(momentum).nesterov(nesterov)))},
        torch::optim::SGDOptions(0.01));
    ReferenceSgd rw{0.01, momentum, 0.1, nesterov, {}}, rb{0.01, momentum, 0.0, nesterov, {}};
    torch::Tensor w = toy.weight.detach().clone(), bias = toy.bias.detach().clone();
    const torch::Tensor x = torch::linspace(-1, 1, 20, torch::kFloat64).reshape({5, 4});
    for (int step = 0; step < 10; ++step) {
      o.optimizer->zero_grad();
      toy.loss(x).backward();
      o.optimizer->step();
      reference.zero_grad();
      libtorch.loss(x).backward();
      reference.step();
      torch::Tensor wv = w.clone().requires_grad_(), bv = bias.clone().requires_grad_();
      (x.matmul(wv.t()) + bv).pow(2).sum().backward();
      rw.step(w, wv.grad());
      rb.step(bias, bv.grad());
    }
    QVERIFY(maxDiff(toy.weight, w) < 1e-12);
    QVERIFY(maxDiff(toy.bias, bias) < 1e-12);
    QVERIFY(maxDiff(toy.weight, libtorch.weight) < 1e-12);
    QVERIFY(maxDiff(toy.bias, libtorch.bias) < 1e-12);
    QVERIFY(maxDiff(toy.weight, Toy().weight) > 1e-3); // it moved
  }

  // scale_lr_with_batch: every group's LR × (batch × accumulation) / 32, on top of the strategy's own
  // factors; off, the LR is as written.
  void linearScalingRuleMultiplies()
  {
    Toy toy;
    FullFineTuning full;
    ExperimentConfig::Training t = sgd(0, false);
    t.learningRate = 1e-3;
    t.batchSize = 8;
    t.gradientAccumulation = 2;
    QCOMPARE(buildOptimizer(t, toy, full).groupLr, (std::vector<double>{1e-3, 1e-3}));
    t.scaleLrWithBatch = true;
    const Optimization scaled = buildOptimizer(t, toy, full);
    QCOMPARE(scaled.groupLr.size(), std::size_t(2));
    for (double lr : scaled.groupLr)
      QVERIFY(std::abs(lr - 1e-3 * 16 / 32) < 1e-15);
    t.batchSize = 64;
    for (double lr : buildOptimizer(t, toy, full).groupLr)
      QVERIFY(std::abs(lr - 1e-3 * 128 / 32) < 1e-15);
  }

  // augmentation.per_row: the log's count of new rows is what the training split gained; each new
  // row comes from a training row; validation and test are the rows they are without augmentation.
  void augmentationAddsRowsToTrainingOnly()
  {
    DataReport plainReport, augmentedReport;
    const LoadedDataset plain = loadDataset(config({}), plainReport);
    const LoadedDataset augmented = loadDataset(
        config({"data.augmentation.per_row=2", "data.augmentation.swap=0.2", "data.augmentation.delete=0.1",
                "data.augmentation.synonym=0", "data.augmentation.insert=0"}),
        augmentedReport);
    QCOMPARE(augmented.split.validation, plain.split.validation);
    QCOMPARE(augmented.split.test, plain.split.test);
    const std::size_t added = augmented.split.train.size() - plain.split.train.size();
    QVERIFY(added > 0);
    QVERIFY(added <= 2 * plain.split.train.size());
    QVERIFY2(added >= 2 * plain.split.train.size() * 9 / 10,
             qPrintable(QString::number(added))); // few copies unchanged
    bool logged = false;
    for (const std::string &line : augmented.log)
      logged = logged || line == "augmentation: " + std::to_string(added) + " new training rows";
    QVERIFY(logged);
    const std::set<int> trainRows(plain.split.train.begin(), plain.split.train.end());
    for (std::size_t i = plain.split.train.size(); i < augmented.split.train.size(); ++i) {
      const Example &e = augmented.dataset.examples.at(static_cast<std::size_t>(augmented.split.train[i]));
      QVERIFY(trainRows.count(e.sourceRow));
      QVERIFY2(e.augmentation == "swap" || e.augmentation == "deletion", e.augmentation.c_str());
      QVERIFY(e.text != augmented.dataset.examples.at(static_cast<std::size_t>(e.sourceRow)).text);
      QCOMPARE(e.labels, augmented.dataset.examples.at(static_cast<std::size_t>(e.sourceRow)).labels);
    }
  }

  // An ensemble's probabilities are the members' own (each re-scored from its saved best model)
  // averaged row by row, and its accuracy is that of their arg-max.
  void ensembleAveragesTheMembers()
  {
    std::vector<std::filesystem::path> runs;
    for (const char *lr : {"1e-4", "5e-4", "1e-3"}) {
      const std::filesystem::path d = dir((std::string("member-") + lr).c_str());
      Trainer t(config({"training.max_steps=4", std::string("training.learning_rate=") + lr}), d);
      QCOMPARE(t.run().steps, 4L);
      runs.push_back(d);
    }
    const EnsembleResult e = ensembleRuns(runs, "test");
    QCOMPARE(e.members.size(), std::size_t(3));
    std::vector<std::vector<double>> mean;
    std::vector<int> truth;
    for (const auto &run : runs) {
      const TrainedRun::Detailed d = TrainedRun::open(run)->evaluateDetailed("test");
      truth = d.truth;
      if (mean.empty())
        mean.assign(d.probabilities.size(), std::vector<double>(d.probabilities.front().size(), 0.0));
      for (std::size_t r = 0; r < mean.size(); ++r)
        for (std::size_t c = 0; c < mean[r].size(); ++c)
          mean[r][c] += d.probabilities[r][c] / 3.0;
    }
    QCOMPARE(e.probabilities.size(), mean.size());
    int right = 0;
    for (std::size_t r = 0; r < mean.size(); ++r) {
      for (std::size_t c = 0; c < mean[r].size(); ++c)
        QVERIFY(std::abs(e.probabilities[r][c] - mean[r][c]) < 1e-9);
      right += std::max_element(mean[r].begin(), mean[r].end()) - mean[r].begin() == truth[r];
    }
    QCOMPARE(e.metrics.at("accuracy"), static_cast<double>(right) / static_cast<double>(mean.size()));
  }

  // Temperature scaling: T minimises the validation NLL; the golden file holds SciPy's optimum
  // (tests/golden/stats/make_calibration.py).
  void temperatureMatchesScipy()
  {
    std::ifstream in(tunebench::testing::goldenDir(QStringLiteral("stats")).toStdString() +
                     "/calibration.json");
    QVERIFY(in.good());
    const nlohmann::json golden = nlohmann::json::parse(in);
    QVERIFY(golden["temperature"].size() >= 3);
    for (const nlohmann::json &c : golden["temperature"]) {
      const auto logits = c["logits"].get<std::vector<std::vector<double>>>();
      const auto labels = c["labels"].get<std::vector<int>>();
      const double t = fitTemperature(logits, labels);
      QVERIFY2(std::abs(t - c["t"].get<double>()) < 1e-4,
               qPrintable(QStringLiteral("%1: %2 vs SciPy %3")
                              .arg(QString::fromStdString(c["name"]))
                              .arg(t)
                              .arg(c["t"].get<double>())));
      const double nll = negativeLogLikelihood(softmaxWithTemperature(logits, t), labels);
      QVERIFY(std::abs(nll - c["nll"].get<double>()) < 1e-6);
    }
  }

  // Threshold tuning: the F1-optimal threshold of a constructed case (positives at 0.3, 0.35, 0.8;
  // negatives at 0.1, 0.2, 0.6: any threshold in (0.2, 0.3] gives F1 = 6/7, the best there is), and
  // on random scores no threshold on a fine grid does better than the one chosen.
  void thresholdTuningFindsTheF1Optimum()
  {
    const std::vector<double> p = {0.3, 0.35, 0.8, 0.1, 0.2, 0.6};
    const std::vector<bool> positive = {true, true, true, false, false, false};
    const double t = tuneThreshold(p, positive);
    QVERIFY(t > 0.2 && t <= 0.3);
    QCOMPARE(f1At(p, positive, t), 6.0 / 7.0);
    QCOMPARE(f1At(p, positive, 0.5), 0.4);

    std::mt19937 rng(11);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<double> scores;
    std::vector<bool> truth;
    for (int i = 0; i < 300; ++i) {
      truth.push_back(u(rng) < 0.3);
      scores.push_back(std::clamp(u(rng) * 0.7 + (truth.back() ? 0.25 : 0.0), 0.0, 1.0));
    }
    const double chosen = f1At(scores, truth, tuneThreshold(scores, truth));
    for (int g = 0; g <= 1000; ++g)
      QVERIFY(f1At(scores, truth, g / 1000.0) <= chosen + 1e-12);
  }
};

QTEST_GUILESS_MAIN(TestTrainingOptions)
#include "tst_trainingoptions.moc"
