// Linear maps under bf16 autocast (core/models/bf16linear.h): the same outputs and input gradients
// as autocast's own path (bit for bit: the same bf16 operands into the same product), weight and bias
// gradients in fp32 as the fp32 product of those bf16 operands gives them, kept bf16 copies of the
// weights that follow every change of a weight (in-place ops, copy_, the fused optimizer, which
// writes them itself), query/key/value stacked into one product; and a whole model trained a few
// steps with them against the same model trained with autocast's casts.
#include "core/models/bf16linear.h"
#include "core/models/gpt2.h"
#include "core/models/linear.h"
#include "core/models/taskmodel.h"
#include "core/runtime/dnnlmatmul.h"
#include "core/strategies/lora.h"
#include "core/train/builtmodel.h"
#include "core/train/fusedadam.h"

#include "support/golden.h"

#include <torch/torch.h>

#include <QtTest/QtTest>

using namespace tunebench;

namespace {

double maxAbs(const torch::Tensor &a, const torch::Tensor &b)
{
  return (a.to(torch::kFloat) - b.to(torch::kFloat)).abs().max().item<double>();
}

// Largest difference relative to the largest magnitude of b.
double relative(const torch::Tensor &a, const torch::Tensor &b)
{
  return maxAbs(a, b) / b.to(torch::kFloat).abs().max().item<double>();
}

struct Result
{
  torch::Tensor y, dx, dw, db;
};

// One forward and backward of y = linear(x) under bf16 autocast, with the shadows on or off.
Result runLinear(Linear &map, const torch::Tensor &input, const torch::Tensor &upstream, bool shadows)
{
  setBf16ShadowsEnabled(shadows);
  map->weight.mutable_grad() = torch::Tensor();
  map->bias.mutable_grad() = torch::Tensor();
  const torch::Tensor x = input.detach().clone().requires_grad_(true);
  Result r;
  {
    AutocastScope autocast(true);
    r.y = map(x);
  }
  (r.y.to(torch::kFloat) * upstream).sum().backward();
  r.dx = x.grad();
  r.dw = map->weight.grad();
  r.db = map->bias.grad();
  setBf16ShadowsEnabled(true);
  return r;
}

std::filesystem::path modelFolder(const QString &name)
{
  return tunebench::testing::goldenDir(QStringLiteral("models/") + name).toStdString();
}

} // namespace

class TestBf16Linear : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }
  void cleanup() { releaseBf16Shadows(); }

  void matchesAutocast()
  {
    torch::manual_seed(3);
    Linear map(96, 80);
    const torch::Tensor x = torch::randn({4, 7, 96});
    const torch::Tensor upstream = torch::randn({4, 7, 80});
    const Result ours = runLinear(map, x, upstream, true);
    const Result theirs = runLinear(map, x, upstream, false);
    QCOMPARE(ours.y.scalar_type(), torch::kBFloat16);
    QCOMPARE(ours.y.sizes(), theirs.y.sizes());
    // The same bf16 operands into the same product: the same bits.
    QVERIFY(torch::equal(ours.y, theirs.y));
    QCOMPARE(ours.dx.scalar_type(), torch::kFloat);
    QVERIFY(torch::equal(ours.dx, theirs.dx));
    // Weight and bias gradients: the fp32 product of the bf16 operands, not rounded to bf16.
    const torch::Tensor dy = upstream.to(torch::kBFloat16).to(torch::kFloat).reshape({-1, 80});
    const torch::Tensor x16 = x.to(torch::kBFloat16).to(torch::kFloat).reshape({-1, 96});
    const torch::Tensor dw = dy.t().mm(x16), db = dy.sum(0);
    QCOMPARE(ours.dw.scalar_type(), torch::kFloat);
    const double weightError = relative(ours.dw, dw), biasError = relative(ours.db, db);
    QVERIFY2(weightError < 1e-5, qPrintable(QString::number(weightError)));
    QVERIFY2(biasError < 1e-5, qPrintable(QString::number(biasError)));
    // Autocast's are those rounded to bf16 (8 bits of mantissa).
    QVERIFY(relative(theirs.dw, dw) < 1e-2);
    QVERIFY(relative(theirs.dw, dw) > weightError);
  }

  void productsFromOneDnn()
  {
    QVERIFY2(hasDirectBf16Matmul(), "built without oneDNN's headers (libdnnl-dev)");
    torch::manual_seed(5);
    const torch::Tensor a = torch::randn({37, 50}).to(torch::kBFloat16), b = torch::randn({50, 29}).to(torch::kBFloat16);
    const torch::Tensor bias = torch::randn({29}).to(torch::kBFloat16);
    const torch::Tensor expected = a.to(torch::kFloat).mm(b.to(torch::kFloat));
    torch::Tensor out = torch::empty({37, 29});
    matmulBf16(a, b, torch::Tensor(), out);
    QVERIFY(relative(out, expected) < 1e-6);
    // Column-major operands (transposed views) and accumulation.
    out.zero_();
    matmulBf16(a.t().contiguous().t(), b.t().contiguous().t(), torch::Tensor(), out, false);
    QVERIFY(relative(out, expected) < 1e-6);
    matmulBf16(a, b, torch::Tensor(), out, true);
    QVERIFY(relative(out, 2 * expected) < 1e-6);
    // bf16 results with a bias: LibTorch's addmm, bit for bit.
    torch::Tensor out16 = torch::empty({37, 29}, torch::kBFloat16);
    matmulBf16(a, b, bias, out16);
    QVERIFY(torch::equal(out16, torch::addmm(bias, a, b)));
  }

  // The kept copy follows every change of the weight.
  void shadowFollowsTheWeight()
  {
    torch::manual_seed(4);
    Linear map(32, 16);
    const torch::Tensor x = torch::randn({5, 32});
    auto forward = [&] {
      torch::NoGradGuard noGrad;
      AutocastScope autocast(true);
      return map(x);
    };
    auto expected = [&] {
      return torch::addmm(map->bias.to(torch::kBFloat16), x.to(torch::kBFloat16), map->weight.to(torch::kBFloat16).t());
    };
    QVERIFY(torch::equal(forward(), expected()));
    QCOMPARE(bf16ShadowBytes(), std::int64_t((32 * 16 + 16) * 2));
    {
      torch::NoGradGuard noGrad;
      map->weight.add_(0.5);
    }
    QVERIFY(torch::equal(forward(), expected()));
    {
      torch::NoGradGuard noGrad;
      map->bias.copy_(torch::randn({16}));
    }
    QVERIFY(torch::equal(forward(), expected()));
    // A weight changed behind LibTorch's back (its version not moved) is not seen: the copy is
    // kept, not made per call.
    const torch::Tensor before = forward();
    map->weight.data_ptr<float>()[0] += 100.0f;
    QVERIFY(torch::equal(forward(), before));
    releaseBf16Shadows();
    QCOMPARE(bf16ShadowBytes(), std::int64_t(0));
    QVERIFY(!torch::equal(forward(), before));
  }

  // The fused optimizer writes the copies of the weights it updates: after a step they equal the
  // new weights cast, without a cast in the next forward; the weights are those of a step without.
  void optimizerWritesTheShadows()
  {
    torch::manual_seed(6);
    Linear a(24, 40), b(24, 40);
    {
      torch::NoGradGuard noGrad;
      b->weight.copy_(a->weight);
      b->bias.copy_(a->bias);
    }
    const torch::Tensor x = torch::randn({6, 24}), upstream = torch::randn({6, 40});
    FusedAdamW withShadows(a->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
    FusedAdamW without(b->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
    for (int step = 0; step < 3; ++step) {
      runLinear(a, x, upstream, true);
      runLinear(b, x, upstream, true);
      QVERIFY(currentBf16Shadow(a->weight) != nullptr);
      releaseBf16Shadows(); // b's step: no copies to write
      runLinear(a, x, upstream, true);
      withShadows.step();
      without.step();
      QVERIFY2(torch::equal(a->weight, b->weight), qPrintable(QString::number(maxAbs(a->weight, b->weight))));
      QVERIFY(torch::equal(a->bias, b->bias));
      const std::uint16_t *shadow = currentBf16Shadow(a->weight);
      QVERIFY(shadow != nullptr);
      const torch::Tensor cast = a->weight.to(torch::kBFloat16);
      QVERIFY(std::memcmp(shadow, cast.data_ptr(), static_cast<std::size_t>(cast.numel()) * 2) == 0);
      QVERIFY(currentBf16Shadow(b->weight) == nullptr);
    }
  }

  // GPT-2's Conv1D (weights stored [in, out]): autocast's addmm bit for bit, gradients in fp32.
  void inputMajorWeightMatchesAutocast()
  {
    torch::manual_seed(9);
    Conv1D map(40, 56);
    const torch::Tensor input = torch::randn({2, 6, 40}), upstream = torch::randn({2, 6, 56});
    auto pass = [&](bool shadows) {
      setBf16ShadowsEnabled(shadows);
      map->weight.mutable_grad() = torch::Tensor();
      map->bias.mutable_grad() = torch::Tensor();
      const torch::Tensor x = input.clone().requires_grad_(true);
      torch::Tensor y;
      {
        AutocastScope autocast(true);
        y = map(x);
      }
      (y.to(torch::kFloat) * upstream).sum().backward();
      setBf16ShadowsEnabled(true);
      return std::vector<torch::Tensor>{y, x.grad(), map->weight.grad(), map->bias.grad()};
    };
    const auto ours = pass(true), theirs = pass(false);
    QVERIFY(torch::equal(ours[0], theirs[0]));
    QVERIFY(torch::equal(ours[1], theirs[1]));
    const torch::Tensor dy = upstream.to(torch::kBFloat16).to(torch::kFloat).reshape({-1, 56});
    const torch::Tensor x16 = input.to(torch::kBFloat16).to(torch::kFloat).reshape({-1, 40});
    QCOMPARE(ours[2].sizes(), map->weight.sizes());
    QVERIFY(relative(ours[2], x16.t().mm(dy)) < 1e-5);
    QVERIFY(relative(ours[3], dy.sum(0)) < 1e-5);
    QVERIFY(relative(theirs[2], x16.t().mm(dy)) < 1e-2);
  }

  // Query, key and value stacked: the same as three maps, gradients split back to each.
  void stackedMapsMatchSeparateOnes()
  {
    torch::manual_seed(8);
    Linear q(48, 48), k(48, 48), v(48, 48);
    const torch::Tensor x = torch::randn({3, 5, 48});
    const torch::Tensor upstream = torch::randn({3, 5, 144});
    auto pass = [&](bool stacked) {
      for (Linear *m : {&q, &k, &v}) {
        (*m)->weight.mutable_grad() = torch::Tensor();
        (*m)->bias.mutable_grad() = torch::Tensor();
      }
      torch::Tensor y;
      {
        AutocastScope autocast(true);
        y = stacked ? bf16Linear(x, {q->weight, k->weight, v->weight}, {q->bias, k->bias, v->bias})
                    : torch::cat({q(x), k(x), v(x)}, -1);
      }
      (y.to(torch::kFloat) * upstream).sum().backward();
      std::vector<torch::Tensor> out{y};
      for (Linear *m : {&q, &k, &v}) {
        out.push_back((*m)->weight.grad());
        out.push_back((*m)->bias.grad());
      }
      return out;
    };
    const auto stacked = pass(true), separate = pass(false);
    QVERIFY(torch::equal(stacked[0], separate[0]));
    for (std::size_t i = 1; i < stacked.size(); ++i)
      QVERIFY2(relative(stacked[i], separate[i]) < 1e-5, qPrintable(QString::number(i)));
    // A frozen part (LoRA leaves the weights frozen): no gradient for it, the others unchanged.
    k->weight.requires_grad_(false);
    const auto frozen = pass(true);
    QVERIFY(!k->weight.grad().defined());
    QVERIFY(relative(frozen[1], separate[1]) < 1e-5);
    k->weight.requires_grad_(true);
  }

  // A BERT (and a GPT-2) classifier trained four steps in bf16 (AdamW, full fine-tuning, and LoRA): the first
  // step's logits are the same bits as autocast's, the losses stay within bf16's rounding of
  // autocast's, and the copies are what the model holds.
  void modelTrainsAlike_data()
  {
    QTest::addColumn<QString>("model");
    QTest::addColumn<bool>("lora");
    QTest::newRow("bert, full") << QStringLiteral("bert") << false;
    QTest::newRow("bert, lora") << QStringLiteral("bert") << true;
    QTest::newRow("gpt2 (Conv1D), full") << QStringLiteral("gpt2") << false;
  }

  void modelTrainsAlike()
  {
    QFETCH(QString, model);
    QFETCH(bool, lora);
    auto train = [&](bool shadows) {
      setBf16ShadowsEnabled(shadows);
      torch::manual_seed(11);
      TaskModel m(loadBackbone(modelFolder(model)));
      m->addHead(HeadSpec{"main", HeadKind::Classification, 2, Pooling::Native, 0.0});
      if (lora)
        LoraStrategy(LoraOptions{}).apply(*m);
      std::vector<torch::Tensor> trainable;
      for (const auto &p : m->parameters())
        if (p.requires_grad())
          trainable.push_back(p);
      FusedAdamW optimizer(trainable, torch::optim::AdamWOptions(1e-3));
      torch::manual_seed(12);
      const torch::Tensor ids = torch::randint(5, 90, {4, 9}, torch::kLong);
      const torch::Tensor mask = torch::ones({4, 9}, torch::kLong), types = torch::zeros({4, 9}, torch::kLong);
      const torch::Tensor labels = torch::tensor({0, 1, 1, 0}, torch::kLong);
      std::vector<torch::Tensor> out;
      m->eval(); // no dropout: both runs see the same computation
      for (int step = 0; step < 4; ++step) {
        dropGradients(optimizer);
        torch::Tensor logits;
        {
          AutocastScope autocast(true);
          logits = m->forward("main", ids, mask, types).to(torch::kFloat);
        }
        const torch::Tensor loss = torch::cross_entropy_loss(logits, labels);
        loss.backward();
        optimizer.step();
        out.push_back(logits.detach());
        out.push_back(loss.detach());
      }
      if (shadows) {
        // Every projection's weight is among the kept copies (embeddings and LoRA's own matrices are not).
        double projections = 0;
        for (const auto &p : m->named_parameters()) {
          const std::string &name = p.key();
          if (p.value().dim() == 2 && name.find("embeddings") == std::string::npos && name.find("wte") == std::string::npos &&
              name.find("wpe") == std::string::npos && name.find("lora") == std::string::npos)
            projections += 2.0 * static_cast<double>(p.value().numel());
        }
        out.push_back(torch::tensor(projections > 0 ? static_cast<double>(bf16ShadowBytes()) / projections : 0.0));
      }
      releaseBf16Shadows();
      setBf16ShadowsEnabled(true);
      return out;
    };
    const auto ours = train(true), theirs = train(false);
    QVERIFY(torch::equal(ours[0], theirs[0]));
    for (int step = 0; step < 4; ++step) {
      const double a = ours[2 * step + 1].item<double>(), b = theirs[2 * step + 1].item<double>();
      QVERIFY2(std::abs(a - b) < 2e-2 * std::max(1.0, std::abs(b)),
               qPrintable(QStringLiteral("step %1: %2 vs %3").arg(step).arg(a).arg(b)));
    }
    // Training moved the loss (the comparison above is not of constants).
    QVERIFY(std::abs(ours[7].item<double>() - ours[1].item<double>()) > 1e-3);
    QVERIFY2(ours.back().item<double>() >= 1.0, qPrintable(QString::number(ours.back().item<double>())));
  }
};

QTEST_GUILESS_MAIN(TestBf16Linear)
#include "tst_bf16linear.moc"
