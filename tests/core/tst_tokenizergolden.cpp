// Every tokenizer family against the ids its reference engine wrote (tests/golden/tokenizers/,
// made by make_golden.mjs and make_unigram_json.mjs over ~11,800 lines: stress.txt plus two fetched
// corpora).
#include "core/tokenize/tokenizerloader.h"
#include "core/tokenize/unicode.h"

#include "support/golden.h"

#include <QtTest/QtTest>

#include <nlohmann/json.hpp>

#include <fstream>

using namespace tunebench;
using namespace tunebench::testing;

namespace {

// Golden offsets are code-point offsets (Hugging Face's node binding); ours are byte offsets.
std::vector<int> toCodePointOffsets(const std::string &text, const Encoding &enc)
{
  std::vector<int> byteToCp(text.size() + 1, 0);
  int cp = 0;
  for (const unicode::CodePoint &c : unicode::decode(text)) {
    for (std::uint32_t b = c.begin; b < c.end; ++b)
      byteToCp[b] = cp;
    ++cp;
  }
  byteToCp[text.size()] = cp;
  std::vector<int> out;
  for (const auto &[b, e] : enc.offsets) {
    out.push_back(byteToCp[b]);
    out.push_back(byteToCp[e]);
  }
  return out;
}

} // namespace

class TestTokenizerGolden : public QObject
{
  Q_OBJECT

  std::vector<std::string> m_lines;
  nlohmann::json m_manifest;

  std::unique_ptr<Tokenizer> load(const QString &name)
  {
    if (name == QLatin1String("wordpiece"))
      return loadTokenizerFile(assetPath(QStringLiteral("tokenizers/bert-base-uncased/vocab.txt")).toStdString());
    if (name == QLatin1String("gpt2"))
      return loadTokenizerFile(assetPath(QStringLiteral("tokenizers/gpt2/vocab.json")).toStdString());
    if (name == QLatin1String("use"))
      return loadTokenizerFile(assetPath(QStringLiteral("models/use-lite/vocab.json")).toStdString());
    if (name == QLatin1String("unigram_t5"))
      return loadTokenizerFile(goldenDir(QStringLiteral("tokenizers/unigram_t5.tokenizer.json")).toStdString());
    if (name == QLatin1String("unigram_albert"))
      return loadAlbertVariant();
    return loadTokenizerFile(goldenDir(QStringLiteral("tokenizers/%1.model").arg(name)).toStdString());
  }

  // unigram_t5.tokenizer.json with ALBERT's normalizer sequence, derived as make_unigram_json.mjs
  // derives it.
  std::unique_ptr<Tokenizer> loadAlbertVariant()
  {
    std::ifstream in(goldenDir(QStringLiteral("tokenizers/unigram_t5.tokenizer.json")).toStdString());
    nlohmann::json root = nlohmann::json::parse(in);
    const nlohmann::json precompiled = root["normalizer"]["normalizers"][0];
    root["normalizer"] = {{"type", "Sequence"},
                          {"normalizers",
                           {{{"type", "Replace"}, {"pattern", {{"String", "``"}}}, {"content", "\""}},
                            {{"type", "Replace"}, {"pattern", {{"String", "''"}}}, {"content", "\""}},
                            {{"type", "NFKD"}},
                            {{"type", "StripAccents"}},
                            {{"type", "Lowercase"}},
                            precompiled}}};
    const QString file = m_tmp.filePath(QStringLiteral("tokenizer.json"));
    std::ofstream(file.toStdString()) << root.dump();
    return loadTokenizerFile(file.toStdString());
  }

  QTemporaryDir m_tmp;

private Q_SLOTS:
  void initTestCase()
  {
    std::ifstream in(goldenDir(QStringLiteral("tokenizers/manifest.json")).toStdString());
    QVERIFY(in);
    m_manifest = nlohmann::json::parse(in);
    for (const auto &source : m_manifest["sources"]) {
      QString name = QString::fromStdString(source["name"].get<std::string>());
      const QString path = name.startsWith(QLatin1String("$ASSETS/"))
                               ? assetPath(name.mid(8))
                               : goldenDir(QStringLiteral("tokenizers/") + name);
      QVERIFY2(QFile::exists(path), qPrintable(path + QStringLiteral(" is missing: run packaging/fetch-assets.sh")));
      QCOMPARE(sha256File(path), QString::fromStdString(source["sha256"].get<std::string>()));
      const int maxLines = source["maxLines"].is_null() ? 0 : source["maxLines"].get<int>();
      const std::vector<std::string> lines = readLines(path, maxLines);
      QCOMPARE(static_cast<int>(lines.size()), source["lines"].get<int>());
      m_lines.insert(m_lines.end(), lines.begin(), lines.end());
    }
    QVERIFY(m_lines.size() >= 2000);
  }

  void ids_data()
  {
    QTest::addColumn<QString>("name");
    for (const char *name : {"wordpiece", "gpt2", "use", "spm_unigram", "spm_bpe", "unigram_t5", "unigram_albert"})
      QTest::newRow(name) << QString::fromLatin1(name);
  }

  // 100% of the lines must agree with the reference.
  void ids()
  {
    QFETCH(QString, name);
    std::unique_ptr<Tokenizer> tokenizer;
    try {
      tokenizer = load(name);
    } catch (const std::exception &e) {
      QFAIL(e.what());
    }
    const auto expected = readIntRows(goldenDir(QStringLiteral("tokenizers/%1.ids").arg(name)));
    QCOMPARE(expected.size(), m_lines.size());
    EncodeOptions plain;
    plain.addSpecialTokens = false;
    int mismatches = 0;
    for (std::size_t i = 0; i < m_lines.size(); ++i) {
      const std::vector<int> got = tokenizer->encode(m_lines[i], plain).ids;
      if (got != expected[i] && ++mismatches <= 5)
        qWarning("%s line %zu: %s\n  got      %s\n  expected %s", qPrintable(name), i + 1, m_lines[i].c_str(),
                 joinInts(got).c_str(), joinInts(expected[i]).c_str());
    }
    QCOMPARE(mismatches, 0);
  }

  void offsets_data()
  {
    QTest::addColumn<QString>("name");
    QTest::newRow("wordpiece") << QStringLiteral("wordpiece");
    QTest::newRow("gpt2") << QStringLiteral("gpt2");
    QTest::newRow("unigram_t5") << QStringLiteral("unigram_t5");
  }

  void offsets()
  {
    QFETCH(QString, name);
    const auto tokenizer = load(name);
    const auto expected = readIntRows(goldenDir(QStringLiteral("tokenizers/%1.offsets").arg(name)));
    QCOMPARE(static_cast<int>(expected.size()), m_manifest["stressLines"].get<int>());
    EncodeOptions plain;
    plain.addSpecialTokens = false;
    int mismatches = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const std::vector<int> got = toCodePointOffsets(m_lines[i], tokenizer->encode(m_lines[i], plain));
      if (got != expected[i] && ++mismatches <= 5)
        qWarning("%s line %zu: %s\n  got      %s\n  expected %s", qPrintable(name), i + 1, m_lines[i].c_str(),
                 joinInts(got).c_str(), joinInts(expected[i]).c_str());
    }
    QCOMPARE(mismatches, 0);
  }

  // The T5 template from the file's TemplateProcessing: "$A </s>", pairs "$A </s> $B </s>".
  void unigramTemplate()
  {
    const auto tokenizer = load(QStringLiteral("unigram_t5"));
    const int eos = tokenizer->tokenToId("</s>");
    QVERIFY(eos >= 0);
    EncodeOptions plain;
    plain.addSpecialTokens = false;
    const std::vector<int> a = tokenizer->encode(m_lines[0], plain).ids;
    const std::vector<int> b = tokenizer->encode(m_lines[1], plain).ids;
    std::vector<int> single = a;
    single.push_back(eos);
    QCOMPARE(tokenizer->encode(m_lines[0]).ids, single);
    std::vector<int> pair = single;
    pair.insert(pair.end(), b.begin(), b.end());
    pair.push_back(eos);
    QCOMPARE(tokenizer->encodePair(m_lines[0], m_lines[1]).ids, pair);
    // Decoding undoes the Metaspace pre-tokenizer.
    QCOMPARE(tokenizer->decode(tokenizer->encode("Hello brave new world").ids), std::string("Hello brave new world"));
  }

  // [CLS] a [SEP] b [SEP] with token type ids, for consecutive stress lines.
  void wordPiecePairs()
  {
    const auto tokenizer = load(QStringLiteral("wordpiece"));
    const auto expected = readIntRows(goldenDir(QStringLiteral("tokenizers/wordpiece_pairs.ids")));
    int mismatches = 0;
    for (std::size_t k = 0; k < expected.size(); ++k) {
      const Encoding enc = tokenizer->encodePair(m_lines[2 * k], m_lines[2 * k + 1]);
      const std::size_t half = expected[k].size() / 2;
      const std::vector<int> ids(expected[k].begin(), expected[k].begin() + static_cast<std::ptrdiff_t>(half));
      const std::vector<int> types(expected[k].begin() + static_cast<std::ptrdiff_t>(half), expected[k].end());
      if ((enc.ids != ids || enc.typeIds != types) && ++mismatches <= 3)
        qWarning("pair %zu: got %s | %s", k, joinInts(enc.ids).c_str(), joinInts(enc.typeIds).c_str());
    }
    QCOMPARE(mismatches, 0);
  }
};

QTEST_GUILESS_MAIN(TestTokenizerGolden)
#include "tst_tokenizergolden.moc"
