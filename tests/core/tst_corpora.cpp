// The real datasets packaging/fetch-assets.sh prepares, loaded the way users load data, with the
// counts their publishers give.
#include "core/data/mapping.h"
#include "core/data/readers.h"
#include "core/data/statistics.h"
#include "core/data/wordnet.h"

#include "support/golden.h"

#include <QtTest/QtTest>

using namespace tunebench;

class TestCorpora : public QObject
{
  Q_OBJECT

  Dataset load(const QString &relative, TaskKind kind, DataReport &report)
  {
    const QString path = tunebench::testing::assetPath(relative);
    const Table table = readTable(path.toStdString(), report);
    MappingOptions options;
    options.kind = kind;
    options.columns = guessMapping(table, kind);
    options.reportDuplicates = false;
    return toDataset(table, options, report);
  }

private Q_SLOTS:
  void counts_data()
  {
    QTest::addColumn<QString>("file");
    QTest::addColumn<int>("kind");
    QTest::addColumn<int>("rows");
    QTest::addColumn<QStringList>("labels"); // "name=count"
    const int single = static_cast<int>(TaskKind::SingleLabel);
    QTest::newRow("Pang & Lee sentences") << "data/sentiment/pang-lee-sentences.csv" << single << 4000
                                          << QStringList{"positive=2000", "negative=2000"};
    QTest::newRow("Pang & Lee reviews") << "data/sentiment/pang-lee-reviews.csv" << single << 1500
                                        << QStringList{"positive=750", "negative=750"};
    QTest::newRow("SpamAssassin") << "data/spam/spamassassin.jsonl" << single << 6046
                                  << QStringList{"ham=4150", "spam=1896"};
    QTest::newRow("uncertainty") << "data/uncertainty/conll2010.csv" << single << 3000 << QStringList{};
    QTest::newRow("spam-apache") << "data/spam/spam-apache.csv" << single << 250 << QStringList{};
  }

  void counts()
  {
    QFETCH(QString, file);
    QFETCH(int, kind);
    QFETCH(int, rows);
    QFETCH(QStringList, labels);
    DataReport report;
    const Dataset d = load(file, static_cast<TaskKind>(kind), report);
    QVERIFY2(!report.hasErrors(), report.toString().c_str());
    QCOMPARE(static_cast<int>(d.size()), rows);
    const DatasetStatistics s = computeStatistics(d);
    for (const QString &entry : labels) {
      const QStringList parts = entry.split(QLatin1Char('='));
      QCOMPARE(s.labelCounts.at(parts[0].toStdString()), parts[1].toInt());
    }
  }

  void posTagging_data()
  {
    QTest::addColumn<QString>("file");
    QTest::addColumn<int>("sentences");
    QTest::addColumn<int>("tokens");
    QTest::addColumn<QString>("first"); // first token/tag
    // The source files hold 1,000 and 20,000 lines; the WSJ file's last line has no newline.
    QTest::newRow("WSJ") << "data/pos/wsj.conll" << 1001 << 25026 << "Pierre/NNP";
    QTest::newRow("OANC") << "data/pos/oanc.conll" << 20000 << 360524 << "Has/VBZ";
  }

  void posTagging()
  {
    QFETCH(QString, file);
    QFETCH(int, sentences);
    QFETCH(int, tokens);
    QFETCH(QString, first);
    DataReport report;
    const Dataset d = load(file, TaskKind::TokenTagging, report);
    QVERIFY2(!report.hasErrors(), report.toString().substr(0, 2000).c_str());
    QCOMPARE(static_cast<int>(d.size()), sentences);
    int n = 0;
    for (const Example &e : d.examples)
      n += static_cast<int>(e.tokens.size());
    QCOMPARE(n, tokens);
    QCOMPARE(QString::fromStdString(d.examples[0].tokens[0] + "/" + d.examples[0].tags[0]), first);
  }

  // WordNet 3.0 as Debian ships it: 117,659 synsets; 32,930 glosses hold a quote, and 3 of those
  // only a stray closing quote at the end ("...are available\""), so 32,927 have example sentences.
  void wordNet()
  {
    const WordNet wn = WordNet::load(tunebench::testing::assetPath(QStringLiteral("debs/root/usr/share/wordnet")).toStdString());
    QCOMPARE(static_cast<int>(wn.synsets().size()), 117659);
    int withExamples = 0, withDefinition = 0;
    for (const auto &s : wn.synsets()) {
      withExamples += s.examples.empty() ? 0 : 1;
      withDefinition += s.definition.empty() ? 0 : 1;
    }
    QCOMPARE(withExamples, 32927);
    const auto car = wn.synonyms("car");
    QVERIFY(std::find(car.begin(), car.end(), "automobile") != car.end());
    QVERIFY(wn.synonyms("zzzqx").empty());

    // The instruction set made from it: one "Define" per defined synset, one "Use" per example.
    DataReport report;
    const Dataset d = load(QStringLiteral("data/instructions/wordnet.jsonl"), TaskKind::Instruction, report);
    QVERIFY2(!report.hasErrors(), report.toString().substr(0, 2000).c_str());
    QCOMPARE(static_cast<int>(d.size()), withDefinition + withExamples);
    QCOMPARE(d.examples[0].instruction, std::string("Define the noun \"entity\"."));
  }

  void quizInstructions()
  {
    DataReport report;
    const Dataset d = load(QStringLiteral("data/instructions/quiz.jsonl"), TaskKind::Instruction, report);
    QVERIFY2(!report.hasErrors(), report.toString().substr(0, 2000).c_str());
    QVERIFY(d.size() >= 2000);
    QCOMPARE(d.examples[0].instruction, std::string("What is the capital for the African \"Algeria\"?"));
    QCOMPARE(d.examples[0].output, std::string("Algiers"));
  }
};

QTEST_GUILESS_MAIN(TestCorpora)
#include "tst_corpora.moc"
