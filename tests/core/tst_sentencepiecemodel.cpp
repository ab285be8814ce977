// The sentencepiece shim against Debian's reference tools: the test trains unigram and BPE models
// with spm_train on a generated corpus, then every line's ids must equal spm_encode's.
#include "core/tokenize/sentencepiecemodel.h"
#include "core/util/error.h"

#include <QtTest/QtTest>

#include <random>

using namespace tunebench;

namespace {

// A varied corpus: ASCII words, accents, CJK, emoji, digits, punctuation, whitespace runs, empty
// lines. Deterministic, so that a failure reproduces.
QStringList makeCorpus(int lines)
{
  const QStringList words = {
    QStringLiteral("the"), QStringLiteral("movie"), QStringLiteral("was"), QStringLiteral("surprisingly"),
    QStringLiteral("good"), QStringLiteral("bad"), QStringLiteral("acting"), QStringLiteral("plot"),
    QStringLiteral("café"), QStringLiteral("naïve"), QStringLiteral("résumé"), QStringLiteral("Ångström"),
    QStringLiteral("東京"), QStringLiteral("映画"), QStringLiteral("😀"), QStringLiteral("👍🏽"),
    QStringLiteral("2024"), QStringLiteral("3.14"), QStringLiteral("e-mail"), QStringLiteral("don't"),
    QStringLiteral("(really)"), QStringLiteral("!!!"), QStringLiteral("supercalifragilisticexpialidocious"),
    QStringLiteral("Straße"), QStringLiteral("ﬁne"), QStringLiteral("Ｆｕｌｌｗｉｄｔｈ"),
    QStringLiteral("user@example.org"), QStringLiteral("http://example.org/a?b=c"),
  };
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> length(0, 18);
  std::uniform_int_distribution<int> pick(0, static_cast<int>(words.size()) - 1);
  std::uniform_int_distribution<int> gap(0, 9);
  QStringList corpus;
  for (int i = 0; i < lines; ++i) {
    QString line;
    const int n = length(rng);
    for (int w = 0; w < n; ++w) {
      if (w > 0)
        line += gap(rng) == 0 ? QStringLiteral("   ") : QStringLiteral(" ");
      line += words[pick(rng)];
    }
    corpus << line;
  }
  return corpus;
}

QString runTool(const QString &program, const QStringList &args, const QString &stdinFile = {})
{
  QProcess process;
  if (!stdinFile.isEmpty())
    process.setStandardInputFile(stdinFile);
  process.start(program, args);
  if (!process.waitForFinished(120000) || process.exitCode() != 0)
    return QStringLiteral("FAILED: ") + QString::fromUtf8(process.readAllStandardError());
  return QString::fromUtf8(process.readAllStandardOutput());
}

} // namespace

class TestSentencePieceModel : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void initTestCase()
  {
    QVERIFY(m_dir.isValid());
    m_spmTrain = QStandardPaths::findExecutable(QStringLiteral("spm_train"));
    m_spmEncode = QStandardPaths::findExecutable(QStringLiteral("spm_encode"));
    QVERIFY2(!m_spmTrain.isEmpty() && !m_spmEncode.isEmpty(),
             "spm_train/spm_encode missing: run packaging/install-deps.sh (Debian package sentencepiece)");
    m_corpus = makeCorpus(2500);
    QFile file(path(QStringLiteral("corpus.txt")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(m_corpus.join(QLatin1Char('\n')).toUtf8() + "\n");
  }

  void matchesSpmEncode_data()
  {
    QTest::addColumn<QString>("type");
    QTest::addColumn<int>("vocab");
    QTest::newRow("unigram") << QStringLiteral("unigram") << 300;
    QTest::newRow("bpe") << QStringLiteral("bpe") << 300;
  }

  void matchesSpmEncode()
  {
    QFETCH(QString, type);
    QFETCH(int, vocab);
    const QString prefix = path(type);
    const QString trained = runTool(m_spmTrain, {
      QStringLiteral("--input=") + path(QStringLiteral("corpus.txt")),
      QStringLiteral("--model_prefix=") + prefix, QStringLiteral("--model_type=") + type,
      QStringLiteral("--vocab_size=%1").arg(vocab), QStringLiteral("--hard_vocab_limit=false"),
      QStringLiteral("--character_coverage=0.98"), QStringLiteral("--minloglevel=2")});
    QVERIFY2(!trained.startsWith(QLatin1String("FAILED")), qPrintable(trained));

    const QString reference = runTool(m_spmEncode, {QStringLiteral("--model=") + prefix + ".model",
                                                    QStringLiteral("--output_format=id")},
                                      path(QStringLiteral("corpus.txt")));
    QVERIFY2(!reference.startsWith(QLatin1String("FAILED")), qPrintable(reference));
    QStringList expected = reference.split(QLatin1Char('\n'));
    expected.removeLast(); // after the final newline
    QCOMPARE(expected.size(), m_corpus.size());

    const SentencePieceModel model = SentencePieceModel::fromFile((prefix + ".model").toStdString());
    QVERIFY(model.pieceCount() >= 100);
    int mismatches = 0;
    int unknowns = 0;
    for (int i = 0; i < m_corpus.size(); ++i) {
      const QByteArray utf8 = m_corpus[i].toUtf8();
      const std::vector<int> ids = model.encode(std::string_view(utf8.constData(), utf8.size()));
      QStringList got;
      for (int id : ids) {
        got << QString::number(id);
        unknowns += model.isUnknown(id) ? 1 : 0;
      }
      if (got.join(QLatin1Char(' ')) != expected[i] && ++mismatches <= 3)
        qWarning() << "line" << i + 1 << m_corpus[i] << "got" << got << "expected" << expected[i];
    }
    QCOMPARE(mismatches, 0);
    QVERIFY2(unknowns > 0, "the corpus should exercise <unk> (coverage 0.98 drops rare characters)");
  }

  // Byte spans cover the input in order and decode gives back the normalised text.
  void offsetsAndDecode()
  {
    const SentencePieceModel model = SentencePieceModel::fromFile(path(QStringLiteral("unigram.model")).toStdString());
    const std::string text = "the movie was surprisingly good (really) 2024";
    const std::vector<SpmPiece> pieces = model.encodeWithOffsets(text);
    QVERIFY(!pieces.empty());
    std::uint32_t previousEnd = 0;
    for (const SpmPiece &p : pieces) {
      QVERIFY(p.begin >= previousEnd);
      QVERIFY(p.end >= p.begin);
      QVERIFY(p.end <= text.size());
      previousEnd = p.end;
    }
    QCOMPARE(previousEnd, static_cast<std::uint32_t>(text.size()));
    QCOMPARE(QString::fromStdString(model.decode(model.encode(text))), QString::fromStdString(text));
  }

  void vocabularyQueries()
  {
    const SentencePieceModel model = SentencePieceModel::fromFile(path(QStringLiteral("unigram.model")).toStdString());
    QCOMPARE(model.unkId(), 0);
    QCOMPARE(model.bosId(), 1);
    QCOMPARE(model.eosId(), 2);
    QCOMPARE(model.padId(), -1);
    QVERIFY(model.isControl(1));
    QVERIFY(model.isUnknown(0));
    for (int id = 3; id < model.pieceCount(); ++id)
      QCOMPARE(model.pieceToId(model.idToPiece(id)), id);
    QVERIFY(model.score(5) < 0.0f);
    QVERIFY_THROWS_EXCEPTION(Error, model.idToPiece(model.pieceCount()));
  }

  void badFilesNameTheFile()
  {
    const QString garbage = path(QStringLiteral("garbage.model"));
    QFile file(garbage);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("this is not a protobuf");
    file.close();
    for (const QString &bad : {garbage, path(QStringLiteral("missing.model"))}) {
      try {
        SentencePieceModel::fromFile(bad.toStdString());
        QFAIL("a bad model file was accepted");
      } catch (const Error &e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(bad), e.what());
      }
    }
  }

  void versionComesFromTheShim()
  {
    QVERIFY(QString::fromStdString(SentencePieceModel::libraryVersion())
                .contains(QRegularExpression(QStringLiteral("^\\d+\\.\\d+\\.\\d+"))));
  }

private:
  QString path(const QString &name) const { return m_dir.filePath(name); }

  QTemporaryDir m_dir;
  QString m_spmTrain;
  QString m_spmEncode;
  QStringList m_corpus;
};

QTEST_GUILESS_MAIN(TestSentencePieceModel)
#include "tst_sentencepiecemodel.moc"
