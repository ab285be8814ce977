#include "core/runtime/blascore.h"
#include "core/runtime/gemmprobe.h"
#include "core/runtime/runtime.h"
#include "core/util/error.h"

#include <torch/torch.h>
#include <ATen/Parallel.h>

#include <QtTest/QtTest>

#include <sched.h>

#include <filesystem>

using namespace tunebench;

class TestRuntime : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void usableCoresFollowsAffinity()
  {
    cpu_set_t set;
    CPU_ZERO(&set);
    QCOMPARE(sched_getaffinity(0, sizeof(set), &set), 0);
    QVERIFY(usableCores() >= 1);
    QVERIFY(usableCores() <= CPU_COUNT(&set));
  }

  void configureUsesAllCoresByDefault()
  {
    QCOMPARE(configureRuntime({}), usableCores());
    QCOMPARE(at::get_num_threads(), usableCores());
  }

  void configureHonoursOverride()
  {
    RuntimeOptions one;
    one.threads = 1;
    QCOMPARE(configureRuntime(one), 1);
    QCOMPARE(runtimeInfo().intraOpThreads, 1);
    configureRuntime({});
  }

  void environmentOverride_data()
  {
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<int>("expected"); // -1: must be rejected
    QTest::newRow("three") << QByteArray("3") << 3;
    QTest::newRow("zero") << QByteArray("0") << -1;
    QTest::newRow("negative") << QByteArray("-2") << -1;
    QTest::newRow("text") << QByteArray("many") << -1;
    QTest::newRow("trailing") << QByteArray("4x") << -1;
  }

  void environmentOverride()
  {
    QFETCH(QByteArray, value);
    QFETCH(int, expected);
    qputenv("TUNEBENCH_THREADS", value);
    if (expected < 0) {
      try {
        runtimeOptionsFromEnvironment();
        QFAIL("an invalid TUNEBENCH_THREADS was accepted");
      } catch (const Error &e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1String("TUNEBENCH_THREADS")), e.what());
      }
    } else {
      QCOMPARE(runtimeOptionsFromEnvironment().threads, expected);
    }
    qunsetenv("TUNEBENCH_THREADS");
  }

  // TUNEBENCH_MALLOC names one of the allocators (core/runtime/cpuallocator.h); anything else is
  // refused with the variable's name, not ignored.
  void mallocChoiceIsChecked()
  {
    for (const char *good : {"blocks", "heap", "default"}) {
      qputenv("TUNEBENCH_MALLOC", good);
      runtimeOptionsFromEnvironment();
    }
    qputenv("TUNEBENCH_MALLOC", "block");
    try {
      runtimeOptionsFromEnvironment();
      QFAIL("TUNEBENCH_MALLOC=block was accepted");
    } catch (const Error &e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(
                   QLatin1String("TUNEBENCH_MALLOC: expected blocks, heap or default, got \"block\"")),
               e.what());
    }
    qunsetenv("TUNEBENCH_MALLOC");
  }

  // The BLAS that owns sgemm_ is reported, and its name agrees with the file it lives in.
  void blasIsDetected()
  {
    const BlasInfo blas = detectBlas();
    QVERIFY2(!blas.path.empty(), "no loaded object provides sgemm_");
    QVERIFY(std::filesystem::exists(blas.path));
    const bool openblasFile = blas.path.find("openblas") != std::string::npos;
    QCOMPARE(blas.name == "OpenBLAS", openblasFile);
    QCOMPARE(blas.slow, blas.path.find("/blas/libblas") != std::string::npos);
    if (blas.name == "OpenBLAS")
      QVERIFY(blas.details.find("OpenBLAS") != std::string::npos);
  }

  // Whatever BLAS is loaded, LibTorch's matrix product must agree with a plain triple loop.
  void gemmMatchesNaiveProduct()
  {
    torch::manual_seed(7);
    const auto a = torch::randn({37, 53}, torch::kFloat64);
    const auto b = torch::randn({53, 29}, torch::kFloat64);
    const auto c = torch::mm(a.to(torch::kFloat32), b.to(torch::kFloat32)).to(torch::kFloat64);
    auto A = a.accessor<double, 2>();
    auto B = b.accessor<double, 2>();
    auto C = c.accessor<double, 2>();
    double worst = 0;
    for (int i = 0; i < 37; ++i)
      for (int j = 0; j < 29; ++j) {
        double sum = 0;
        for (int k = 0; k < 53; ++k)
          sum += A[i][k] * B[k][j];
        worst = std::max(worst, std::abs(sum - C[i][j]));
      }
    QVERIFY2(worst < 1e-4, qPrintable(QString::number(worst)));
  }

  // A core forced from outside (by the user or the machine's image) is never second-guessed.
  void forcedBlasCoreIsRespected()
  {
    qputenv("OPENBLAS_CORETYPE", "Prescott");
    QCOMPARE(betterOpenBlasCore(), std::string());
    qunsetenv("OPENBLAS_CORETYPE");
  }

  void gemmProbeMeasures()
  {
    const GemmProbeResult r = measureGemm(false, 256, 0.05);
    QVERIFY(r.iterations >= 1);
    QVERIFY(r.gflops > 0.1);
  }

  void reportMentionsEverything()
  {
    const std::string report = formatRuntimeInfo(runtimeInfo());
    for (const char *key : {"LibTorch:", "yaml-cpp:", "SQLite:", "sentencepiece:", "BLAS:", "threads:",
                            "bf16 on CPU:", "CUDA:"})
      QVERIFY2(report.find(key) != std::string::npos, key);
  }
};

QTEST_GUILESS_MAIN(TestRuntime)
#include "tst_runtime.moc"
