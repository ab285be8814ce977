// Metrics against hand-computed cases (scikit-learn's definitions, seqeval's entity counting,
// BLEU, ROUGE-L, ECE).
#include "core/eval/metrics.h"

#include <QtTest/QtTest>

using namespace tunebench;

namespace {
bool near(double a, double b, double eps = 1e-9) { return std::abs(a - b) < eps; }
#define NEAR(a, b) QVERIFY2(near((a), (b), 1e-6), qPrintable(QStringLiteral("%1 != %2").arg(a, 0, 'g', 12).arg(b, 0, 'g', 12)))
} // namespace

class TestMetrics : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  // truth 0 0 1 1 2, predicted 0 1 1 1 0:
  //   a: tp 1, predicted 2, support 2 -> P .5, R .5, F .5
  //   b: tp 2, predicted 3, support 2 -> P 2/3, R 1, F .8
  //   c: tp 0, predicted 0, support 1 -> 0 (zero_division 0)
  void classification()
  {
    const auto m = classificationMetrics({0, 0, 1, 1, 2}, {0, 1, 1, 1, 0}, {"a", "b", "c"});
    NEAR(m.accuracy, 0.6);
    NEAR(m.perClass[0].f1, 0.5);
    NEAR(m.perClass[1].precision, 2.0 / 3.0);
    NEAR(m.perClass[1].recall, 1.0);
    NEAR(m.perClass[1].f1, 0.8);
    NEAR(m.perClass[2].f1, 0.0);
    NEAR(m.macro.f1, (0.5 + 0.8 + 0.0) / 3.0);
    NEAR(m.macro.precision, (0.5 + 2.0 / 3.0) / 3.0);
    NEAR(m.micro.f1, 0.6);
    NEAR(m.weighted.f1, (2 * 0.5 + 2 * 0.8 + 0) / 5.0);
    QCOMPARE(m.confusion[0][1], 1);
    QCOMPARE(m.confusion[2][0], 1);
    QCOMPARE(m.confusion[1][1], 2);
  }

  // Two examples over labels x, y: {x} vs {x, y}; {y} vs {}.
  void multiLabel()
  {
    const auto m = multiLabelMetrics({{0}, {1}}, {{0, 1}, {}}, {"x", "y"});
    NEAR(m.accuracy, 0.0); // exact match ratio
    NEAR(m.perClass[0].f1, 1.0);
    NEAR(m.perClass[1].precision, 0.0);
    NEAR(m.micro.precision, 0.5); // tp 1 of 2 predicted
    NEAR(m.micro.recall, 0.5);    // tp 1 of 2 true
  }

  // seqeval's README example: f1 0.50.
  void seqevalReadme()
  {
    const std::vector<std::vector<std::string>> truth = {{"O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"},
                                                         {"B-PER", "I-PER", "O"}};
    const std::vector<std::vector<std::string>> pred = {{"O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"},
                                                        {"B-PER", "I-PER", "O"}};
    const EntityMetrics m = entityMetrics(truth, pred);
    NEAR(m.micro.precision, 0.5);
    NEAR(m.micro.recall, 0.5);
    NEAR(m.micro.f1, 0.5);
    QCOMPARE(m.gold, 2);
    QCOMPARE(m.predicted, 2);
  }

  void seqevalEdgeCases()
  {
    // An I- with no B- starts an entity (lenient, as seqeval's default mode reads it).
    EntityMetrics m = entityMetrics({{"B-PER", "I-PER", "O", "B-LOC"}}, {{"B-PER", "I-PER", "O", "I-LOC"}});
    NEAR(m.micro.f1, 1.0);
    // Entities ending at the sentence end are counted; sentences never share an entity.
    m = entityMetrics({{"O", "B-ORG", "I-ORG"}, {"I-ORG", "O"}}, {{"O", "B-ORG", "I-ORG"}, {"B-ORG", "O"}});
    QCOMPARE(m.gold, 2);
    NEAR(m.micro.f1, 1.0);
    // A type change ends an entity: B-PER I-LOC is PER(0,1) and LOC(1,2).
    m = entityMetrics({{"B-PER", "B-LOC"}}, {{"B-PER", "I-LOC"}});
    NEAR(m.micro.f1, 1.0);
    // A wrong boundary is wrong: PER(0,2) predicted as PER(0,1).
    m = entityMetrics({{"B-PER", "I-PER"}}, {{"B-PER", "O"}});
    NEAR(m.micro.precision, 0.0);
    NEAR(m.micro.recall, 0.0);
    // IOBES reads the same way.
    m = entityMetrics({{"S-PER", "O", "B-LOC", "E-LOC"}}, {{"S-PER", "O", "B-LOC", "E-LOC"}});
    QCOMPARE(m.gold, 2);
    NEAR(m.micro.f1, 1.0);
    // Per type: PER right, LOC missed -> macro (1 + 0) / 2.
    m = entityMetrics({{"B-PER", "O", "B-LOC"}}, {{"B-PER", "O", "O"}});
    NEAR(m.macro.f1, 0.5);
    NEAR(m.micro.recall, 0.5);
    NEAR(m.micro.precision, 1.0);
  }

  void tokenAccuracyCounts()
  {
    NEAR(tokenAccuracy({{"NN", "VB"}, {"DT"}}, {{"NN", "NN"}, {"DT"}}), 2.0 / 3.0);
  }

  void textMetrics()
  {
    using W = std::vector<std::string>;
    const W sentence = splitWords("the cat sat on the mat");
    NEAR(corpusBleu({sentence}, {{sentence}}), 1.0);
    // BLEU-1 of "the the the the" against "the cat": clipped 1 of 4; longer than the reference.
    NEAR(corpusBleu({splitWords("the the the the")}, {{splitWords("the cat")}}, 1, false), 0.25);
    // Brevity penalty: "the cat" against "the cat sat": exp(1 - 3/2), precisions 1.
    NEAR(corpusBleu({splitWords("the cat")}, {{splitWords("the cat sat")}}, 2, false), std::exp(1.0 - 1.5));
    // No 4-gram match scores 0 without smoothing, more with it.
    QCOMPARE(corpusBleu({splitWords("a b c d e")}, {{splitWords("a b c x e")}}, 4, false), 0.0);
    QVERIFY(corpusBleu({splitWords("a b c d e")}, {{splitWords("a b c x e")}}, 4, true) > 0.0);
    NEAR(rougeL(W{"a", "b", "c", "d"}, W{"a", "c", "d", "e"}), 0.75);
    NEAR(rougeL(W{"a"}, W{"b"}), 0.0);
    NEAR(exactMatch({" The  Cat ", "dog"}, {"the cat", "cat"}), 0.5);
    NEAR(perplexity(std::log(20.0)), 20.0);
  }

  // Bins of width 0.1: (0.8, 0.9] holds 0.9, 0.9 (accuracy .5); (0.5, 0.6] holds 0.6, 0.6 (accuracy 1).
  void calibrationError()
  {
    NEAR(expectedCalibrationError({0.9, 0.9, 0.6, 0.6}, {true, false, true, true}, 10), 0.5 * 0.4 + 0.5 * 0.4);
    NEAR(expectedCalibrationError({1.0, 1.0}, {true, true}, 10), 0.0);
  }
};

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
