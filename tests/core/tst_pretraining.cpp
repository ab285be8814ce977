// The denoising objectives' noise: T5's random-span mask (counts, alternation, seeds), span
// corruption that loses nothing (inputs + targets give the text back), and BERT's masking rates
// (15% chosen; of those 80% [MASK], 10% random, 10% kept; special tokens never chosen).
#include "core/train/pretraining.h"

#include <QtTest/QtTest>

#include <cmath>

using namespace tunebench;

namespace {

PretrainingNoise spanNoise()
{
  PretrainingNoise n;
  n.kind = "span_corruption";
  n.vocabSize = 1100;
  for (int k = 0; k < 100; ++k)
    n.sentinels.push_back(1099 - k);
  n.eos = 1;
  n.special.assign(1100, false);
  return n;
}

// BERT-style masking over `vocab` ids: [PAD] 0, [CLS] 2, [SEP] 3, [MASK] 4 are special.
PretrainingNoise maskedNoise(int vocab)
{
  PretrainingNoise n;
  n.kind = "masked_lm";
  n.maskId = 4;
  n.vocabSize = vocab;
  n.special.assign(static_cast<std::size_t>(vocab), false);
  for (int id : {0, 2, 3, 4})
    n.special[static_cast<std::size_t>(id)] = true;
  return n;
}

EncodedExample textOf(int length, int first = 10)
{
  EncodedExample e;
  for (int i = 0; i < length; ++i)
    e.ids.push_back(first + i % 900);
  e.typeIds.assign(e.ids.size(), 0);
  return e;
}

} // namespace

class TestPretraining : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void spanMaskCounts_data()
  {
    QTest::addColumn<int>("length");
    QTest::addColumn<double>("density");
    QTest::addColumn<double>("mean");
    QTest::newRow("T5 default, 512") << 512 << 0.15 << 3.0;
    QTest::newRow("short") << 10 << 0.15 << 3.0;
    QTest::newRow("dense, long spans") << 100 << 0.5 << 8.0;
    QTest::newRow("two tokens") << 2 << 0.15 << 3.0;
  }

  // round(L·density) noise tokens in round(noise/mean) spans, never at the very start.
  void spanMaskCounts()
  {
    QFETCH(int, length);
    QFETCH(double, density);
    QFETCH(double, mean);
    for (std::uint64_t seed : {1ULL, 2ULL, 99ULL}) {
      const std::vector<bool> m = randomSpansNoiseMask(length, density, mean, seed);
      QCOMPARE(static_cast<int>(m.size()), length);
      const int noise = static_cast<int>(std::count(m.begin(), m.end(), true));
      const int expectedNoise = std::clamp(static_cast<int>(std::lround(length * density)), 1, length - 1);
      QCOMPARE(noise, expectedNoise);
      int spans = 0;
      for (std::size_t i = 0; i < m.size(); ++i)
        spans += m[i] && (i == 0 || !m[i - 1]);
      QCOMPARE(spans, std::clamp(static_cast<int>(std::lround(noise / mean)), 1, std::min(noise, length - noise)));
      QVERIFY(!m.front()); // non-noise first
      QCOMPARE(randomSpansNoiseMask(length, density, mean, seed), m); // the same seed, the same mask
    }
    if (length >= 100)
      QVERIFY(randomSpansNoiseMask(length, density, mean, 1) != randomSpansNoiseMask(length, density, mean, 2));
  }

  // Inputs keep every non-noise token with one sentinel per span; targets list each sentinel and
  // its span; putting the spans back gives the original text.
  void spanCorruptionLosesNothing()
  {
    const PretrainingNoise n = spanNoise();
    const EncodedExample text = textOf(200);
    const EncodedExample c = n.apply(text, 7);
    QCOMPARE(c.ids.back(), n.eos);
    QCOMPARE(c.targets.back(), n.eos);
    QCOMPARE(c.typeIds.size(), c.ids.size());
    QCOMPARE(static_cast<int>(c.ids.size() + c.targets.size()), 200 + 2 * 10 + 2); // 30 noise tokens in 10 spans
    std::map<int, std::vector<int>> spans;
    int current = -1;
    for (std::size_t i = 0; i + 1 < c.targets.size(); ++i) {
      const int t = c.targets[i];
      if (t >= 1000)
        current = t;
      else
        spans[current].push_back(t);
    }
    std::vector<int> rebuilt;
    int next = 1099;
    for (std::size_t i = 0; i + 1 < c.ids.size(); ++i) {
      if (c.ids[i] >= 1000) {
        QCOMPARE(c.ids[i], next--); // sentinels in order: <extra_id_0>, <extra_id_1>, …
        rebuilt.insert(rebuilt.end(), spans[c.ids[i]].begin(), spans[c.ids[i]].end());
      } else {
        rebuilt.push_back(c.ids[i]);
      }
    }
    QCOMPARE(rebuilt, text.ids);
    QVERIFY(n.apply(text, 8).ids != c.ids);
    QCOMPARE(n.apply(text, 7).ids, c.ids);
  }

  // BERT's recipe on 40,000 tokens: 15% chosen (± 0.6%), of those 80/10/10 (± 2%), labels are the
  // original ids at chosen positions, and [CLS]/[SEP]/[PAD] are never chosen or drawn.
  void maskingRates()
  {
    const PretrainingNoise n = maskedNoise(1000);
    long chosen = 0, masked = 0, random = 0, kept = 0, tokens = 0;
    for (int r = 0; r < 400; ++r) {
      EncodedExample e = textOf(100, 10);
      e.ids.front() = 2; // [CLS]
      e.ids.back() = 3;  // [SEP]
      const EncodedExample m = n.apply(e, static_cast<std::uint64_t>(r));
      QCOMPARE(m.tokenLabels.size(), e.ids.size());
      QCOMPARE(m.tokenLabels.front(), -100);
      QCOMPARE(m.tokenLabels.back(), -100);
      for (std::size_t t = 0; t < e.ids.size(); ++t) {
        tokens += t > 0 && t + 1 < e.ids.size();
        if (m.tokenLabels[t] == -100) {
          QCOMPARE(m.ids[t], e.ids[t]);
          continue;
        }
        QCOMPARE(m.tokenLabels[t], e.ids[t]);
        ++chosen;
        if (m.ids[t] == n.maskId)
          ++masked;
        else if (m.ids[t] == e.ids[t])
          ++kept;
        else {
          ++random;
          QVERIFY(!n.special[static_cast<std::size_t>(m.ids[t])]);
        }
      }
    }
    const double share = static_cast<double>(chosen) / static_cast<double>(tokens);
    QVERIFY2(std::abs(share - 0.15) < 0.006, qPrintable(QString::number(share)));
    QVERIFY(std::abs(static_cast<double>(masked) / chosen - 0.8) < 0.02);
    QVERIFY(std::abs(static_cast<double>(random) / chosen - 0.1) < 0.02);
    QVERIFY(std::abs(static_cast<double>(kept) / chosen - 0.1) < 0.02);
  }

  // A short example still teaches one token.
  void maskingNeverEmpty()
  {
    const PretrainingNoise n = maskedNoise(100);
    for (std::uint64_t seed = 0; seed < 50; ++seed) {
      const EncodedExample m = n.apply(textOf(3, 10), seed);
      QVERIFY(std::count_if(m.tokenLabels.begin(), m.tokenLabels.end(), [](int l) { return l != -100; }) >= 1);
    }
  }
};

QTEST_GUILESS_MAIN(TestPretraining)
#include "tst_pretraining.moc"
