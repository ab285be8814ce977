// tunebench's CPU allocator for LibTorch's large tensors (core/runtime/cpuallocator.h): freed blocks
// come back whole or give up their front, freed neighbours join, smaller blocks' pages are moved into
// a larger request instead of faulting fresh ones, and the resident memory stays at the live blocks'
// peak when the batches' shapes vary.
#include "core/runtime/cpuallocator.h"

#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>

#include <QtTest/QtTest>

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <thread>
#include <vector>

using namespace tunebench;

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

double residentMiB()
{
  std::ifstream statm("/proc/self/statm");
  double size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE)) / kMiB;
}

// From a clean start (kept blocks given back, the peak reset): the highest resident memory sampled
// must stay within 10% (and 16 MiB of the libraries' own) of the live blocks' peak.
class ResidentWatch
{
public:
  ResidentWatch()
  {
    releaseKeptBlocks();
    resetCpuAllocatorPeak();
    m_liveBefore = cpuAllocatorStats().liveBytes;
    m_before = m_highest = residentMiB();
  }
  void sample() { m_highest = std::max(m_highest, residentMiB()); }
  double before() const { return m_before; }
  void verifyWithinLivePeak() const
  {
    const double peak = static_cast<double>(cpuAllocatorStats().peakLiveBytes - m_liveBefore) / kMiB;
    QVERIFY(peak > 100);
    QVERIFY2(
        m_highest - m_before <= peak * 1.10 + 16,
        qPrintable(QStringLiteral("resident +%1 MiB, live peak %2 MiB").arg(m_highest - m_before).arg(peak)));
  }

private:
  std::size_t m_liveBefore = 0;
  double m_before = 0, m_highest = 0;
};

} // namespace

class TestCpuAllocator : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void initTestCase()
  {
    QVERIFY(installCpuAllocator());
    QVERIFY(cpuAllocatorStats().installed);
  }

  void freedBlockIsReused()
  {
    void *first = nullptr;
    {
      const torch::Tensor t = torch::empty({1 << 18}, torch::kFloat); // 1 MiB
      first = t.data_ptr();
    }
    const CpuAllocatorStats before = cpuAllocatorStats();
    const torch::Tensor again = torch::empty({(1 << 18) - 1000}, torch::kFloat); // the same class
    QCOMPARE(again.data_ptr(), first);
    QCOMPARE(cpuAllocatorStats().reused, before.reused + 1);
    QCOMPARE(cpuAllocatorStats().mapped, before.mapped);
  }

  void smallTensorsStayWithMalloc()
  {
    const std::size_t live = cpuAllocatorStats().liveBytes;
    const torch::Tensor small = torch::empty({1000}, torch::kFloat);
    QCOMPARE(cpuAllocatorStats().liveBytes, live);
    const torch::Tensor large = torch::empty({1 << 16}, torch::kFloat); // 256 KiB: the smallest block
    QCOMPARE(cpuAllocatorStats().liveBytes, live + (256u << 10));
  }

  // A smaller request takes the front of a larger kept block in place (no page faulted, none
  // given back); freed, the front joins the rest again, which then serves the whole size.
  void largerBlockGivesItsFront()
  {
    releaseKeptBlocks();
    void *block = nullptr;
    double withBlock = 0;
    {
      const torch::Tensor t = torch::ones({64 << 18}, torch::kFloat); // 64 MiB, every page touched
      block = t.data_ptr();
      withBlock = residentMiB();
    }
    const CpuAllocatorStats kept = cpuAllocatorStats();
    QCOMPARE(kept.keptBytes, std::size_t(64) << 20);
    {
      const torch::Tensor small = torch::ones({1 << 20}, torch::kFloat); // 4 MiB
      QCOMPARE(small.data_ptr(), block);
      const CpuAllocatorStats after = cpuAllocatorStats();
      QCOMPARE(after.carved, kept.carved + 1);
      QCOMPARE(after.mapped, kept.mapped);
      QCOMPARE(after.keptBytes, std::size_t(60) << 20);
      QVERIFY2(std::abs(residentMiB() - withBlock) < 8,
               qPrintable(QString::number(residentMiB() - withBlock)));
    }
    QCOMPARE(cpuAllocatorStats().keptBytes, std::size_t(64) << 20);
    const CpuAllocatorStats joined = cpuAllocatorStats();
    const torch::Tensor whole = torch::empty({64 << 18}, torch::kFloat);
    QCOMPARE(whole.data_ptr(), block);
    QCOMPARE(cpuAllocatorStats().reused, joined.reused + 1);
  }

  // A request larger than every kept block, with no room to map more, gets the kept blocks' pages
  // moved into it: their contents come along and the resident memory does not grow.
  void smallerBlocksMoveIntoALargerOne()
  {
    releaseKeptBlocks();
    std::vector<torch::Tensor> blocks;
    for (int i = 0; i < 4; ++i)
      blocks.push_back(torch::full({4 << 20}, static_cast<float>(i + 1))); // 16 MiB each
    blocks[0].reset(); // two kept blocks apart from each other (a live one between them)
    blocks[2].reset();
    const CpuAllocatorStats kept = cpuAllocatorStats();
    QCOMPARE(kept.keptBytes, std::size_t(32) << 20);
    const double before = residentMiB();
    torch::Tensor big = torch::empty({8 << 20}, torch::kFloat); // 32 MiB
    const CpuAllocatorStats after = cpuAllocatorStats();
    QCOMPARE(after.assembled, kept.assembled + 1);
    QCOMPARE(after.mapped, kept.mapped);
    QCOMPARE(after.movedBytes, kept.movedBytes + (std::size_t(32) << 20));
    QCOMPARE(after.keptBytes, std::size_t(0));
    QCOMPARE(big.sum().item<double>(), double(4 << 20) * (1 + 3)); // the freed blocks' values
    big.add_(1);
    QVERIFY2(residentMiB() - before < 4, qPrintable(QString::number(residentMiB() - before)));
  }

  // Steps of BERT-base-shaped activations with the sequence length changing every step (dynamic
  // padding): the resident memory rises no further than the live blocks' peak. Blocks kept per class
  // without reshaping them would hold a set per length, several times the peak.
  void varyingShapesStayAtTheLivePeak()
  {
    ResidentWatch watch;
    for (int round = 0; round < 2; ++round)
      for (std::int64_t len = 128; len >= 64; len -= 8) {
        std::vector<torch::Tensor> step;
        for (int layer = 0; layer < 12; ++layer) {
          step.push_back(torch::ones({8, len, 768}));
          step.push_back(torch::ones({8, 12, len, len}));
          step.push_back(torch::ones({8, len, 3072}));
        }
        watch.sample();
      }
    watch.verifyWithinLivePeak();
    releaseKeptBlocks();
    QVERIFY2(residentMiB() < watch.before() + 16,
             qPrintable(QString::number(residentMiB() - watch.before())));
  }

  // A training loop of fixed shapes — gradients dropped before each step, activations allocated in
  // the forward pass and freed in the backward pass as the gradients are allocated, blocks of other
  // sizes than the activations', one (the word embeddings') larger than any activation, beside the
  // weights and the optimizer's moments that live throughout — settles: after its first steps it
  // maps and moves nothing, and it stays within 10% of its live peak. (It settles when 10% of the
  // live peak holds the largest gradient, as in BERT-base's steps; a loop where it does not moves
  // that gradient's pages every step.)
  void fixedLoopSettles()
  {
    ResidentWatch watch;
    std::vector<torch::Tensor> weights; // and the two moments of each
    for (int copy = 0; copy < 3; ++copy) {
      weights.push_back(torch::ones({8000, 768}));
      for (int layer = 0; layer < 6; ++layer) {
        weights.push_back(torch::ones({768, 3072}));
        weights.push_back(torch::ones({3 * 768, 768}));
      }
    }
    std::vector<torch::Tensor> gradients;
    CpuAllocatorStats settled;
    for (int step = 0; step < 6; ++step) {
      if (step == 2)
        settled = cpuAllocatorStats();
      gradients.clear();
      std::vector<torch::Tensor> activations;
      for (int layer = 0; layer < 6; ++layer) {
        activations.push_back(torch::ones({8, 128, 768}));
        activations.push_back(torch::ones({8, 12, 128, 128}));
        activations.push_back(torch::ones({8, 128, 3072}));
      }
      watch.sample();
      while (!activations.empty()) {
        activations.pop_back();
        if (activations.size() % 3 == 0) {
          gradients.push_back(torch::ones({768, 3072}));
          gradients.push_back(torch::ones({3 * 768, 768}));
        }
        if (activations.empty())
          gradients.push_back(torch::ones({8000, 768})); // 23 MiB
        watch.sample();
      }
    }
    const CpuAllocatorStats after = cpuAllocatorStats();
    QCOMPARE(after.mapped, settled.mapped);
    QCOMPARE(after.assembled, settled.assembled);
    QCOMPARE(after.movedBytes, settled.movedBytes);
    QVERIFY(after.reused + after.carved > settled.reused + settled.carved);
    watch.verifyWithinLivePeak();
  }

  void rawAllocationsRoundTrip()
  {
    c10::Allocator *allocator = c10::GetCPUAllocator();
    const std::size_t live = cpuAllocatorStats().liveBytes;
    void *large = allocator->raw_allocate(1 << 20);
    void *small = allocator->raw_allocate(100);
    QCOMPARE(cpuAllocatorStats().liveBytes, live + (1u << 20));
    allocator->raw_deallocate(small);
    allocator->raw_deallocate(large);
    QCOMPARE(cpuAllocatorStats().liveBytes, live);
  }

  void threadsShareIt()
  {
    const std::size_t live = cpuAllocatorStats().liveBytes;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([t] {
        for (int i = 0; i < 300; ++i) {
          torch::Tensor x = torch::empty({(1 << 16) + ((i + t) % 9) * 50000}, torch::kFloat);
          x.fill_(static_cast<float>(i));
        }
      });
    for (auto &thread : threads)
      thread.join();
    QCOMPARE(cpuAllocatorStats().liveBytes, live);
  }
};

QTEST_GUILESS_MAIN(TestCpuAllocator)
#include "tst_cpuallocator.moc"
