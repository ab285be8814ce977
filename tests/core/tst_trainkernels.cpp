// The training kernels tunebench runs instead of LibTorch's ops (core/models/dropout.*,
// core/train/fusedadam.*), checked against LibTorch's own: dropout's statistics, scaling,
// gradient and reproducibility; the fused Adam/AdamW steps against torch::optim's, state files
// interchangeable both ways.
#include "core/models/dropout.h"
#include "core/runtime/generator.h"
#include "core/runtime/kernels.h"
#include "core/train/fusedadam.h"

#include <ATen/Parallel.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <QtTest/QtTest>

#include <sstream>

using namespace tunebench;

namespace {

double keptFraction(const torch::Tensor &y) { return (y != 0).to(torch::kDouble).mean().item<double>(); }

std::vector<torch::Tensor> randomParams(int seed)
{
  torch::manual_seed(seed);
  return {torch::randn({64, 48}), torch::randn({48}), torch::randn({1000, 3}), torch::randn({7})};
}

void setGrads(std::vector<torch::Tensor> &params, int step)
{
  torch::manual_seed(1000 + step);
  for (auto &p : params)
    p.mutable_grad() = torch::randn_like(p) * (step + 1);
}

// Runs `steps` steps of two optimizers over two copies of the same parameters (two groups: the
// first decayed, the second not) and returns the largest difference between the weights.
template <typename Ours, typename Theirs, typename Options>
double maxDifference(const Options &options, int steps)
{
  std::vector<torch::Tensor> a = randomParams(7), b = randomParams(7);
  for (auto &p : a)
    p.requires_grad_(true);
  for (auto &p : b)
    p.requires_grad_(true);
  Options undecayed = options;
  undecayed.weight_decay(0);
  Ours ours({torch::optim::OptimizerParamGroup({a[0], a[2]}, std::make_unique<Options>(options)),
             torch::optim::OptimizerParamGroup({a[1], a[3]}, std::make_unique<Options>(undecayed))},
            options);
  Theirs theirs({torch::optim::OptimizerParamGroup({b[0], b[2]}, std::make_unique<Options>(options)),
                 torch::optim::OptimizerParamGroup({b[1], b[3]}, std::make_unique<Options>(undecayed))},
                options);
  for (int s = 0; s < steps; ++s) {
    setGrads(a, s);
    setGrads(b, s);
    ours.step();
    theirs.step();
  }
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    // The update is what must agree: compare relative to its size, not to the weights'.
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
    if (torch::equal(a[i], randomParams(7)[i]))
      return -1; // the weights did not move: nothing was compared
  }
  return worst;
}

} // namespace

class TestTrainKernels : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  // runtime.kernels: aten — dropout is LibTorch's bernoulli_ mask drawn from the run's generator:
  // the same generator state gives the same mask, the keep rate and the 1/(1-p) scale hold, and it
  // differs from the hash kernel's mask.
  void atenDropoutFollowsTheRunGenerator()
  {
    const torch::Tensor x = torch::ones({200, 500});
    const auto drop = [&](bool aten, std::uint64_t seed) {
      KernelScope kernels(aten);
      GeneratorScope scope(seededGenerator(seed));
      return applyDropout(x, 0.25, true);
    };
    const torch::Tensor a = drop(true, 5), b = drop(true, 5), c = drop(true, 6), hash = drop(false, 5);
    QVERIFY(torch::equal(a, b));
    QVERIFY(!torch::equal(a, c));
    QVERIFY(!torch::equal(a, hash));
    QVERIFY(std::abs(keptFraction(a) - 0.75) < 0.01);
    QVERIFY(torch::allclose(a.masked_select(a != 0), torch::full({1}, 1.0 / 0.75)));
    KernelScope kernels(true);
    QVERIFY(torch::equal(applyDropout(x, 0.0, true), x)); // p = 0 and evaluation leave x as it is
    QVERIFY(torch::equal(applyDropout(x, 0.25, false), x));
  }

  void initTestCase() { at::set_num_threads(2); }

  void dropoutKeepsTheRightShareAndScales_data()
  {
    QTest::addColumn<int>("type");
    QTest::addColumn<double>("p");
    QTest::newRow("fp32 p=0.1") << int(torch::kFloat) << 0.1;
    QTest::newRow("fp32 p=0.5") << int(torch::kFloat) << 0.5;
    QTest::newRow("bf16 p=0.1") << int(torch::kBFloat16) << 0.1;
    QTest::newRow("bf16 p=0.3") << int(torch::kBFloat16) << 0.3;
  }
  void dropoutKeepsTheRightShareAndScales()
  {
    QFETCH(int, type);
    QFETCH(double, p);
    const auto dtype = static_cast<torch::ScalarType>(type);
    torch::manual_seed(3);
    const torch::Tensor x = (torch::rand({1000, 1001}) + 0.5).to(dtype); // no zeros; odd size
    const torch::Tensor y = applyDropout(x, p, true);
    QCOMPARE(y.scalar_type(), dtype);
    QCOMPARE(y.sizes(), x.sizes());
    // 1,001,000 Bernoulli draws: the standard deviation of the kept share is below 0.0005.
    QVERIFY2(std::abs(keptFraction(y) - (1 - p)) < 0.0025, qPrintable(QString::number(keptFraction(y))));
    // Kept elements are x / (1 - p) (rounded to the type), dropped ones exactly 0.
    const torch::Tensor kept = y != 0;
    const torch::Tensor expected = (x.to(torch::kFloat) * static_cast<float>(1.0 / (1.0 - p))).to(dtype);
    QVERIFY(torch::equal(y.masked_select(kept), expected.masked_select(kept)));
    // Neighbours and elements a chunk apart are dropped independently: P(both) ≈ p².
    const torch::Tensor dropped = (y == 0).flatten().to(torch::kDouble);
    const double both = (dropped.slice(0, 1) * dropped.slice(0, 0, -1)).mean().item<double>();
    QVERIFY2(std::abs(both - p * p) < 0.003, qPrintable(QString::number(both)));
    const std::int64_t far = 1 << 15;
    const double apart = (dropped.slice(0, far) * dropped.slice(0, 0, -far)).mean().item<double>();
    QVERIFY2(std::abs(apart - p * p) < 0.003, qPrintable(QString::number(apart)));
    // Rows (1001 elements apart) do not repeat a pattern.
    QVERIFY(!torch::equal(y[0].slice(0, 0, 1000) == 0, y[1].slice(0, 0, 1000) == 0));
  }

  void dropoutIsIdentityWhenOffOrEvaluating()
  {
    const torch::Tensor x = torch::randn({100});
    QVERIFY(applyDropout(x, 0.1, false).is_same(x));
    QVERIFY(applyDropout(x, 0.0, true).is_same(x));
    QVERIFY(applyDropout(x, 1.0, true).eq(0).all().item<bool>());
    Dropout module(0.2);
    module->eval();
    QVERIFY(torch::equal(module(x), x));
    module->train();
    QVERIFY(!torch::equal(module(x), x));
  }

  void dropoutFollowsTheSeedNotTheThreads()
  {
    const torch::Tensor x = torch::rand({300000}) + 1;
    torch::manual_seed(11);
    const torch::Tensor a = applyDropout(x, 0.1, true);
    const torch::Tensor b = applyDropout(x, 0.1, true);
    QVERIFY(!torch::equal(a, b)); // a new mask every call
    at::set_num_threads(1);
    torch::manual_seed(11);
    const torch::Tensor c = applyDropout(x, 0.1, true);
    at::set_num_threads(2);
    QVERIFY(torch::equal(a, c)); // same seed, one thread instead of two: the same mask
  }

  void dropoutGradientUsesTheSameMask()
  {
    for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
      const torch::Tensor x = (torch::rand({64, 517}) + 1).to(dtype).requires_grad_(true);
      const torch::Tensor y = applyDropout(x, 0.25, true);
      const torch::Tensor upstream = torch::randn({64, 517}).to(dtype);
      y.backward(upstream);
      QCOMPARE(x.grad().scalar_type(), dtype);
      const torch::Tensor expected = (upstream.to(torch::kFloat) * (y != 0).to(torch::kFloat) * static_cast<float>(1 / 0.75)).to(dtype);
      QVERIFY(torch::equal(x.grad(), expected));
      // Non-contiguous input: same semantics on a transposed view.
      const torch::Tensor t = applyDropout(x.detach().t(), 0.25, true);
      QCOMPARE(t.sizes(), x.t().sizes());
    }
  }

  void fusedAdamWMatchesLibTorch()
  {
    auto options = torch::optim::AdamWOptions(1e-2).betas({0.9, 0.98}).eps(1e-6).weight_decay(0.05);
    const double worst = maxDifference<FusedAdamW, torch::optim::AdamW>(options, 6);
    QVERIFY2(worst >= 0 && worst < 1e-6, qPrintable(QString::number(worst)));
  }

  void fusedAdamMatchesLibTorch()
  {
    auto options = torch::optim::AdamOptions(3e-3).weight_decay(0.1);
    const double worst = maxDifference<FusedAdam, torch::optim::Adam>(options, 6);
    QVERIFY2(worst >= 0 && worst < 1e-6, qPrintable(QString::number(worst)));
  }

  void amsgradFallsBackToLibTorch()
  {
    auto options = torch::optim::AdamWOptions(1e-2).amsgrad(true).weight_decay(0.01);
    const double worst = maxDifference<FusedAdamW, torch::optim::AdamW>(options, 4);
    QCOMPARE(worst, 0.0);
  }

  void droppedGradientsAreReplacedNotAdded()
  {
    torch::Tensor w = torch::ones({3}).requires_grad_(true);
    torch::Tensor unused = torch::ones({2}).requires_grad_(true);
    FusedAdamW optimizer({w, unused}, torch::optim::AdamWOptions(0.1).weight_decay(0.5));
    (w * 2).sum().backward();
    (unused * 1).sum().backward();
    dropGradients(optimizer);
    QVERIFY(!w.grad().defined() && !unused.grad().defined());
    (w * 3).sum().backward(); // only w gets a gradient this step
    QVERIFY(torch::equal(w.grad(), torch::full({3}, 3.0f)));
    optimizer.step();
    QVERIFY(w.lt(1).all().item<bool>());               // w moved
    QVERIFY(torch::equal(unused, torch::ones({2})));  // no gradient: not stepped, not decayed
  }

  void stateFilesAreInterchangeable()
  {
    // Three steps with the fused optimizer, saved; loaded into LibTorch's; both continue alike.
    std::vector<torch::Tensor> a = randomParams(5);
    for (auto &p : a)
      p.requires_grad_(true);
    const auto options = torch::optim::AdamWOptions(1e-2).weight_decay(0.01);
    FusedAdamW fused(a, options);
    for (int s = 0; s < 3; ++s) {
      setGrads(a, s);
      fused.step();
    }
    std::stringstream stream;
    {
      torch::serialize::OutputArchive archive;
      fused.save(archive);
      archive.save_to(stream);
    }
    std::vector<torch::Tensor> b;
    for (const auto &p : a)
      b.push_back(p.detach().clone().requires_grad_(true));
    torch::optim::AdamW plain(b, options);
    torch::serialize::InputArchive in;
    in.load_from(stream);
    plain.load(in);
    for (int s = 3; s < 5; ++s) {
      setGrads(a, s);
      setGrads(b, s);
      fused.step();
      plain.step();
    }
    for (std::size_t i = 0; i < a.size(); ++i)
      QVERIFY((a[i] - b[i]).abs().max().item<double>() < 1e-6);
  }
};

QTEST_APPLESS_MAIN(TestTrainKernels)
#include "tst_trainkernels.moc"
