// T5 v1.0 and v1.1 against torchtext's T5 (tests/golden/models/t5_*, make_golden.py): encoder output
// on a padded batch, teacher-forced decoder logits, greedy decoding; the KV cache changes nothing.
#include "core/models/checkpoint.h"
#include "core/models/t5.h"

#include "support/golden.h"
#include "support/tensors.h"

#include <torch/torch.h>

#include <QtTest/QtTest>

using namespace tunebench;
using tunebench::testing::maxDiff;
using tunebench::testing::toIntVector;

namespace {

T5Model load(const QString &version, TensorMap &expected)
{
  const std::filesystem::path folder = tunebench::testing::goldenDir(QStringLiteral("models/t5_") + version).toStdString();
  T5Model model(T5Config::fromFile(folder / "config.json"));
  const LoadReport report = loadStateDict(*model, readCheckpoint(folder), folder.string(), "", {});
  if (!report.missing.empty() || !report.unexpected.empty())
    qWarning("%s", report.summary().c_str());
  model->eval();
  expected = readSafetensors(folder / "expected.safetensors");
  return model;
}

} // namespace

class TestT5Golden : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  void matchesReference_data()
  {
    QTest::addColumn<QString>("version");
    QTest::newRow("v1.0 (relu, tied)") << QStringLiteral("v1_0");
    QTest::newRow("v1.1 (gated gelu, untied)") << QStringLiteral("v1_1");
  }

  void matchesReference()
  {
    QFETCH(QString, version);
    TensorMap expected;
    T5Model model = load(version, expected);
    torch::NoGradGuard noGrad;
    const torch::Tensor encoderIds = expected.at("encoder_ids");
    const torch::Tensor encoderMask = encoderIds.ne(0).to(torch::kLong);
    const torch::Tensor memory = model->encode(encoderIds, encoderMask);
    // Compare real positions only: the reference leaves padded ones to its own conventions.
    const torch::Tensor real = encoderMask.to(torch::kBool).unsqueeze(-1);
    const double e = maxDiff(memory.masked_select(real), expected.at("encoder_output").masked_select(real));
    QVERIFY2(e <= 1e-4, qPrintable(QStringLiteral("encoder output: %1").arg(e)));
    const torch::Tensor decoderIds = expected.at("decoder_ids");
    const torch::Tensor logits = model->decode(decoderIds, torch::ones_like(decoderIds), memory, encoderMask);
    const double d = maxDiff(logits, expected.at("logits"));
    QVERIFY2(d <= 1e-4, qPrintable(QStringLiteral("logits: %1").arg(d)));

    T5Decoding decoding(model, encoderIds.narrow(0, 0, 1), encoderMask.narrow(0, 0, 1));
    GenerationOptions greedy;
    greedy.maxNewTokens = 10;
    QCOMPARE(generate(decoding, {model->config().decoderStartTokenId}, greedy), toIntVector(expected.at("greedy")));
  }

  void cacheChangesNothing()
  {
    TensorMap expected;
    T5Model model = load(QStringLiteral("v1_1"), expected);
    const torch::Tensor ids = expected.at("encoder_ids").narrow(0, 1, 1);
    T5Decoding decoding(model, ids, ids.ne(0).to(torch::kLong));
    for (int beams : {1, 3}) {
      GenerationOptions o;
      o.maxNewTokens = 12;
      o.sample = beams == 1;
      o.numBeams = beams;
      o.seed = 3;
      o.temperature = 1.5;
      const std::vector<int> cached = generate(decoding, {0}, o);
      o.useCache = false;
      QCOMPARE(generate(decoding, {0}, o), cached);
    }
  }
};

QTEST_GUILESS_MAIN(TestT5Golden)
#include "tst_t5golden.moc"
