// Activation checkpointing (core/models/checkpointing.h): a step with checkpointed layers gives the
// plain step's loss and gradients (within 1e-6 fp32, dropout on, the same generator seed;
// gradients relative to each tensor's largest element above 1) for every family and with every
// strategy, and in bf16; every layer (or every k-th) is recomputed, and the run's generator ends
// where the plain step leaves it; above the frozen-layer cache too. A run with
// training.activation_checkpointing trains as the run without it does.
#include "core/config/experiment.h"
#include "core/models/checkpoint.h"
#include "core/models/checkpointing.h"
#include "core/models/dropout.h"
#include "core/models/gpt2.h"
#include "core/models/t5.h"
#include "core/models/taskmodel.h"
#include "core/runtime/generator.h"
#include "core/strategies/adapters.h"
#include "core/strategies/basicstrategies.h"
#include "core/strategies/lora.h"
#include "core/strategies/prefix.h"
#include "core/train/batches.h"
#include "core/train/builtmodel.h"
#include "core/train/frozencache.h"
#include "core/train/trainer.h"
#include "support/golden.h"
#include "support/runfiles.h"
#include "support/tensors.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <QtTest/QtTest>

#include <functional>
#include <set>

using namespace tunebench;

namespace {

std::filesystem::path modelFolder(const QString &name)
{
  if (name == QLatin1String("use-lite"))
    return tunebench::testing::assetPath(QStringLiteral("models/use-lite")).toStdString();
  return tunebench::testing::goldenDir(QStringLiteral("models/") + name).toStdString();
}

// A model of one family with its loss over a fixed batch.
struct Subject
{
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor()> loss;
  int layers = 0;
};

torch::Tensor batchIds(int vocab, std::int64_t rows, std::int64_t time, std::uint64_t seed)
{
  auto g = seededGenerator(seed);
  return torch::randint(5, vocab, {rows, time}, g, torch::kLong);
}

torch::Tensor paddedMask(std::int64_t rows, std::int64_t time)
{
  torch::Tensor mask = torch::ones({rows, time}, torch::kLong);
  mask[0].narrow(0, time - 3, 3).fill_(0); // the first row shorter
  return mask;
}

Subject subject(const QString &family)
{
  const std::filesystem::path folder = modelFolder(family);
  Subject s;
  if (family == QLatin1String("gpt2")) {
    Gpt2LMHeadModel m(Gpt2Config::fromFile(folder / "config.json"));
    loadStateDict(*m, readCheckpoint(folder), folder.string(), "", {});
    const torch::Tensor ids = batchIds(90, 3, 10, 1), mask = paddedMask(3, 10);
    s.module = m.ptr();
    s.layers = m->config().numLayers;
    s.loss = [m, ids, mask]() mutable {
      const torch::Tensor logits = m(ids, mask);
      return torch::cross_entropy_loss(logits.narrow(1, 0, 9).reshape({-1, logits.size(-1)}),
                                       ids.narrow(1, 1, 9).reshape({-1}));
    };
  } else if (family == QLatin1String("t5")) {
    const std::filesystem::path t5 =
        tunebench::testing::goldenDir(QStringLiteral("models/t5_v1_1")).toStdString();
    T5Model m(T5Config::fromFile(t5 / "config.json"));
    loadStateDict(*m, readCheckpoint(t5), t5.string(), "", {});
    const torch::Tensor ids = batchIds(50, 3, 9, 2), mask = paddedMask(3, 9);
    const torch::Tensor target = batchIds(50, 3, 6, 3), targetMask = paddedMask(3, 6);
    s.module = m.ptr();
    s.layers = m->config().numLayers;
    s.loss = [m, ids, mask, target, targetMask]() mutable {
      const torch::Tensor memory = m->encode(ids, mask);
      const torch::Tensor logits =
          m->decode(target.narrow(1, 0, 5), targetMask.narrow(1, 0, 5), memory, m->memoryMask(mask));
      return torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}),
                                       target.narrow(1, 1, 5).reshape({-1}));
    };
  } else {
    TaskModel m(loadBackbone(folder));
    m->addHead(HeadSpec{"main", HeadKind::Classification, 3, Pooling::Native, 0.1});
    const int vocab = family == QLatin1String("use-lite") ? 5000 : 90;
    const torch::Tensor ids = batchIds(vocab, 4, 11, 4), mask = paddedMask(4, 11);
    const torch::Tensor labels = torch::tensor({0, 2, 1, 2}, torch::kLong);
    s.module = m.ptr();
    for (const auto &p : m->named_parameters())
      s.layers = std::max(s.layers, layerIndexOf(p.key()) + 1);
    s.loss = [m, ids, mask, labels]() mutable {
      return torch::cross_entropy_loss(m->forward("main", ids, mask, torch::zeros_like(ids)), labels);
    };
  }
  return s;
}

std::unique_ptr<Strategy> strategyNamed(const QString &name, const QString &family)
{
  if (name == QLatin1String("lora")) {
    LoraOptions o;
    o.r = 4;
    o.dropout = 0.1; // LoRA's own dropout must repeat in the recomputation too
    o.targets = family == QLatin1String("gpt2")         ? std::vector<std::string>{"c_attn", "c_fc"}
                : family == QLatin1String("t5")         ? std::vector<std::string>{"q", "v", "wo"}
                : family == QLatin1String("distilbert") ? std::vector<std::string>{"q_lin", "v_lin", "lin1"}
                : family == QLatin1String("use-lite")   ? std::vector<std::string>{"qkv"}
                                                        : std::vector<std::string>{"query", "value", "dense"};
    return std::make_unique<LoraStrategy>(o);
  }
  if (name == QLatin1String("adapters"))
    return std::make_unique<AdapterStrategy>(AdapterOptions{"houlsby", 4, "gelu"});
  if (name == QLatin1String("prefix"))
    return std::make_unique<PrefixTuning>(PrefixOptions{3, true, 16});
  if (name == QLatin1String("prompt"))
    return std::make_unique<PromptTuning>(PromptOptions{3, {}});
  if (name == QLatin1String("ia3"))
    return std::make_unique<Ia3Strategy>();
  if (name == QLatin1String("bitfit"))
    return std::make_unique<BitFit>();
  if (name == QLatin1String("partial")) {
    PartialOptions o;
    o.freezeBottomLayers = 1;
    return std::make_unique<PartialFineTuning>(o);
  }
  return std::make_unique<FullFineTuning>();
}

struct Pass
{
  double loss = 0;
  std::map<std::string, torch::Tensor> grads;
  std::uint64_t nextDraw = 0; // what the run's generator draws after the step
  int recomputed = 0;         // checkpointed layers in the graph
};

int checkpointNodes(const torch::Tensor &root)
{
  std::set<const torch::autograd::Node *> seen;
  std::vector<torch::autograd::Node *> stack{root.grad_fn().get()};
  int count = 0;
  while (!stack.empty()) {
    torch::autograd::Node *n = stack.back();
    stack.pop_back();
    if (!n || !seen.insert(n).second)
      continue;
    if (n->name() == "CheckpointBackward")
      ++count;
    for (const auto &e : n->next_edges())
      stack.push_back(e.function.get());
  }
  return count;
}

// One forward and backward pass as the trainer takes it (the forward pass in bf16 autocast when
// asked, the backward pass after the scope).
Pass step(Subject &s, int every, std::uint64_t seed, bool bf16 = false)
{
  for (auto &p : s.module->parameters())
    p.mutable_grad() = torch::Tensor();
  at::Generator generator = seededGenerator(seed);
  GeneratorScope scope(generator);
  Pass out;
  torch::Tensor loss;
  {
    CheckpointScope checkpointing(every);
    AutocastScope autocast(bf16);
    loss = s.loss();
  }
  out.recomputed = checkpointNodes(loss);
  loss.backward();
  out.loss = loss.item<double>();
  for (const auto &p : s.module->named_parameters())
    if (p.value().requires_grad())
      out.grads[p.key()] =
          p.value().grad().defined() ? p.value().grad().clone() : torch::zeros_like(p.value());
  std::lock_guard<std::mutex> lock(generator.mutex());
  out.nextDraw = generator.get<at::CPUGeneratorImpl>()->random64();
  return out;
}

// The largest difference of a gradient tensor, relative to its largest element when that is above
// 1: float rounding of sums taken in another order (a layer's input gradient gathered inside the
// recomputation, then the residual's) stays at a few units of the last place.
double worstGradient(const Pass &a, const Pass &b)
{
  double worst = 0;
  for (const auto &[name, g] : a.grads) {
    const double scale = std::max(1.0, g.abs().max().item<double>());
    worst = std::max(worst, (g - b.grads.at(name)).abs().max().item<double>() / scale);
  }
  return worst;
}

double gradientSize(const Pass &p)
{
  double total = 0;
  for (const auto &[name, g] : p.grads)
    total += g.abs().sum().item<double>();
  return total;
}

} // namespace

class TestCheckpointing : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  void sameGradients_data()
  {
    QTest::addColumn<QString>("family");
    QTest::addColumn<QString>("strategy");
    const QStringList families = {QStringLiteral("bert"),       QStringLiteral("roberta"),
                                  QStringLiteral("distilbert"), QStringLiteral("gpt2"),
                                  QStringLiteral("t5"),         QStringLiteral("use-lite")};
    const QStringList strategies = {QStringLiteral("full"),   QStringLiteral("partial"),
                                    QStringLiteral("lora"),   QStringLiteral("adapters"),
                                    QStringLiteral("prefix"), QStringLiteral("prompt"),
                                    QStringLiteral("ia3"),    QStringLiteral("bitfit")};
    for (const QString &f : families)
      for (const QString &s : strategies)
        if (f != QLatin1String("t5") || s != QLatin1String("bitfit")) // T5 has no biases: nothing would train
          QTest::newRow(qPrintable(f + QLatin1Char('/') + s)) << f << s;
  }

  // Checkpointing every layer, and every second layer, against the plain step.
  void sameGradients()
  {
    QFETCH(QString, family);
    QFETCH(QString, strategy);
    Subject s = subject(family);
    QVERIFY(s.layers >= 2);
    strategyNamed(strategy, family)->apply(*s.module);
    {
      // Zero-initialised parts (LoRA's B, the adapters' up projection) moved off zero, so that every
      // trainable tensor gets a gradient worth comparing.
      torch::NoGradGuard noGrad;
      auto g = seededGenerator(11);
      for (auto &p : s.module->parameters())
        if (p.requires_grad())
          p.add_(torch::randn(p.sizes(), g, p.options()) * 0.02);
    }
    s.module->train();
    const Pass plain = step(s, 0, 77);
    QCOMPARE(plain.recomputed, 0);
    QVERIFY(gradientSize(plain) > 0);
    // Dropout is on: another seed gives another loss.
    QVERIFY(std::abs(step(s, 0, 78).loss - plain.loss) > 1e-6);
    for (int every : {1, 2}) {
      const Pass checkpointed = step(s, every, 77);
      int expected = 0; // layers 0, every, 2·every …, less a frozen bottom layer (nothing to recompute)
      for (int i = 0; i < s.layers; i += every)
        expected += strategy == QLatin1String("partial") && i == 0 ? 0 : 1;
      if (family == QLatin1String("t5")) // encoder and decoder stacks
        QVERIFY2(checkpointed.recomputed >= expected, qPrintable(QString::number(checkpointed.recomputed)));
      else
        QCOMPARE(checkpointed.recomputed, expected);
      QCOMPARE(checkpointed.grads.size(), plain.grads.size());
      QVERIFY2(std::abs(checkpointed.loss - plain.loss) <= 1e-6,
               qPrintable(QStringLiteral("loss %1 vs %2").arg(checkpointed.loss).arg(plain.loss)));
      const double worst = worstGradient(plain, checkpointed);
      QVERIFY2(worst <= 1e-6,
               qPrintable(QStringLiteral("every %1: gradients differ by %2").arg(every).arg(worst)));
      QCOMPARE(checkpointed.nextDraw, plain.nextDraw);
    }
  }

  void sameGradientsBf16_data()
  {
    QTest::addColumn<QString>("family");
    QTest::addColumn<QString>("strategy");
    QTest::newRow("bert/full") << QStringLiteral("bert") << QStringLiteral("full");
    QTest::newRow("roberta/lora") << QStringLiteral("roberta") << QStringLiteral("lora");
    QTest::newRow("gpt2/prefix") << QStringLiteral("gpt2") << QStringLiteral("prefix");
    QTest::newRow("t5/full") << QStringLiteral("t5") << QStringLiteral("full");
    QTest::newRow("use-lite/adapters") << QStringLiteral("use-lite") << QStringLiteral("adapters");
  }

  // In bf16 autocast the recomputation runs in bf16 again: the same loss and gradients.
  void sameGradientsBf16()
  {
    QFETCH(QString, family);
    QFETCH(QString, strategy);
    Subject s = subject(family);
    strategyNamed(strategy, family)->apply(*s.module);
    s.module->train();
    const Pass plain = step(s, 0, 5, true);
    const Pass checkpointed = step(s, 1, 5, true);
    QVERIFY(checkpointed.recomputed > 0);
    QVERIFY(gradientSize(plain) > 0);
    QVERIFY2(std::abs(checkpointed.loss - plain.loss) <= 1e-6,
             qPrintable(QStringLiteral("loss %1 vs %2").arg(checkpointed.loss).arg(plain.loss)));
    // The prefix MLP runs once per layer on the same weights; the plain step's autocast casts
    // them once and sums their gradient over the layers in bf16, the recomputations each cast
    // anew (sums in fp32): those differ by bf16 rounding, everything else within 1e-6.
    for (const auto &[name, g] : plain.grads) {
      const double d = (g - checkpointed.grads.at(name)).abs().max().item<double>() /
                       std::max(1.0, g.abs().max().item<double>());
      const double tolerance = name.rfind("prefix_encoder.", 0) == 0 ? 1.0 / 256 : 1e-6;
      QVERIFY2(d <= tolerance, qPrintable(QStringLiteral("%1 differs by %2").arg(name.c_str()).arg(d)));
    }
    // bf16 did compute: the fp32 step's loss is not the same number.
    QVERIFY(std::abs(step(s, 0, 5, false).loss - plain.loss) > 1e-6);
  }

  // The default task (USE-Lite, dropout on, fp32 and bf16): 12 steps with every layer checkpointed
  // log the losses of the run without it and end on the same weights.
  void trainerRunsAlike()
  {
    QVERIFY2(QFile::exists(tunebench::testing::assetPath(QStringLiteral("models/use-lite/model.json"))),
             "USE-Lite is missing: run packaging/fetch-assets.sh");
    QTemporaryDir dir;
    for (const std::string precision : {"fp32", "bf16"}) {
      std::vector<std::vector<double>> losses;
      std::vector<std::map<std::string, torch::Tensor>> weights;
      const std::vector<std::string> keys = {"backbone.layers.0.qkv.weight", "backbone.layers.1.qkv.weight",
                                             "heads.main.linear.weight"};
      for (const std::string every : {"0", "1"}) {
        const std::vector<std::string> overrides = {
            "model.path=" + tunebench::testing::assetPath(QStringLiteral("models/use-lite")).toStdString(),
            "data.path=" +
                tunebench::testing::assetPath(QStringLiteral("data/sentiment/pang-lee-sentences.csv"))
                    .toStdString(),
            "data.subset_rows=200",
            "training.batch_size=16",
            "training.max_steps=12",
            "training.dropout=0.1",
            "training.precision=" + precision,
            "evaluation.every_steps=0",
            "training.activation_checkpointing=" + every};
        const ConfigResult r = parseExperimentConfig("name: ckpt\n", dir.path().toStdString(), overrides);
        QVERIFY2(r.ok(), r.ok() ? "" : r.problems.front().str("ckpt").c_str());
        const std::filesystem::path run =
            dir.filePath(QString::fromStdString(precision + every)).toStdString();
        Trainer t(r.config, run);
        QCOMPARE(t.run().steps, 12L);
        losses.push_back(tunebench::testing::stepLosses(run));
        weights.push_back(tunebench::testing::readModel(run / "state" / "model.pt", keys));
      }
      QCOMPARE(losses[0].size(), std::size_t(12));
      QCOMPARE(losses[1].size(), losses[0].size());
      for (std::size_t i = 0; i < losses[0].size(); ++i)
        QVERIFY2(std::abs(losses[0][i] - losses[1][i]) <= 1e-6,
                 qPrintable(QStringLiteral("%1 step %2: %3 vs %4")
                                .arg(QString::fromStdString(precision))
                                .arg(i + 1)
                                .arg(losses[0][i])
                                .arg(losses[1][i])));
      for (const std::string &k : keys)
        QVERIFY2(tunebench::testing::maxDiff(weights[0].at(k), weights[1].at(k)) <= 1e-6, k.c_str());
    }
  }

  // Partial fine-tuning whose frozen bottom layer comes from the frozen-layer cache: the layers
  // above it are checkpointed, and the step's loss and gradients are the uncheckpointed cached
  // step's (dropout on in the trained layers).
  void withTheFrozenLayerCache()
  {
    TaskModel m(loadBackbone(modelFolder(QStringLiteral("bert"))));
    m->addHead(HeadSpec{"main", HeadKind::Classification, 2, Pooling::Native, 0.1});
    PartialOptions o;
    o.freezeEmbeddings = true;
    o.freezeBottomLayers = 1;
    PartialFineTuning(o).apply(*m);
    std::vector<EncodedExample> data;
    for (int i = 0; i < 4; ++i) {
      EncodedExample e;
      for (int j = 0; j < 6 + 2 * i; ++j)
        e.ids.push_back(5 + (7 * i + 3 * j) % 80);
      e.typeIds.assign(e.ids.size(), 0);
      e.label = i % 2;
      e.row = i;
      data.push_back(std::move(e));
    }
    const Batch b = collate(data, {0, 1, 2, 3}, 0, "single_label", 2);
    FrozenLayerCache cache(1, torch::kFloat32);
    m->train();
    Subject s;
    s.module = m.ptr();
    s.loss = [&]() {
      return torch::cross_entropy_loss(m->forward("main", cache.encode(m->backbone(), b)), b.labels);
    };
    const Pass plain = step(s, 0, 9);
    const Pass checkpointed = step(s, 1, 9);
    QVERIFY(cache.hits() > 0);
    QCOMPARE(checkpointed.recomputed, 1); // layer 1 of 2; layer 0 is cached
    QVERIFY(gradientSize(plain) > 0);
    QVERIFY(std::abs(checkpointed.loss - plain.loss) <= 1e-6);
    const double worst = worstGradient(plain, checkpointed);
    QVERIFY2(worst <= 1e-6, qPrintable(QStringLiteral("gradients differ by %1").arg(worst)));
    QVERIFY(std::abs(step(s, 0, 10).loss - plain.loss) > 1e-6); // dropout on
  }

  // Outside a training step nothing is checkpointed: eval mode, or no gradients recorded.
  void onlyWhileTraining()
  {
    Subject s = subject(QStringLiteral("bert"));
    s.module->eval();
    CheckpointScope checkpointing(1);
    QCOMPARE(checkpointNodes(s.loss()), 0);
    s.module->train();
    QVERIFY(checkpointNodes(s.loss()) > 0);
    torch::NoGradGuard noGrad;
    QVERIFY(!s.loss().requires_grad());
  }
};

QTEST_GUILESS_MAIN(TestCheckpointing)
#include "tst_checkpointing.moc"
