// Malformed inputs across the readers and the validation: each must be reported with the file,
// the line (and column where the format has one) and the problem, never a crash.
#include "core/config/experiment.h"
#include "core/data/mapping.h"
#include "core/data/readers.h"
#include "core/models/modelconfig.h"
#include "core/util/error.h"
#include "core/util/jsonfile.h"

#include <QtTest/QtTest>

#include <sys/stat.h>

using namespace tunebench;

class TestDataReaders : public QObject
{
  Q_OBJECT

  QTemporaryDir m_dir;

  QString write(const QString &name, const QByteArray &content)
  {
    const QString path = m_dir.filePath(name);
    QFile f(path);
    if (f.open(QIODevice::WriteOnly))
      f.write(content);
    return path;
  }

  // Reads and maps a file as the GUI and CLI do.
  DataReport load(const QString &path, TaskKind kind, const QString &allowed, Dataset *out = nullptr,
                  TagScheme scheme = TagScheme::IOB2)
  {
    DataReport report;
    const Table table = readTable(path.toStdString(), report);
    MappingOptions options;
    options.kind = kind;
    options.columns = guessMapping(table, kind);
    options.scheme = scheme;
    for (const QString &l : allowed.split(QLatin1Char(','), Qt::SkipEmptyParts))
      options.allowedLabels.push_back(l.toStdString());
    if (!table.columns.empty()) {
      Dataset d = toDataset(table, options, report);
      if (out)
        *out = std::move(d);
    }
    return report;
  }

private Q_SLOTS:
  void malformed_data()
  {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<int>("kind");
    QTest::addColumn<QString>("allowed");
    QTest::addColumn<int>("scheme");
    QTest::addColumn<int>("line");
    QTest::addColumn<int>("column"); // 0: not checked
    QTest::addColumn<QString>("message");
    QTest::addColumn<bool>("error");   // false: a warning
    const int single = static_cast<int>(TaskKind::SingleLabel), multi = static_cast<int>(TaskKind::MultiLabel),
              tagging = static_cast<int>(TaskKind::TokenTagging), instr = static_cast<int>(TaskKind::Instruction),
              lm = static_cast<int>(TaskKind::LanguageModel);
    const int iob2 = static_cast<int>(TagScheme::IOB2), iobes = static_cast<int>(TagScheme::IOBES);
    // CSV
    QTest::newRow("csv unterminated quote") << "a.csv" << QByteArray("text,label\n\"fine\",pos\n\"open,neg\nx,pos\n")
        << single << "" << iob2 << 3 << 1 << "quoted field never closed" << true;
    QTest::newRow("csv text after quote") << "b.csv" << QByteArray("text,label\n\"good\" movie,pos\n")
        << single << "" << iob2 << 2 << 7 << "unexpected text after a closing quote" << true;
    QTest::newRow("csv too many fields") << "c.csv" << QByteArray("text,label\ngood,pos\nbad,neg,extra\n")
        << single << "" << iob2 << 3 << 1 << "expected 2 fields (as the header on line 1), found 3" << true;
    QTest::newRow("csv too few fields") << "d.csv" << QByteArray("text,label\ngood,pos\nlonely\n")
        << single << "" << iob2 << 3 << 1 << "found 1" << true;
    QTest::newRow("csv bad utf-8") << "e.csv" << QByteArray("text,label\ngood,pos\ncaf\xe9 au lait,neg\n")
        << single << "" << iob2 << 3 << 4 << "invalid UTF-8 byte 0xe9" << true;
    QTest::newRow("csv empty file") << "f.csv" << QByteArray("") << single << "" << iob2 << 0 << 0
        << "the file is empty" << true;
    QTest::newRow("csv unnamed column") << "g.csv" << QByteArray("text,,label\na,b,c\n") << single << "" << iob2
        << 1 << 6 << "header column 2 has no name" << true;
    QTest::newRow("csv duplicate column") << "h.csv" << QByteArray("text,label,text\na,b,c\n") << single << ""
        << iob2 << 1 << 12 << "names this column twice" << true;
    QTest::newRow("csv missing label column") << "i.csv" << QByteArray("text,score\ngood,5\n") << single << ""
        << iob2 << 1 << 0 << "no column is mapped to label; the file has: text, score" << true;
    QTest::newRow("csv empty text") << "j.csv" << QByteArray("text,label\ngood,pos\n  ,neg\n") << single << ""
        << iob2 << 3 << 1 << "the text is empty" << true;
    QTest::newRow("csv missing label") << "k.csv" << QByteArray("text,label\ngood,pos\nbad,\n") << single << ""
        << iob2 << 3 << 5 << "the label is missing" << true;
    QTest::newRow("csv unknown label") << "l.csv" << QByteArray("text,label\ngood,pos\nbad,negative\n") << single
        << "pos,neg" << iob2 << 3 << 5 << "unknown label \"negative\" (expected one of: pos, neg)" << true;
    QTest::newRow("csv duplicate") << "m.csv" << QByteArray("text,label\ngood,pos\nbad,neg\ngood,pos\n") << single
        << "" << iob2 << 4 << 0 << "duplicate of the example on line 2" << false;
    QTest::newRow("csv conflicting duplicate") << "n.csv" << QByteArray("text,label\ngood,pos\ngood,neg\n") << single
        << "" << iob2 << 3 << 0 << "with a different label (\"pos\" there, \"neg\" here)" << false;
    QTest::newRow("csv stray quote") << "o.csv" << QByteArray("text,label\nsay \"hi\" now,pos\n") << single << ""
        << iob2 << 2 << 5 << "a quote inside an unquoted field 1" << false;
    QTest::newRow("csv embedded newline keeps lines") << "p.csv"
        << QByteArray("text,label\n\"two\nlines\",pos\n\"three\",neg,x\n") << single << "" << iob2 << 4 << 1
        << "found 3" << true;
    QTest::newRow("tsv field count") << "q.tsv" << QByteArray("text\tlabel\ngood\tpos\nbad neg\n") << single << ""
        << iob2 << 3 << 1 << "expected 2 fields" << true;
    // JSON Lines and JSON
    QTest::newRow("jsonl invalid json") << "r.jsonl" << QByteArray("{\"text\": \"a\", \"label\": \"pos\"}\n{\"text\": \"b\" \"label\": 1}\n")
        << single << "" << iob2 << 2 << 14 << "invalid JSON" << true;
    QTest::newRow("jsonl not an object") << "s.jsonl" << QByteArray("{\"text\": \"a\", \"label\": \"pos\"}\n[1, 2]\n")
        << single << "" << iob2 << 2 << 1 << "expected a JSON object, found array" << true;
    QTest::newRow("jsonl missing key") << "t.jsonl" << QByteArray("{\"text\": \"a\", \"label\": \"pos\"}\n{\"label\": \"neg\"}\n")
        << single << "" << iob2 << 2 << 0 << "field \"text\": missing" << true;
    QTest::newRow("jsonl bad utf-8") << "u.jsonl" << QByteArray("{\"text\": \"a\", \"label\": \"pos\"}\n{\"text\": \"\xc3(\", \"label\": \"neg\"}\n")
        << single << "" << iob2 << 2 << 11 << "invalid UTF-8 byte 0xc3" << true;
    QTest::newRow("jsonl bad label list") << "v.jsonl" << QByteArray("{\"text\": \"a\", \"labels\": [\"x\", {\"y\": 1}]}\n")
        << multi << "" << iob2 << 1 << 0 << "the list holds a object, expected strings" << true;
    QTest::newRow("json trailing comma") << "w.json" << QByteArray("[\n {\"text\": \"a\", \"label\": \"pos\"},\n]\n")
        << single << "" << iob2 << 3 << 1 << "invalid JSON" << true;
    QTest::newRow("json not an array") << "x.json" << QByteArray("{\"text\": \"a\"}\n") << single << "" << iob2 << 1
        << 1 << "expected an array of objects" << true;
    // Token tagging
    QTest::newRow("conll one column") << "y.conll" << QByteArray("-DOCSTART- O\n\nJohn B-PER\nlives\nin O\n")
        << tagging << "" << iob2 << 4 << 1 << "expected a token and a tag column, found 1 column(s): \"lives\"" << true;
    QTest::newRow("conll malformed tag") << "z.conll" << QByteArray("John X-PER\nlives O\n\n") << tagging << "" << iob2
        << 1 << 0 << "tag \"X-PER\" is not O or B-/I-TYPE" << true;
    QTest::newRow("conll orphan I-") << "aa.conll" << QByteArray("John O\nSmith I-PER\n\n") << tagging << "" << iob2
        << 1 << 0 << "token 2 (\"Smith\"): \"I-PER\" does not continue an entity (after O)" << false;
    QTest::newRow("conll type change") << "ab.conll" << QByteArray("New B-LOC\nYork I-ORG\n\n") << tagging << ""
        << iob2 << 1 << 0 << "after a different type" << false;
    QTest::newRow("iobes unclosed") << "ac.conll" << QByteArray("New B-LOC\nYork I-LOC\nis O\n\n") << tagging << ""
        << iobes << 1 << 0 << "is not closed by E-LOC" << false;
    QTest::newRow("unknown entity type") << "ad.conll" << QByteArray("Paris B-LOC\n\nBob B-PERSON\n\n") << tagging
        << "LOC,PER" << iob2 << 3 << 0 << "unknown entity type \"PERSON\"" << true;
    QTest::newRow("jsonl tag count") << "ae.jsonl" << QByteArray("{\"tokens\": [\"a\", \"b\", \"c\"], \"tags\": [\"O\", \"O\"]}\n")
        << tagging << "" << iob2 << 1 << 0 << "3 tokens but 2 tags" << true;
    // Instructions and chats
    QTest::newRow("instruction empty output") << "af.jsonl" << QByteArray("{\"instruction\": \"Define cat\", \"output\": \"\"}\n")
        << instr << "" << iob2 << 1 << 0 << "field \"output\": the output is empty" << true;
    QTest::newRow("chat without assistant") << "ag.jsonl"
        << QByteArray("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n") << instr << "" << iob2 << 1 << 0
        << "no assistant turn" << true;
    QTest::newRow("chat unknown role") << "ah.jsonl"
        << QByteArray("{\"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"x\"}]}\n")
        << instr << "" << iob2 << 1 << 0 << "unknown role \"robot\"" << true;
    // JSON nested 100,000 deep (a stack overflow once): refused before it is parsed, with its place.
    const QByteArray deep = QByteArray(100000, '[') + QByteArray(100000, ']');
    QTest::newRow("jsonl nested deep")
        << "aj.jsonl" << QByteArray("{\"text\": \"ok\", \"label\": \"a\"}\n{\"text\": " + deep + "}\n")
        << single << "" << iob2 << 2 << 265 << "JSON nested deeper than 256 levels" << true;
    QTest::newRow("json nested deep") << "ak.json" << QByteArray("{\"data\": " + deep + "}") << single << ""
                                      << iob2 << 1 << 265 << "JSON nested deeper than 256 levels" << true;
    QTest::newRow("list cell nested deep")
        << "al.csv" << QByteArray("text,labels\nhello,\"" + deep + "\"\n") << multi << "" << iob2 << 2 << 0
        << "the list nests deeper than 256 levels" << true;
    // Found by fuzz_tables: an empty JSON file (a crash in locating the error) and numbers past a
    // double's range (nlohmann's out_of_range escaped the readers).
    QTest::newRow("json empty") << "an.json" << QByteArray("") << single << "" << iob2 << 0 << 0
                                << "the file is empty" << true;
    QTest::newRow("json number too large")
        << "ao.json" << QByteArray("[{\"text\": \"x\", \"label\": 1e999}]") << single << "" << iob2 << 1 << 1
        << "a number is too large" << true;
    QTest::newRow("jsonl number too large")
        << "ap.jsonl"
        << QByteArray("{\"text\": \"ok\", \"label\": \"a\"}\n{\"text\": \"x\", \"label\": 1e999}\n") << single
        << "" << iob2 << 2 << 1 << "a number is too large" << true;
    QTest::newRow("csv header only") << "am.csv" << QByteArray("text,label\n") << single << "" << iob2 << 1
                                     << 0 << "the file has a header but no data rows" << true;
    // Plain text
    QTest::newRow("text bad utf-8") << "ai.txt" << QByteArray("fine line\nanother\nbroken \xff here\n") << lm << ""
        << iob2 << 3 << 8 << "invalid UTF-8 byte 0xff" << true;
  }

  void malformed()
  {
    QFETCH(QString, file);
    QFETCH(QByteArray, content);
    QFETCH(int, kind);
    QFETCH(QString, allowed);
    QFETCH(int, scheme);
    QFETCH(int, line);
    QFETCH(int, column);
    QFETCH(QString, message);
    QFETCH(bool, error);
    const QString path = write(file, content);
    DataReport report;
    try {
      report = load(path, static_cast<TaskKind>(kind), allowed, nullptr, static_cast<TagScheme>(scheme));
    } catch (const std::exception &e) {
      QFAIL(qPrintable(QStringLiteral("threw instead of reporting: ") + QString::fromUtf8(e.what())));
    }
    const auto &issues = report.issues();
    const auto it = std::find_if(issues.begin(), issues.end(), [&](const DataIssue &i) {
      return QString::fromStdString(i.toString()).contains(message);
    });
    QVERIFY2(it != issues.end(), qPrintable(QStringLiteral("no issue says \"%1\"; got:\n%2")
                                                .arg(message, QString::fromStdString(report.toString()))));
    QCOMPARE(QString::fromStdString(it->file), path);
    QCOMPARE(it->line, line);
    if (column > 0)
      QCOMPARE(it->column, column);
    QCOMPARE(it->severity == DataIssue::Severity::Error, error);
    // The message a user reads starts with file:line.
    const QString text = QString::fromStdString(it->toString());
    QVERIFY(text.startsWith(path + (line > 0 ? QStringLiteral(":%1").arg(line) : QString())));
  }

  // A JSON file (a model's config.json) nested 100,000 deep: one message naming the file.
  void deepJsonFileIsRefused()
  {
    const QString path = write(QStringLiteral("config.json"), "{\"hidden_size\": " + QByteArray(100000, '[') +
                                                                  QByteArray(100000, ']') + "}");
    try {
      tunebench::readJsonFile(path.toStdString());
      QFAIL("accepted");
    } catch (const tunebench::Error &e) {
      QCOMPARE(QString::fromUtf8(e.what()),
               path + QStringLiteral(": JSON nested deeper than 256 levels (at byte 272)"));
    }
    const QString bad = write(QStringLiteral("bad.json"), "{\"a\": 1,\n \"b\": x}");
    try {
      tunebench::readJsonFile(bad.toStdString());
      QFAIL("accepted");
    } catch (const tunebench::Error &e) {
      const QString text = QString::fromUtf8(e.what());
      QVERIFY2(text.startsWith(bad + QStringLiteral(": not valid JSON at byte ")), qPrintable(text));
      QVERIFY2(!text.contains(QLatin1String("json.exception")) && !text.contains(QLatin1String("line 2")),
               qPrintable(text));
    }
  }

  // Inputs that are not regular files are refused before they are opened (a FIFO would block
  // forever, /dev/zero never ends), and so are folders: each with the path in the message.
  void notRegularFilesAreRefused()
  {
    const QString fifo = m_dir.filePath(QStringLiteral("pipe.csv"));
    QCOMPARE(::mkfifo(fifo.toLocal8Bit().constData(), 0600), 0);
    const QString zero = m_dir.filePath(QStringLiteral("zero.csv"));
    QVERIFY(QFile::link(QStringLiteral("/dev/zero"), zero));
    const QString folder = m_dir.filePath(QStringLiteral("folder.csv"));
    QVERIFY(QDir().mkpath(folder));
    for (const QString &path : {fifo, zero, folder}) {
      DataReport report;
      try {
        readTable(path.toStdString(), report);
        QFAIL(qPrintable(path + QStringLiteral(" was read")));
      } catch (const tunebench::Error &e) {
        const QString text = QString::fromUtf8(e.what());
        QVERIFY2(text.startsWith(path + QStringLiteral(": is ")), qPrintable(text));
      }
      QVERIFY_THROWS_EXCEPTION(tunebench::Error, tunebench::readJsonFile(path.toStdString()));
      const ConfigResult config = loadExperimentConfig(path.toStdString());
      QVERIFY(!config.ok());
    }
  }

  // Integers in a model's config.json are range-checked before they become ints.
  void jsonIntegersDoNotWrap()
  {
    const nlohmann::json config = {{"hidden_size", 10000000000LL}, {"num_layers", 12}, {"negative", -1}};
    QCOMPARE(tunebench::intField(config, "config.json", "num_layers"), 12);
    try {
      tunebench::intField(config, "config.json", "hidden_size");
      QFAIL("10000000000 became an int");
    } catch (const tunebench::Error &e) {
      QCOMPARE(
          QString::fromUtf8(e.what()),
          QStringLiteral(
              "config.json: field \"hidden_size\" must be an integer from 0 to 2147483647, got 10000000000"));
    }
    QVERIFY_THROWS_EXCEPTION(tunebench::Error, tunebench::intField(config, "config.json", "negative"));
  }

  // A model's config.json with a field of the wrong JSON type: our words and the file, never
  // nlohmann's "[json.exception.type_error.302]".
  void wrongJsonTypeNamesTheFile()
  {
    const QString path = write(QStringLiteral("typed-config.json"),
                               "{\"model_type\": 5, \"vocab_size\": 10, \"hidden_size\": 8}");
    try {
      tunebench::EncoderConfig::fromFile(path.toStdString());
      QFAIL("accepted");
    } catch (const tunebench::Error &e) {
      QCOMPARE(QString::fromUtf8(e.what()),
               path +
                   QStringLiteral(": a field has the wrong JSON type (type must be string, but is number)"));
    }
  }

  // Good rows survive next to bad ones.
  void badRowsDoNotLoseGoodOnes()
  {
    const QString path = write(QStringLiteral("mixed.csv"), "text,label\ngood,pos\n\"broken\" x,neg\nfine,neg\n");
    Dataset d;
    const DataReport report = load(path, TaskKind::SingleLabel, QString(), &d);
    QCOMPARE(report.errorCount(), 1);
    QCOMPARE(d.size(), std::size_t(2));
    QCOMPARE(d.examples[1].text, std::string("fine"));
    QCOMPARE(d.examples[1].line, 4);
  }

  // The awkward real-world CSV: BOM, every field quoted, embedded newlines, CRLF records.
  void realWorldCsv()
  {
    const QString path = write(QStringLiteral("pl.csv"),
                               "\xEF\xBB\xBF\"1\",\"a \"\"great\"\" film\n\"\r\n\"-1\",\"dull,\nslow\n\"\r\n");
    DataReport report;
    const Table t = readCsv(path.toStdString(), {',', false}, report);
    QVERIFY2(!report.hasErrors(), report.toString().c_str());
    QCOMPARE(t.rows.size(), std::size_t(2));
    QCOMPARE(t.rows[0][0], std::string("1"));
    QCOMPARE(t.rows[0][1], std::string("a \"great\" film\n"));
    QCOMPARE(t.rows[1][1], std::string("dull,\nslow\n"));
    QCOMPARE(t.lines[1], 3);
  }

  void conllSentences()
  {
    const QString path = write(QStringLiteral("ok.conll"),
                               "-DOCSTART- -X- O O\n\nEU\tNNP\tB-ORG\nrejects\tVBZ\tO\n\nPeter\tNNP\tB-PER\n");
    Dataset d;
    const DataReport report = load(path, TaskKind::TokenTagging, QString(), &d);
    QVERIFY2(!report.hasErrors(), report.toString().c_str());
    QCOMPARE(d.size(), std::size_t(2));
    QCOMPARE(d.examples[0].tokens, (std::vector<std::string>{"EU", "rejects"}));
    QCOMPARE(d.examples[0].tags, (std::vector<std::string>{"B-ORG", "O"}));
    QCOMPARE(d.examples[1].line, 6);
  }

  void unknownExtensionIsAnError()
  {
    DataReport report;
    QVERIFY_THROWS_EXCEPTION(Error, readTable(write(QStringLiteral("data.xlsx"), "x").toStdString(), report));
    QVERIFY_THROWS_EXCEPTION(Error, readTable(m_dir.filePath(QStringLiteral("missing.csv")).toStdString(), report));
  }
};

QTEST_GUILESS_MAIN(TestDataReaders)
#include "tst_datareaders.moc"
