// The parts every tokenizer shares (template, truncation, padding, word ids, added tokens) and
// hand-checked WordPiece/BPE cases, on small vocabularies written here.
#include "core/tokenize/bytelevelbpe.h"
#include "core/tokenize/tokenizerloader.h"
#include "core/tokenize/wordpiece.h"
#include "core/util/error.h"

#include "support/golden.h"

#include <QtTest/QtTest>

using namespace tunebench;

namespace {

// [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, then words.
const std::vector<std::string> kVocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "movie", "was", "good",
                                         "un", "##aff", "##able", "!", ",", "a", "b", "c", "d", "e", "cafe", "東", "京"};

std::unique_ptr<WordPieceTokenizer> tiny()
{
  return std::make_unique<WordPieceTokenizer>(Vocabulary(kVocab), WordPieceOptions{});
}

std::vector<int> ids(std::initializer_list<int> l) { return std::vector<int>(l); }

void writeFile(const QString &path, const QByteArray &data)
{
  QFile f(path);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write(data);
}

} // namespace

class TestTokenizer : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void wordPieceBasics()
  {
    const auto t = tiny();
    QCOMPARE(t->encode("The  MOVIE was good!").ids, ids({2, 5, 6, 7, 8, 12, 3}));
    QCOMPARE(t->encode("unaffable").ids, ids({2, 9, 10, 11, 3}));
    QCOMPARE(t->encode("unaffablex").ids, ids({2, 1, 3}));   // one unknown piece: the word is [UNK]
    QCOMPARE(t->encode("Café").ids, ids({2, 19, 3}));       // accents stripped when uncased
    QCOMPARE(t->encode("東京").ids, ids({2, 20, 21, 3}));    // CJK ideographs split
    QCOMPARE(t->encode("a\u0007b").ids, ids({2, 1, 3}));     // control removed: "ab" is unknown
    QCOMPARE(t->encode("a [MASK] b").ids, ids({2, 14, 4, 15, 3})); // special typed in the text
    QCOMPARE(t->encode(std::string(101, 'a')).ids, ids({2, 1, 3})); // longer than 100 characters
    QCOMPARE(t->decode(t->encode("the movie, good!").ids), std::string("the movie, good!"));
    QCOMPARE(t->decode(t->encode("unaffable").ids), std::string("unaffable"));
  }

  void offsetsPointIntoTheText()
  {
    const auto t = tiny();
    const std::string text = "Café unaffable";
    const Encoding e = t->encode(text);
    QCOMPARE(e.offsets[1], std::make_pair(0u, 5u));  // "Café": é is 2 bytes
    QCOMPARE(e.offsets[2], std::make_pair(6u, 8u));  // "un"
    QCOMPARE(e.offsets[3], std::make_pair(8u, 11u)); // "##aff"
    QCOMPARE(e.offsets[0], std::make_pair(0u, 0u));  // [CLS]
  }

  void pairTemplate()
  {
    const auto t = tiny();
    const Encoding e = t->encodePair("a b", "c");
    QCOMPARE(e.ids, ids({2, 14, 15, 3, 16, 3}));
    QCOMPARE(e.typeIds, ids({0, 0, 0, 0, 1, 1}));
    QCOMPARE(e.sequenceIds, ids({-1, 0, 0, -1, 1, -1}));
    QCOMPARE(e.specialTokensMask, ids({1, 0, 0, 1, 0, 1}));
  }

  void truncation_data()
  {
    QTest::addColumn<QString>("first");
    QTest::addColumn<QString>("second");
    QTest::addColumn<int>("strategy");
    QTest::addColumn<int>("side");
    QTest::addColumn<int>("maxLength");
    QTest::addColumn<std::vector<int>>("expected");
    // Longest first: the shorter keeps what it can, at least half of the budget.
    QTest::newRow("longest, short+long") << "a" << "b c d e a b" << 0 << 0 << 7
                                         << ids({2, 14, 3, 15, 16, 17, 3});
    QTest::newRow("longest, both long") << "a b c d" << "e a b c" << 0 << 0 << 7
                                        << ids({2, 14, 15, 3, 18, 14, 3});
    QTest::newRow("only first") << "a b c d" << "e" << 1 << 0 << 6 << ids({2, 14, 15, 3, 18, 3});
    QTest::newRow("only second") << "a" << "b c d e" << 2 << 0 << 6 << ids({2, 14, 3, 15, 16, 3});
    QTest::newRow("left side") << "a b c d" << "" << 1 << 1 << 4 << ids({2, 16, 17, 3});
    QTest::newRow("no need") << "a b" << "" << 0 << 0 << 10 << ids({2, 14, 15, 3});
  }

  void truncation()
  {
    QFETCH(QString, first);
    QFETCH(QString, second);
    QFETCH(int, strategy);
    QFETCH(int, side);
    QFETCH(int, maxLength);
    QFETCH(std::vector<int>, expected);
    const auto t = tiny();
    EncodeOptions o;
    o.maxLength = maxLength;
    o.truncation = static_cast<TruncationStrategy>(strategy);
    o.truncationSide = static_cast<Side>(side);
    const Encoding e = second.isEmpty() ? t->encode(first.toStdString(), o)
                                        : t->encodePair(first.toStdString(), second.toStdString(), o);
    QCOMPARE(e.ids, expected);
    QVERIFY(static_cast<int>(e.size()) <= maxLength);
  }

  void impossibleTruncationIsAnError()
  {
    const auto t = tiny();
    EncodeOptions o;
    o.maxLength = 4;
    o.truncation = TruncationStrategy::OnlySecond;
    QVERIFY_THROWS_EXCEPTION(Error, t->encodePair("a b c d", "e", o));
  }

  void padding()
  {
    const auto t = tiny();
    EncodeOptions o;
    o.padding = PaddingStrategy::Longest;
    std::vector<Encoding> batch = t->encodeBatch({"a", "a b c"}, o);
    QCOMPARE(batch[0].ids, ids({2, 14, 3, 0, 0}));
    QCOMPARE(batch[0].attentionMask, ids({1, 1, 1, 0, 0}));
    QCOMPARE(batch[1].attentionMask, ids({1, 1, 1, 1, 1}));
    o.paddingSide = Side::Left;
    o.padToMultipleOf = 4;
    batch = t->encodeBatch({"a", "a b c"}, o);
    QCOMPARE(batch[0].ids, ids({0, 0, 0, 0, 0, 2, 14, 3}));
    QCOMPARE(batch[0].specialTokensMask, ids({1, 1, 1, 1, 1, 1, 0, 1}));
    o = {};
    o.padding = PaddingStrategy::MaxLength;
    o.maxLength = 6;
    QCOMPARE(t->encode("a b", o).ids, ids({2, 14, 15, 3, 0, 0}));
  }

  // Word ids for token classification: every sub-token knows its word, also after truncation.
  void wordIds()
  {
    const auto t = tiny();
    EncodeOptions o;
    Encoding e = t->encodeWords({"the", "unaffable", "movie"}, o);
    QCOMPARE(e.ids, ids({2, 5, 9, 10, 11, 6, 3}));
    QCOMPARE(e.wordIds, ids({-1, 0, 1, 1, 1, 2, -1}));
    o.maxLength = 5;
    e = t->encodeWords({"the", "unaffable", "movie"}, o);
    QCOMPARE(e.wordIds, ids({-1, 0, 1, 1, -1}));
    o.truncationSide = Side::Left;
    e = t->encodeWords({"the", "unaffable", "movie"}, o);
    QCOMPARE(e.wordIds, ids({-1, 1, 1, 2, -1}));
    // NER labels: the first sub-token of a word carries its label, the rest are ignored.
    e = t->encodeWords({"the", "unaffable", "movie"}, EncodeOptions{});
    QCOMPARE(alignWordLabels(e, {7, 8, 9}), ids({-100, 7, 8, -100, -100, 9, -100}));
  }

  // Hand-made GPT-2-style BPE: merges apply by rank; decoding restores the exact text.
  void byteLevelBpe()
  {
    // Byte-level symbols: "Ġ" is the space byte.
    std::vector<std::pair<std::string, int>> vocab = {{"h", 0}, {"e", 1}, {"l", 2}, {"o", 3}, {"\xC4\xA0", 4},
                                                      {"he", 5}, {"ll", 6}, {"hell", 7}, {"hello", 8},
                                                      {"\xC4\xA0h", 9}, {"<|endoftext|>", 10}};
    ByteLevelBpeTokenizer t(Vocabulary::fromPairs(vocab),
                            {{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"\xC4\xA0", "h"}});
    QCOMPARE(t.encode("hello").ids, ids({8}));
    // " hello": "h e" (rank 0) merges before "Ġ h" (rank 4), so "Ġ" stays alone.
    QCOMPARE(t.encode("hello hello").ids, ids({8, 4, 8}));
    QCOMPARE(t.encode("hello<|endoftext|>").ids, ids({8, 10}));
    QCOMPARE(t.decode(t.encode("hello hello").ids), std::string("hello hello"));
    QCOMPARE(t.decode({8, 10}, false), std::string("hello<|endoftext|>"));
  }

  void gptPreTokenization()
  {
    const std::string text = "I'll  go, 2024!  ok";
    std::vector<std::string> pieces;
    for (const auto &[b, e] : ByteLevelBpeTokenizer::preTokenize(text))
      pieces.push_back(text.substr(b, e - b));
    const std::vector<std::string> expected = {"I", "'ll", " ", " go", ",", " 2024", "!", " ", " ok"};
    QCOMPARE(pieces, expected);
  }

  void folderDetection()
  {
    QTemporaryDir dir;
    const QString bert = dir.filePath(QStringLiteral("bert"));
    QDir().mkpath(bert);
    QByteArray vocab;
    for (const std::string &t : kVocab)
      vocab += QByteArray::fromStdString(t) + '\n';
    writeFile(bert + "/vocab.txt", vocab);
    writeFile(bert + "/tokenizer_config.json", R"({"do_lower_case": false, "model_max_length": 512})");
    auto t = loadTokenizer(bert.toStdString());
    QCOMPARE(QString::fromStdString(t->family()), QStringLiteral("wordpiece"));
    QCOMPARE(t->modelMaxLength(), 512);
    QCOMPARE(t->encode("The").ids, ids({2, 1, 3})); // cased: "The" is not "the"

    const QString t5 = dir.filePath(QStringLiteral("t5"));
    QDir().mkpath(t5);
    QVERIFY(QFile::copy(tunebench::testing::goldenDir(QStringLiteral("tokenizers/spm_unigram.model")), t5 + "/spiece.model"));
    writeFile(t5 + "/config.json", R"({"model_type": "t5", "n_positions": 512})");
    t = loadTokenizer(t5.toStdString());
    QCOMPARE(QString::fromStdString(t->family()), QStringLiteral("sentencepiece"));
    const Encoding e = t->encode("the movie");
    QCOMPARE(e.ids.back(), t->specialTokens().eos); // T5 appends </s>
    QCOMPARE(t->encode("a </s>", EncodeOptions{false}).ids.back(), t->specialTokens().eos);

    const QString json = dir.filePath(QStringLiteral("json"));
    QDir().mkpath(json);
    writeFile(json + "/tokenizer.json", R"({"version": "1.0",
      "added_tokens": [{"id": 0, "content": "[PAD]", "special": true}, {"id": 4, "content": "[MASK]", "special": true}],
      "normalizer": {"type": "BertNormalizer", "lowercase": true, "clean_text": true, "handle_chinese_chars": true, "strip_accents": null},
      "pre_tokenizer": {"type": "BertPreTokenizer"},
      "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
      "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "the": 5, "movie": 6}}})");
    t = loadTokenizer(json.toStdString());
    QCOMPARE(t->encode("The [MASK] movie").ids, ids({2, 5, 4, 6, 3}));

    // A Unigram tokenizer.json is preferred to the SentencePiece model beside it (as transformers'
    // fast tokenizers do).
    QVERIFY(QFile::copy(tunebench::testing::goldenDir(QStringLiteral("tokenizers/unigram_t5.tokenizer.json")),
                        t5 + "/tokenizer.json"));
    t = loadTokenizer(t5.toStdString());
    QCOMPARE(QString::fromStdString(t->family()), QStringLiteral("unigram"));
    QCOMPARE(t->encode("the movie").ids.back(), t->tokenToId("</s>"));

    const QString empty = dir.filePath(QStringLiteral("empty"));
    QDir().mkpath(empty);
    try {
      loadTokenizer(empty.toStdString());
      QFAIL("an empty folder gave a tokenizer");
    } catch (const Error &e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(empty) &&
                   QString::fromUtf8(e.what()).contains(QLatin1String("no tokenizer found")), e.what());
    }
  }

  void badFilesNameFileAndLine()
  {
    QTemporaryDir dir;
    writeFile(dir.filePath(QStringLiteral("vocab.json")), R"({"a": 0, "b": 1})");
    writeFile(dir.filePath(QStringLiteral("merges.txt")), "#version: 0.2\na b\nbroken\n");
    try {
      loadTokenizer(dir.path().toStdString());
      QFAIL("a broken merges.txt was accepted");
    } catch (const Error &e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1String("merges.txt:3:")), e.what());
    }
    writeFile(dir.filePath(QStringLiteral("vocab.json")), R"({"a": 0, "b": )");
    try {
      loadTokenizer(dir.path().toStdString());
      QFAIL("broken JSON was accepted");
    } catch (const Error &e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1String("vocab.json: not valid JSON")), e.what());
    }
    // Unigram tokenizer.json: a bad vocabulary entry, an unknown normalizer, a broken charsmap.
    const QString uni = dir.filePath(QStringLiteral("tokenizer.json"));
    const auto expectError = [&](const QByteArray &content, const char *needle) {
      writeFile(uni, content);
      try {
        loadTokenizerFile(uni.toStdString());
        QFAIL(qPrintable(QStringLiteral("accepted: ") + QString::fromUtf8(content)));
      } catch (const Error &e) {
        const QString what = QString::fromUtf8(e.what());
        QVERIFY2(what.contains(uni) && what.contains(QLatin1String(needle)), e.what());
      }
    };
    expectError(R"({"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a"]]}})", "model.vocab[1]");
    expectError(R"({"model": {"type": "Unigram", "unk_id": 5, "vocab": [["<unk>", 0.0]]}})", "unk_id 5");
    expectError(R"({"normalizer": {"type": "Sequence", "normalizers": [{"type": "Frobnicate"}]},
                    "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0]]}})",
                "normalizer type \"Frobnicate\"");
    expectError(R"({"normalizer": {"type": "Precompiled", "precompiled_charsmap": "AAAA"},
                    "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0]]}})",
                "precompiled_charsmap is too short");
    expectError(R"({"normalizer": {"type": "Replace", "pattern": {"Regex": "a{2,1}"}, "content": ""},
                    "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0]]}})",
                "does not compile");
    expectError(R"({"model": {"type": "WordLevel", "vocab": {}}})", "model.type \"WordLevel\"");

    QTemporaryDir bad;
    writeFile(bad.filePath(QStringLiteral("vocab.txt")), "[PAD]\n[UNK]\nok\n\xff\xfe\n");
    try {
      loadTokenizer(bad.path().toStdString());
      QFAIL("invalid UTF-8 was accepted");
    } catch (const Error &e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1String("vocab.txt:4:1: invalid UTF-8")), e.what());
    }
  }
};

QTEST_GUILESS_MAIN(TestTokenizer)
#include "tst_tokenizer.moc"
