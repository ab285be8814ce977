// Cached outputs of frozen bottom layers (strategy.cache_frozen, core/train/frozencache.h): the
// cached path computes what the uncached model computes in eval mode — logits, loss and the
// gradients of everything that trains — for BERT, RoBERTa, DistilBERT and USE-Lite, with batches
// of mixed lengths re-padded each time; the cache is hit on the second pass, recomputes an example
// whose ids changed, and computes its entries without dropout even in train mode.
#include "core/models/taskmodel.h"
#include "core/strategies/basicstrategies.h"
#include "core/train/batches.h"
#include "core/train/dataprep.h"
#include "core/train/frozencache.h"

#include "support/golden.h"

#include <torch/torch.h>

#include <QtTest/QtTest>

using namespace tunebench;

namespace {

std::filesystem::path modelFolder(const QString &name)
{
  if (name == QLatin1String("use-lite"))
    return tunebench::testing::assetPath(QStringLiteral("models/use-lite")).toStdString();
  return tunebench::testing::goldenDir(QStringLiteral("models/") + name).toStdString();
}

// Examples of different lengths (ids from 5 up to `vocab`), labels 0/1.
std::vector<EncodedExample> examples(int vocab, const std::vector<int> &lengths, std::uint64_t seed)
{
  std::vector<EncodedExample> out;
  torch::manual_seed(seed);
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    EncodedExample e;
    const torch::Tensor ids = torch::randint(5, vocab, {lengths[i]}, torch::kLong);
    for (std::int64_t j = 0; j < ids.size(0); ++j)
      e.ids.push_back(static_cast<int>(ids[j].item<std::int64_t>()));
    e.typeIds.assign(e.ids.size(), 0);
    e.label = static_cast<int>(i % 2);
    e.row = static_cast<int>(i);
    out.push_back(std::move(e));
  }
  return out;
}

struct Pass
{
  torch::Tensor logits, loss;
  std::map<std::string, torch::Tensor> grads;
};

Pass run(TaskModel &model, const Batch &b, FrozenLayerCache *cache)
{
  for (auto &p : model->parameters())
    p.mutable_grad() = torch::Tensor();
  Pass out;
  out.logits = cache ? model->forward("main", cache->encode(model->backbone(), b)) : model->forward("main", b.ids, b.mask, b.types);
  out.loss = torch::cross_entropy_loss(out.logits, b.labels);
  out.loss.backward();
  for (const auto &p : model->named_parameters())
    if (p.value().requires_grad())
      out.grads[p.key()] = p.value().grad().defined() ? p.value().grad().clone() : torch::zeros_like(p.value());
  return out;
}

double maxDifference(const Pass &a, const Pass &b)
{
  double worst = (a.logits - b.logits).abs().max().item<double>();
  worst = std::max(worst, (a.loss - b.loss).abs().item<double>());
  for (const auto &[name, g] : a.grads)
    worst = std::max(worst, (g - b.grads.at(name)).abs().max().item<double>());
  return worst;
}

} // namespace

class TestFrozenCache : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  void cachedEqualsUncached_data()
  {
    QTest::addColumn<QString>("model");
    QTest::addColumn<int>("frozen");
    QTest::newRow("bert, 1 of 2 layers") << QStringLiteral("bert") << 1;
    QTest::newRow("bert, both layers (pooler trains)") << QStringLiteral("bert") << 2;
    QTest::newRow("roberta") << QStringLiteral("roberta") << 1;
    QTest::newRow("distilbert") << QStringLiteral("distilbert") << 1;
    QTest::newRow("use-lite, all but the top layer") << QStringLiteral("use-lite") << -1;
  }

  void cachedEqualsUncached()
  {
    QFETCH(QString, model);
    QFETCH(int, frozen);
    TaskModel m(loadBackbone(modelFolder(model)));
    m->addHead(HeadSpec{"main", HeadKind::Classification, 2, Pooling::Native, 0.1});
    if (frozen < 0) {
      int layers = 0;
      for (const auto &p : m->named_parameters())
        layers = std::max(layers, layerIndexOf(p.key()) + 1);
      QVERIFY(layers >= 2);
      frozen = layers - 1;
    }
    PartialOptions o;
    o.freezeEmbeddings = true;
    o.freezeBottomLayers = frozen;
    PartialFineTuning(o).apply(*m);
    QCOMPARE(m->backbone().frozenBottomLayers(), frozen);

    const int vocab = model == QLatin1String("use-lite") ? 5000 : 90;
    const auto data = examples(vocab, {7, 3, 12, 5, 9, 12}, 7);
    FrozenLayerCache cache(frozen, torch::kFloat32);
    m->eval();
    // Two batches of other widths over the same rows: first misses, then hits re-padded differently.
    const Batch wide = collate(data, {0, 1, 2, 3}, 0, "single_label", 2);
    const Batch narrow = collate(data, {3, 1, 0}, 0, "single_label", 2);
    QCOMPARE(wide.ids.size(1), std::int64_t(12));
    QCOMPARE(narrow.ids.size(1), std::int64_t(7));
    for (const Batch *b : {&wide, &narrow, &wide}) {
      const Pass plain = run(m, *b, nullptr);
      const Pass cached = run(m, *b, &cache);
      const double worst = maxDifference(plain, cached);
      QVERIFY2(worst < 2e-5, qPrintable(QStringLiteral("%1: max difference %2").arg(model).arg(worst)));
      QVERIFY(plain.loss.item<double>() > 0);
    }
    QCOMPARE(cache.misses(), std::int64_t(4));
    QCOMPARE(cache.hits(), std::int64_t(3 + 4));
    QCOMPARE(cache.examples(), std::int64_t(4));
    QVERIFY(cache.bytes() > 0);
    // Something below the cache still trains: the head at least, and the layers above it.
    const Pass p = run(m, wide, &cache);
    double headGrad = 0;
    for (const auto &[name, g] : p.grads)
      if (name.rfind("heads.", 0) == 0)
        headGrad += g.abs().sum().item<double>();
    QVERIFY(headGrad > 0);
  }

  // The same key (dataset, row) with other ids — another dataset at the same address — is
  // computed afresh.
  void changedIdsAreRecomputed()
  {
    TaskModel m(loadBackbone(modelFolder(QStringLiteral("bert"))));
    m->addHead(HeadSpec{"main", HeadKind::Classification, 2, Pooling::Native, 0.1});
    PartialFineTuning({true, 1, {}, 1.0, std::nullopt}).apply(*m);
    m->eval();
    FrozenLayerCache cache(1, torch::kFloat32);
    auto data = examples(90, {6, 8}, 1);
    const Batch before = collate(data, {0, 1}, 0, "single_label", 2);
    run(m, before, &cache);
    data[1].ids[2] = data[1].ids[2] == 40 ? 41 : 40;
    const Batch after = collate(data, {0, 1}, 0, "single_label", 2);
    QCOMPARE(after.source, before.source);
    const double worst = maxDifference(run(m, after, nullptr), run(m, after, &cache));
    QVERIFY2(worst < 2e-5, qPrintable(QString::number(worst)));
    QCOMPARE(cache.misses(), std::int64_t(3));
    QCOMPARE(cache.hits(), std::int64_t(1));
  }

  // In train mode the frozen bottom runs without dropout (eval mode) and the model is left in the
  // mode it was in: an entry made in train mode serves eval mode exactly.
  void entriesAreComputedWithoutDropout()
  {
    TaskModel m(loadBackbone(modelFolder(QStringLiteral("bert"))));
    m->addHead(HeadSpec{"main", HeadKind::Classification, 2, Pooling::Native, 0.0});
    PartialFineTuning({true, 2, {}, 1.0, std::nullopt}).apply(*m);
    FrozenLayerCache cache(2, torch::kFloat32);
    const auto data = examples(90, {9, 4, 11}, 3);
    const Batch b = collate(data, {0, 1, 2}, 0, "single_label", 2);
    m->train();
    {
      torch::NoGradGuard noGrad;
      cache.encode(m->backbone(), b);
    }
    QVERIFY(m->is_training());
    QVERIFY(m->backbone().module()->is_training());
    m->eval();
    const double worst = maxDifference(run(m, b, nullptr), run(m, b, &cache));
    QVERIFY2(worst < 2e-5, qPrintable(QString::number(worst)));
    QCOMPARE(cache.hits(), std::int64_t(3));
  }

  // What can be cached: the embeddings and a run of frozen layers from the bottom.
  void frozenBottomLayersFollowTheStrategy()
  {
    const auto count = [](const std::function<void(torch::nn::Module &)> &apply) {
      TaskModel m(loadBackbone(modelFolder(QStringLiteral("bert"))));
      m->addHead(HeadSpec{});
      apply(*m);
      return m->backbone().frozenBottomLayers();
    };
    QCOMPARE(count([](torch::nn::Module &m) { PartialFineTuning({true, 1, {}, 1.0, std::nullopt}).apply(m); }), 1);
    QCOMPARE(count([](torch::nn::Module &m) { PartialFineTuning({false, 1, {}, 1.0, std::nullopt}).apply(m); }), 0);
    QCOMPARE(count([](torch::nn::Module &m) { PartialFineTuning({true, 0, {1}, 1.0, std::nullopt}).apply(m); }), 0);
    QCOMPARE(count([](torch::nn::Module &m) { LinearProbe().apply(m); }), 2);
    QCOMPARE(count([](torch::nn::Module &m) { BitFit().apply(m); }), 0);
    QCOMPARE(count([](torch::nn::Module &m) { FullFineTuning().apply(m); }), 0);
    // Backbones that cannot be split say so.
    auto gpt2 = loadBackbone(modelFolder(QStringLiteral("gpt2")));
    for (auto &p : gpt2->module()->parameters())
      p.set_requires_grad(false);
    QCOMPARE(gpt2->frozenBottomLayers(), 0);
  }
};

QTEST_GUILESS_MAIN(TestFrozenCache)
#include "tst_frozencache.moc"
