// Splits, k-fold, leakage, cleaning and statistics on generated datasets.
#include "core/data/cleaning.h"
#include "core/data/splits.h"
#include "core/data/statistics.h"
#include "core/tokenize/wordpiece.h"
#include "core/util/error.h"

#include <QtTest/QtTest>

#include <map>
#include <set>

using namespace tunebench;

namespace {

// n examples with labels in the given proportions (label i gets counts[i] rows).
Dataset makeDataset(const std::vector<int> &counts)
{
  Dataset d;
  for (std::size_t label = 0; label < counts.size(); ++label)
    for (int i = 0; i < counts[label]; ++i) {
      Example e;
      e.text = "example " + std::to_string(label) + "-" + std::to_string(i);
      e.labels = {"class" + std::to_string(label)};
      d.examples.push_back(e);
    }
  return d;
}

std::map<std::string, int> countLabels(const Dataset &d, const std::vector<int> &rows)
{
  std::map<std::string, int> c;
  for (int r : rows)
    ++c[d.examples[static_cast<std::size_t>(r)].labels[0]];
  return c;
}

} // namespace

class TestDataSplits : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void stratifiedRatiosWithinOneExample_data()
  {
    QTest::addColumn<std::vector<int>>("counts");
    QTest::addColumn<int>("seed");
    QTest::newRow("balanced") << std::vector<int>{2000, 2000} << 42;
    QTest::newRow("skewed") << std::vector<int>{901, 87, 12} << 7;
    QTest::newRow("many small") << std::vector<int>{13, 17, 19, 23, 29, 31} << 1;
  }

  void stratifiedRatiosWithinOneExample()
  {
    QFETCH(std::vector<int>, counts);
    QFETCH(int, seed);
    const Dataset d = makeDataset(counts);
    const SplitRatios ratios{0.8, 0.1, 0.1};
    const SplitIndices s = splitDataset(d, ratios, true, static_cast<std::uint64_t>(seed));
    QCOMPARE(s.train.size() + s.validation.size() + s.test.size(), d.size());
    for (const auto &[rows, ratio] : {std::pair{&s.train, ratios.train}, {&s.validation, ratios.validation},
                                      {&s.test, ratios.test}}) {
      const auto c = countLabels(d, *rows);
      for (std::size_t label = 0; label < counts.size(); ++label) {
        const int got = c.count("class" + std::to_string(label)) ? c.at("class" + std::to_string(label)) : 0;
        QVERIFY2(std::abs(got - counts[label] * ratio) <= 1.0,
                 qPrintable(QStringLiteral("class %1: %2 rows for %3").arg(label).arg(got).arg(counts[label] * ratio)));
      }
    }
    // Disjoint, and the same seed gives the same split.
    std::set<int> all(s.train.begin(), s.train.end());
    all.insert(s.validation.begin(), s.validation.end());
    all.insert(s.test.begin(), s.test.end());
    QCOMPARE(all.size(), d.size());
    const SplitIndices again = splitDataset(d, ratios, true, static_cast<std::uint64_t>(seed));
    QCOMPARE(again.test, s.test);
    QVERIFY(splitDataset(d, ratios, true, static_cast<std::uint64_t>(seed) + 1).test != s.test);
  }

  void kFoldIsDisjointAndCovers()
  {
    const Dataset d = makeDataset({103, 51, 7});
    const auto folds = kFold(d, 5, true, 42);
    QCOMPARE(folds.size(), std::size_t(5));
    std::set<int> seen;
    for (const auto &f : folds) {
      for (int r : f)
        QVERIFY2(seen.insert(r).second, "a row is in two folds");
      QVERIFY(f.size() >= 32 && f.size() <= 33); // 161 rows over 5 folds
      const auto c = countLabels(d, f);
      QVERIFY(std::abs(c.at("class0") - 103 / 5.0) <= 1.0);
    }
    QCOMPARE(seen.size(), d.size());
    QVERIFY_THROWS_EXCEPTION(Error, kFold(d, 1, true, 42));
  }

  void badRatiosAreRefused()
  {
    QVERIFY_THROWS_EXCEPTION(Error, splitDataset(makeDataset({10}), {0.8, 0.3, 0.1}, false, 1));
  }

  void leakageIsFound()
  {
    Dataset d = makeDataset({5});
    d.examples[4].text = "  EXAMPLE 0-1 "; // the same text as row 1, up to case and spaces
    const auto leaks = findLeaks(d, {0, 1, 2}, {3, 4});
    QCOMPARE(leaks.size(), std::size_t(1));
    QCOMPARE(leaks[0].a, 1);
    QCOMPARE(leaks[0].b, 4);
  }

  void cleaningSteps()
  {
    QCOMPARE(stripHtml("<p>Tom &amp; Jerry&#39;s <b>show</b></p>"), std::string(" Tom & Jerry's  show  "));
    QCOMPARE(maskUrls("see https://example.org/a?b=1. or www.x.com"), std::string("see <url>. or <url>"));
    QCOMPARE(maskEmails("mail ana.n@example.org, not a@b"), std::string("mail <email>, not a@b"));
    QCOMPARE(collapseWhitespace("  a \t b\u00a0\u00a0c \n"), std::string("a b c"));

    Dataset d;
    for (const char *t : {"<i>Good</i>  film", "good film", "Ｆｕｌｌ", "plain"}) {
      Example e;
      e.text = t;
      e.labels = {"pos"};
      d.examples.push_back(e);
    }
    CleaningOptions o;
    o.stripHtml = true;
    o.unicode = UnicodeForm::NFKC;
    o.whitespace = true;
    o.lowercase = true;
    o.deduplicate = true;
    const auto steps = cleanDataset(d, o);
    QCOMPARE(steps.size(), std::size_t(5));
    QCOMPARE(steps[0].rowsChanged, 1); // HTML
    QCOMPARE(steps[1].rowsChanged, 1); // NFKC: the full-width word
    QCOMPARE(steps[2].rowsChanged, 1); // whitespace
    QCOMPARE(steps[3].rowsChanged, 2); // "Good", "full"
    QCOMPARE(steps[4].rowsRemoved, 1); // "good film" twice now
    QCOMPARE(d.size(), std::size_t(3));
    QCOMPARE(d.examples[1].text, std::string("full"));
  }

  void statistics()
  {
    Dataset d = makeDataset({3, 1});
    const WordPieceTokenizer t(Vocabulary({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "example", "0", "1", "2", "-"}), {});
    const DatasetStatistics s = computeStatistics(d, &t, 5);
    QCOMPARE(s.rows, std::size_t(4));
    QCOMPARE(s.labelCounts.at("class0"), 3);
    // "example 0-0" → [CLS] example 0 - 0 [SEP] = 6 tokens each.
    QCOMPARE(s.p50, 6);
    QCOMPARE(s.maxLength, 6);
    QCOMPARE(s.truncatedRows, 4);
    QCOMPARE(s.unknownRate, 0.0);
    d.examples[0].text = "unknownword";
    QVERIFY(computeStatistics(d, &t).unknownRate > 0.0);
  }
};

QTEST_GUILESS_MAIN(TestDataSplits)
#include "tst_datasplits.moc"
