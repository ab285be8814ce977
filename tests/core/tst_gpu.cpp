// On a CUDA build of LibTorch with a GPU (label gpu: ./test.sh leaves it out; run it with
// `ctest --preset release -L gpu` on such a machine): training.device cuda trains BERT-mini
// (random weights, dropout 0) with full fine-tuning and LoRA for 50 steps to the CPU run's losses,
// within the tolerance of TF32 products (2% of the loss at every step). Without a CUDA device the
// test says so and skips.
#include "core/config/experiment.h"
#include "core/train/trainer.h"
#include "support/golden.h"
#include "support/runfiles.h"

#include <torch/cuda.h>

#include <QtTest/QtTest>

using namespace tunebench;
using tunebench::testing::assetPath;
using tunebench::testing::stepLosses;

class TestGpu : public QObject
{
  Q_OBJECT

  QTemporaryDir m_dir;

  ExperimentConfig config(const std::string &device, const std::string &strategy)
  {
    const std::vector<std::string> overrides = {
        "model.path=" + assetPath(QStringLiteral("tokenizers/bert-base-uncased")).toStdString(),
        "model.init=random",
        "model.max_length=64",
        "model.scratch.layers=4",
        "model.scratch.hidden=256",
        "model.scratch.heads=4",
        "data.path=" + assetPath(QStringLiteral("data/sentiment/pang-lee-sentences.csv")).toStdString(),
        "data.subset_rows=2400",
        "training.batch_size=32",
        "training.max_steps=50",
        "training.dropout=0",
        "training.precision=fp32",
        "training.learning_rate=2e-4",
        "evaluation.every_steps=0",
        "strategy.name=" + strategy,
        "training.device=" + device};
    const ConfigResult r =
        parseExperimentConfig("name: gpu\nseed: 3\n", m_dir.path().toStdString(), overrides);
    if (!r.ok())
      qFatal("config: %s", r.problems.front().str("gpu").c_str());
    return r.config;
  }

private Q_SLOTS:
  void cudaTrainsAsTheCpu_data()
  {
    QTest::addColumn<QString>("strategy");
    QTest::newRow("full") << QStringLiteral("full");
    QTest::newRow("lora") << QStringLiteral("lora");
  }

  void cudaTrainsAsTheCpu()
  {
    if (!torch::cuda::is_available())
      QSKIP("this LibTorch has no CUDA device (Debian's has none): build against a CUDA LibTorch "
            "with -DTorch_DIR=… and run on a GPU machine");
    QFETCH(QString, strategy);
    const std::string s = strategy.toStdString();
    const auto cpuDir = m_dir.filePath(strategy + QStringLiteral("-cpu")).toStdString();
    const auto gpuDir = m_dir.filePath(strategy + QStringLiteral("-cuda")).toStdString();
    QCOMPARE(Trainer(config("cpu", s), cpuDir).run().steps, 50L);
    QCOMPARE(Trainer(config("cuda", s), gpuDir).run().steps, 50L);
    const std::vector<double> a = stepLosses(cpuDir), b = stepLosses(gpuDir);
    QCOMPARE(b.size(), a.size());
    for (std::size_t i = 0; i < a.size(); ++i)
      QVERIFY2(std::abs(a[i] - b[i]) <= 0.02 * std::abs(a[i]),
               qPrintable(QStringLiteral("step %1: cpu %2, cuda %3").arg(i + 1).arg(a[i]).arg(b[i])));
  }
};

QTEST_GUILESS_MAIN(TestGpu)
#include "tst_gpu.moc"
