// What a training step keeps for the backward pass (core/models/checkpointing.h's recomputed
// pieces, core/models/estimate.h's activation model): the bytes one BERT-style layer's forward
// pass leaves alive, measured through tunebench's CPU allocator, are the numbers
// layerActivationNumbers() counts — with trainable weights, and frozen under LoRA (with and
// without LoRA's input dropout) and prefix tuning. The pieces computed again in the backward pass
// (attention's dropped weights, a frozen feed-forward map, LoRA's dropped input) give the
// gradients of the plain computation: tst_checkpointing compares every family and strategy with a
// checkpointed step, whose recomputation runs them plainly; here one layer against its own
// operations written out.
#include "core/models/checkpointing.h"
#include "core/models/encoder.h"
#include "core/models/estimate.h"
#include "core/models/gpt2.h"
#include "core/models/modelfolder.h"
#include "core/runtime/cpuallocator.h"
#include "core/runtime/generator.h"
#include "core/strategies/basicstrategies.h"
#include "core/strategies/lora.h"
#include "core/strategies/prefix.h"

#include <torch/torch.h>

#include <QtTest/QtTest>

#include <cmath>

using namespace tunebench;

namespace {

// Every tensor here is a multiple of 256 KiB, so that the allocator serves it (and counts it)
// at its exact size: batch 4 × 64 tokens × 256 wide, 4 heads.
constexpr int kBatch = 4, kTime = 64, kHidden = 256, kHeads = 4, kInner = 1024;

EncoderConfig layerConfig()
{
  EncoderConfig c;
  c.modelType = "bert";
  c.vocabSize = 100;
  c.hiddenSize = kHidden;
  c.numLayers = 1;
  c.numHeads = kHeads;
  c.intermediateSize = kInner;
  return c;
}

TransformerShape layerShape()
{
  return encoderShape(layerConfig());
}

// A layer with the strategy applied (through a parent, as strategies find maps by name).
struct Layer
{
  std::shared_ptr<torch::nn::Module> parent = std::make_shared<torch::nn::Module>();
  EncoderLayer layer{layerConfig()};
};

Layer makeLayer(const std::string &strategy, double loraDropout)
{
  torch::manual_seed(3);
  Layer l;
  l.parent->register_module("layer", l.layer);
  if (strategy == "lora") {
    LoraOptions o;
    o.dropout = loraDropout;
    LoraStrategy(o).apply(*l.parent);
    // B starts at zero; a random B makes its gradient path and A's gradient real.
    torch::NoGradGuard noGrad;
    for (auto &p : l.parent->named_parameters())
      if (p.key().find("lora_B") != std::string::npos)
        p.value().normal_(0.0, 0.1);
  } else if (strategy == "prefix") {
    PrefixTuning({16, false, 0}).apply(*l.parent);
  } else {
    FullFineTuning().apply(*l.parent);
  }
  l.parent->train();
  return l;
}

// Bytes the layer's forward pass leaves alive (its output not counted): the input is made inside,
// so that it counts only when the layer keeps it.
double keptBytes(Layer &l, const torch::Tensor &leaf, const torch::Tensor &mask)
{
  const std::size_t before = cpuAllocatorStats().liveBytes;
  torch::Tensor out = l.layer(leaf.clone(), mask);
  const std::size_t after = cpuAllocatorStats().liveBytes;
  return static_cast<double>(after) - static_cast<double>(before) - static_cast<double>(out.nbytes());
}

} // namespace

class TestLeanActivations : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void initTestCase()
  {
    torch::set_num_threads(2);
    QVERIFY(installCpuAllocator());
  }

  void keptAsCounted_data()
  {
    QTest::addColumn<QString>("strategy");
    QTest::addColumn<double>("loraDropout");
    QTest::addColumn<bool>("weightsTrain");
    QTest::addColumn<int>("keptInAttention");
    QTest::addColumn<int>("extraKeys");
    QTest::newRow("full") << "full" << 0.0 << true << 0 << 0;
    QTest::newRow("lora") << "lora" << 0.0 << false << kHidden << 0;
    QTest::newRow("lora, dropout 0.1") << "lora" << 0.1 << false << kHidden << 0;
    QTest::newRow("prefix") << "prefix" << 0.0 << false << 0 << 16;
  }

  void keptAsCounted()
  {
    QFETCH(QString, strategy);
    QFETCH(double, loraDropout);
    QFETCH(bool, weightsTrain);
    QFETCH(int, keptInAttention);
    QFETCH(int, extraKeys);
    Layer l = makeLayer(strategy.toStdString(), loraDropout);
    const torch::Tensor leaf = torch::randn({kBatch, kTime, kHidden}).requires_grad_(true);
    const torch::Tensor mask = torch::zeros({kBatch, 1, 1, kTime});
    const double kept = keptBytes(l, leaf, mask);
    const double counted =
        4.0 * layerActivationNumbers(layerShape(), kBatch, kTime,
                                     {weightsTrain, 0, extraKeys, double(keptInAttention)});
    // The prefix's own keys (16 × 256 floats per layer) are below the allocator's size and not
    // counted by it; everything else is an exact number of 256 KiB blocks.
    const double slack = extraKeys > 0 ? 4.0 * kBatch * extraKeys * kHidden * 3 : 0.0;
    QVERIFY2(std::abs(kept - counted) <= slack,
             qPrintable(QStringLiteral("kept %1 KiB, counted %2 KiB").arg(kept / 1024).arg(counted / 1024)));
  }

  // GPT-2's pre-LN block: frozen, it keeps the residual stream before each block (2·s·b·h).
  void keptAsCountedGpt2_data()
  {
    QTest::addColumn<bool>("lora");
    QTest::newRow("full") << false;
    QTest::newRow("lora on c_attn") << true;
  }

  void keptAsCountedGpt2()
  {
    QFETCH(bool, lora);
    torch::manual_seed(3);
    Gpt2Config c;
    c.hiddenSize = kHidden;
    c.numHeads = kHeads;
    c.numLayers = 1;
    c.innerSize = kInner;
    auto parent = std::make_shared<torch::nn::Module>();
    Gpt2Block block = parent->register_module("h", Gpt2Block(c));
    if (lora)
      LoraStrategy({.r = 8, .alpha = 8, .targets = {"c_attn"}}).apply(*parent);
    parent->train();
    TransformerShape s = layerShape();
    s.family = "gpt2";
    const torch::Tensor leaf = torch::randn({kBatch, kTime, kHidden}).requires_grad_(true);
    const torch::Tensor mask = torch::zeros({kBatch, 1, kTime, kTime});
    const std::size_t before = cpuAllocatorStats().liveBytes;
    const torch::Tensor out = block->forward(leaf.clone(), mask, nullptr, nullptr);
    const double kept = static_cast<double>(cpuAllocatorStats().liveBytes) - static_cast<double>(before) -
                        static_cast<double>(out.nbytes());
    const double counted =
        4.0 * layerActivationNumbers(s, kBatch, kTime, {!lora, 0, 0, lora ? kHidden : 0.0});
    QVERIFY2(kept == counted,
             qPrintable(QStringLiteral("kept %1 KiB, counted %2 KiB").arg(kept / 1024).arg(counted / 1024)));
  }

  void sameAsWrittenOut_data()
  {
    QTest::addColumn<QString>("strategy");
    QTest::addColumn<int>("trainable");
    QTest::newRow("full") << "full" << 16;
    QTest::newRow("lora") << "lora" << 4; // lora_A and lora_B of query and value
  }

  // The layer's output and gradients against its operations written out (plain ATen, every
  // tensor kept), with the same dropout draws: attention and hidden dropout; under LoRA input
  // dropout on the query and value maps and a frozen feed-forward map; in full fine-tuning the
  // query, key and value weights' gradients from their one product.
  void sameAsWrittenOut()
  {
    QFETCH(QString, strategy);
    QFETCH(int, trainable);
    Layer l = makeLayer(strategy.toStdString(), 0.1);
    EncoderLayerImpl &m = *l.layer;
    const torch::Tensor leaf = torch::randn({kBatch, kTime, kHidden}).requires_grad_(true);
    torch::Tensor mask = torch::zeros({kBatch, 1, 1, kTime});
    mask.index_put_({0, 0, 0, torch::indexing::Slice(kTime - 5)}, -1e30);
    const torch::Tensor probe = torch::randn({kBatch, kTime, kHidden});

    GeneratorScope seeded(seededGenerator(11));
    const torch::Tensor out = m.forward(leaf, mask);
    (out * probe).sum().backward();
    const torch::Tensor gradInput = leaf.grad().clone();
    std::vector<torch::Tensor> grads;
    for (const auto &p : l.parent->parameters())
      if (p.requires_grad())
        grads.push_back(p.grad().clone());
    leaf.mutable_grad().reset();
    for (const auto &p : l.parent->parameters())
      if (p.requires_grad())
        p.mutable_grad().reset();

    GeneratorScope again(seededGenerator(11));
    const torch::Tensor ref = writtenOut(l, leaf, mask);
    (ref * probe).sum().backward();
    QVERIFY(torch::allclose(out, ref, 1e-6, 1e-6));
    QVERIFY(torch::allclose(leaf.grad(), gradInput, 1e-6, 1e-6));
    std::size_t i = 0;
    for (const auto &p : l.parent->parameters())
      if (p.requires_grad()) {
        QVERIFY(grads[i].abs().max().item<double>() > 0);
        const double diff = (p.grad() - grads[i]).abs().max().item<double>();
        const double largest = std::max(1.0, grads[i].abs().max().item<double>());
        QVERIFY2(diff <= 1e-6 * largest,
                 qPrintable(QStringLiteral("parameter %1: %2 of %3").arg(i).arg(diff).arg(largest)));
        ++i;
      }
    QCOMPARE(i, std::size_t(trainable));
  }

private:
  // The encoder layer's forward pass in plain operations, drawing the dropouts in the layer's order:
  // LoRA's input dropout for query, then value; attention dropout; hidden dropout twice.
  static torch::Tensor writtenOut(Layer &l, const torch::Tensor &x, const torch::Tensor &mask)
  {
    EncoderLayerImpl &m = *l.layer;
    const auto params = l.parent->named_parameters();
    auto param = [&](const std::string &name) {
      const torch::Tensor *p = params.find("layer." + name);
      return p ? *p : torch::Tensor();
    };
    const double scale = 8.0 / 8.0; // LoraOptions: alpha 8, r 8
    const bool adapted = param("attention.self.query.lora_A.weight").defined();
    auto lora = [&](const std::string &map, const torch::Tensor &y) {
      if (!adapted)
        return y;
      const torch::Tensor dropped = applyDropout(x, 0.1, true);
      const torch::Tensor a = param("attention.self." + map + ".lora_A.weight");
      const torch::Tensor b = param("attention.self." + map + ".lora_B.weight");
      return y + torch::linear(torch::linear(dropped, a), b) * scale;
    };
    const torch::Tensor q = lora("query", torch::linear(x, m.query->weight, m.query->bias));
    const torch::Tensor k = torch::linear(x, m.key->weight, m.key->bias);
    const torch::Tensor v = lora("value", torch::linear(x, m.value->weight, m.value->bias));
    auto split = [](const torch::Tensor &t) {
      return t.view({kBatch, kTime, kHeads, kHidden / kHeads}).transpose(1, 2);
    };
    const torch::Tensor scores =
        torch::matmul(split(q), split(k).transpose(-1, -2)) / std::sqrt(double(kHidden / kHeads)) + mask;
    const torch::Tensor probs = applyDropout(torch::softmax(scores, -1), 0.1, true);
    const torch::Tensor context =
        torch::matmul(probs, split(v)).transpose(1, 2).reshape({kBatch, kTime, kHidden});
    const torch::Tensor attended = m.attentionNorm(
        x + applyDropout(torch::linear(context, m.attentionOut->weight, m.attentionOut->bias), 0.1, true));
    const torch::Tensor inner =
        torch::gelu(torch::linear(attended, m.feedForwardIn->weight, m.feedForwardIn->bias));
    return m.outputNorm(
        attended +
        applyDropout(torch::linear(inner, m.feedForwardOut->weight, m.feedForwardOut->bias), 0.1, true));
  }
};

QTEST_APPLESS_MAIN(TestLeanActivations)
#include "tst_leanactivations.moc"
