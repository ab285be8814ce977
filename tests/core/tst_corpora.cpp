// The real datasets packaging/fetch-assets.sh prepares, loaded the way users load data, with the
// counts their publishers give.
#include "core/data/mapping.h"
#include "core/data/readers.h"
#include "core/data/statistics.h"

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
};

QTEST_GUILESS_MAIN(TestCorpora)
#include "tst_corpora.moc"
