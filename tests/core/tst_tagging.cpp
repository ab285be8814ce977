// Tag schemes: entities read as conlleval/seqeval read them, conversions, validation, repair.
#include "core/data/tagging.h"
#include "core/eval/tagdecoding.h"

#include <QtTest/QtTest>

#include <cmath>

using namespace tunebench;
using Tags = std::vector<std::string>;
using Spans = std::vector<EntitySpan>;

class TestTagging : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void entities_data()
  {
    QTest::addColumn<Tags>("tags");
    QTest::addColumn<Spans>("expected");
    QTest::newRow("iob2") << Tags{"B-PER", "I-PER", "O", "B-LOC"} << Spans{{"PER", 0, 2}, {"LOC", 3, 4}};
    // seqeval's edge cases: an I- with no B- starts an entity; an entity can end the sentence.
    QTest::newRow("orphan I") << Tags{"O", "I-PER", "I-PER", "O"} << Spans{{"PER", 1, 3}};
    QTest::newRow("at the end") << Tags{"O", "B-MISC", "I-MISC"} << Spans{{"MISC", 1, 3}};
    QTest::newRow("type change") << Tags{"B-LOC", "I-ORG"} << Spans{{"LOC", 0, 1}, {"ORG", 1, 2}};
    QTest::newRow("adjacent B") << Tags{"B-PER", "B-PER"} << Spans{{"PER", 0, 1}, {"PER", 1, 2}};
    QTest::newRow("iob1") << Tags{"I-PER", "I-PER", "B-PER", "O"} << Spans{{"PER", 0, 2}, {"PER", 2, 3}};
    QTest::newRow("iobes") << Tags{"S-LOC", "B-PER", "I-PER", "E-PER", "O"} << Spans{{"LOC", 0, 1}, {"PER", 1, 4}};
    QTest::newRow("E after O") << Tags{"O", "E-PER"} << Spans{{"PER", 1, 2}};
    QTest::newRow("all O") << Tags{"O", "O"} << Spans{};
  }

  void entities()
  {
    QFETCH(Tags, tags);
    QFETCH(Spans, expected);
    const Spans got = extractEntities(tags);
    QCOMPARE(got.size(), expected.size());
    for (std::size_t i = 0; i < got.size(); ++i)
      QVERIFY2(got[i] == expected[i], qPrintable(QStringLiteral("entity %1: %2 [%3,%4)")
                                                     .arg(i).arg(QString::fromStdString(got[i].type))
                                                     .arg(got[i].begin).arg(got[i].end)));
  }

  void conversions()
  {
    const Tags iob2{"B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-LOC"};
    QCOMPARE(convertTags(iob2, TagScheme::IOBES), (Tags{"B-PER", "I-PER", "E-PER", "O", "S-LOC", "S-LOC"}));
    QCOMPARE(convertTags(iob2, TagScheme::IOB1), (Tags{"I-PER", "I-PER", "I-PER", "O", "I-LOC", "B-LOC"}));
    // Round trips keep the entities.
    for (TagScheme via : {TagScheme::IOB1, TagScheme::IOBES})
      QCOMPARE(convertTags(convertTags(iob2, via), TagScheme::IOB2), iob2);
  }

  void validation()
  {
    QVERIFY(validateTags({"B-PER", "I-PER", "O"}, TagScheme::IOB2).empty());
    auto p = validateTags({"O", "I-PER"}, TagScheme::IOB2);
    QCOMPARE(p.size(), std::size_t(1));
    QCOMPARE(p[0].token, 1);
    QVERIFY(!p[0].syntax);
    p = validateTags({"B-PER", "Q-PER", "B-"}, TagScheme::IOB2);
    QCOMPARE(p.size(), std::size_t(2));
    QVERIFY(p[0].syntax && p[1].syntax);
    QVERIFY(validateTags({"S-LOC", "B-PER", "E-PER"}, TagScheme::IOBES).empty());
    QVERIFY(!validateTags({"B-PER", "O"}, TagScheme::IOBES).empty()); // not closed by E-
    QVERIFY(!validateTags({"S-LOC"}, TagScheme::IOB2).empty());       // S- is not IOB2
  }

  void repair()
  {
    QCOMPARE(repairTags({"O", "I-PER", "I-PER"}, TagScheme::IOB2), (Tags{"O", "B-PER", "I-PER"}));
    QCOMPARE(repairTags({"B-LOC", "I-LOC", "O"}, TagScheme::IOBES), (Tags{"B-LOC", "E-LOC", "O"}));
    QCOMPARE(parseTagScheme("BIO"), std::optional<TagScheme>(TagScheme::IOB2));
    QCOMPARE(parseTagScheme("bioes"), std::optional<TagScheme>(TagScheme::IOBES));
    QVERIFY(!parseTagScheme("xyz"));
  }

  // Constrained decoding picks the best sequence the scheme allows, from the tagger's own
  // probabilities (hand-computed cases), and never breaks a valid argmax.
  void constrainedDecoding()
  {
    QVERIFY(tagTransitionAllowed("B-PER", "I-PER", TagScheme::IOB2));
    QVERIFY(!tagTransitionAllowed("B-PER", "I-LOC", TagScheme::IOB2));
    QVERIFY(!tagTransitionAllowed("", "I-PER", TagScheme::IOB2));
    QVERIFY(!tagTransitionAllowed("O", "I-PER", TagScheme::IOB2));
    QVERIFY(tagTransitionAllowed("I-PER", "", TagScheme::IOB2));
    QVERIFY(!tagTransitionAllowed("B-PER", "", TagScheme::IOBES)); // must close with E-
    QVERIFY(!tagTransitionAllowed("B-PER", "O", TagScheme::IOBES));
    QVERIFY(tagTransitionAllowed("E-PER", "S-LOC", TagScheme::IOBES));
    QVERIFY(tagTransitionAllowed("O", "I-PER", TagScheme::IOB1));

    const Tags labels = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"};
    auto lp = [](std::vector<double> p) {
      for (double &v : p)
        v = std::log(v);
      return p;
    };
    // Argmax: O I-PER I-PER (invalid). Valid choices: O B-PER I-PER = .5·.4·.6 = .12 beats
    // O O O = .5·.1·.2 = .01 and B-PER I-PER I-PER = .2·.5·.6 = .06.
    const std::vector<std::vector<double>> sentence = {lp({.5, .2, .1, .1, .1}), lp({.1, .4, .5, 0.0001, 0.0001}),
                                                       lp({.2, .1, .6, .05, .05})};
    const std::vector<int> path = constrainedDecode(sentence, labels, TagScheme::IOB2);
    QCOMPARE(path, (std::vector<int>{0, 1, 2}));
    // The rule repair would keep the argmax's entity from token 1 as well, but only by relabelling.
    QCOMPARE(repairTags({"O", "I-PER", "I-PER"}, TagScheme::IOB2), (Tags{"O", "B-PER", "I-PER"}));
    // Type change inside an entity: B-PER I-LOC is invalid; B-LOC I-LOC (.3·.6=.18) beats B-PER I-PER (.35·.3=.105).
    const std::vector<std::vector<double>> mixed = {lp({.05, .35, .05, .3, .25}), lp({.05, .05, .3, .0, .6})};
    QCOMPARE(constrainedDecode(mixed, labels, TagScheme::IOB2), (std::vector<int>{3, 4}));
    // A valid argmax is kept as it is.
    const std::vector<std::vector<double>> valid = {lp({.1, .7, .1, .05, .05}), lp({.1, .1, .7, .05, .05})};
    QCOMPARE(constrainedDecode(valid, labels, TagScheme::IOB2), (std::vector<int>{1, 2}));
    // IOBES: a lone B- at the end must become S- or be closed.
    const Tags iobes = {"O", "B-PER", "I-PER", "E-PER", "S-PER"};
    const std::vector<std::vector<double>> open = {lp({.1, .6, .1, .1, .1}), lp({.6, .1, .1, .1, .1})};
    // B-PER O is invalid; S-PER O = .1·.6 = .06, B-PER E-PER = .6·.1 = .06 (tie: the first found),
    // O O = .1·.6 = .06 — all equal, so check validity rather than the pick.
    const std::vector<int> fixed = constrainedDecode(open, iobes, TagScheme::IOBES);
    Tags decoded;
    for (int k : fixed)
      decoded.push_back(iobes[static_cast<std::size_t>(k)]);
    QVERIFY(validateTags(decoded, TagScheme::IOBES).empty());
  }
};

QTEST_GUILESS_MAIN(TestTagging)
#include "tst_tagging.moc"
