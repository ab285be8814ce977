// GPT-2 against the reference (tests/golden/models/gpt2, make_golden.py): hidden states and logits
// on a padded batch, greedy continuation; generation with the KV cache equals generation without it.
#include "core/models/checkpoint.h"
#include "core/models/gpt2.h"

#include "support/golden.h"
#include "support/tensors.h"

#include <torch/torch.h>

#include <QtTest/QtTest>

using namespace tunebench;
using tunebench::testing::maxDiff;
using tunebench::testing::toIntVector;

namespace {

} // namespace

class TestGpt2Golden : public QObject
{
  Q_OBJECT

  Gpt2LMHeadModel m_model{nullptr};
  TensorMap m_expected;
  std::vector<int> m_prompt;

private Q_SLOTS:
  void initTestCase()
  {
    torch::set_num_threads(2);
    const std::filesystem::path folder = tunebench::testing::goldenDir(QStringLiteral("models/gpt2")).toStdString();
    m_model = Gpt2LMHeadModel(Gpt2Config::fromFile(folder / "config.json"));
    const LoadReport report = loadStateDict(*m_model, readCheckpoint(folder), folder.string(), "", {});
    QVERIFY2(report.missing.empty() && report.unexpected.empty(), report.summary().c_str());
    m_model->eval();
    m_expected = readSafetensors(folder / "expected.safetensors");
    m_prompt = toIntVector(m_expected.at("input_ids")[0]);
  }

  void matchesReference()
  {
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> hidden;
    const torch::Tensor logits = m_model(m_expected.at("input_ids"), m_expected.at("attention_mask"), nullptr, &hidden);
    QCOMPARE(static_cast<int>(hidden.size()), m_model->config().numLayers + 2);
    for (int i = 0; i <= m_model->config().numLayers; ++i) {
      const double d = maxDiff(hidden[static_cast<std::size_t>(i)], m_expected.at("hidden_states." + std::to_string(i)));
      QVERIFY2(d <= 1e-4, qPrintable(QStringLiteral("hidden state %1: %2").arg(i).arg(d)));
    }
    QVERIFY(maxDiff(hidden.back(), m_expected.at("final_hidden")) <= 1e-4);
    const double d = maxDiff(logits, m_expected.at("logits"));
    QVERIFY2(d <= 1e-4, qPrintable(QStringLiteral("logits: %1").arg(d)));
  }

  void greedyMatchesReference()
  {
    GenerationOptions o;
    o.maxNewTokens = 12;
    QCOMPARE(generate(*m_model, m_prompt, o), toIntVector(m_expected.at("greedy")));
  }

  // With and without the KV cache, token for token: greedy, beam search, sampling with a seed.
  void cacheChangesNothing_data()
  {
    QTest::addColumn<bool>("sample");
    QTest::addColumn<int>("beams");
    QTest::addColumn<double>("repetition");
    QTest::newRow("greedy") << false << 1 << 1.0;
    QTest::newRow("greedy, repetition penalty") << false << 1 << 1.5;
    QTest::newRow("beam search") << false << 4 << 1.0;
    QTest::newRow("sampling") << true << 1 << 1.0;
  }

  void cacheChangesNothing()
  {
    QFETCH(bool, sample);
    QFETCH(int, beams);
    QFETCH(double, repetition);
    GenerationOptions o;
    o.maxNewTokens = 20;
    o.sample = sample;
    o.numBeams = beams;
    o.repetitionPenalty = repetition;
    o.topK = 20;
    o.topP = 0.9;
    o.temperature = 0.8;
    o.seed = 7;
    const std::vector<int> cached = generate(*m_model, m_prompt, o);
    o.useCache = false;
    const std::vector<int> uncached = generate(*m_model, m_prompt, o);
    QCOMPARE(cached, uncached);
    QCOMPARE(static_cast<int>(cached.size()), 20);
  }

  void stopTokensEndGeneration()
  {
    GenerationOptions o;
    o.maxNewTokens = 12;
    const std::vector<int> greedy = generate(*m_model, m_prompt, o);
    o.stopTokens = {greedy[2]};
    QCOMPARE(generate(*m_model, m_prompt, o), std::vector<int>(greedy.begin(), greedy.begin() + 3));
  }

  void logitsProcessors()
  {
    torch::Tensor logits = torch::tensor({{1.0f, 3.0f, 2.0f, -1.0f}});
    torch::Tensor k = logits.clone();
    applyTopK(k, 2);
    QVERIFY(std::isinf(k[0][0].item<float>()) && std::isinf(k[0][3].item<float>()));
    QCOMPARE(k[0][1].item<float>(), 3.0f);
    // softmax ≈ 0.09, 0.67, 0.24, 0.01: top-p 0.7 keeps the two best.
    torch::Tensor p = logits.clone();
    applyTopP(p, 0.7);
    QVERIFY(!std::isinf(p[0][1].item<float>()) && !std::isinf(p[0][2].item<float>()));
    QVERIFY(std::isinf(p[0][0].item<float>()) && std::isinf(p[0][3].item<float>()));
    torch::Tensor r = logits.clone();
    applyRepetitionPenalty(r, {{1, 3, 3}}, 2.0);
    QCOMPARE(r[0][1].item<float>(), 1.5f);  // positive: divided
    QCOMPARE(r[0][3].item<float>(), -2.0f); // negative: multiplied
    QCOMPARE(r[0][0].item<float>(), 1.0f);
  }
};

QTEST_GUILESS_MAIN(TestGpt2Golden)
#include "tst_gpt2golden.moc"
