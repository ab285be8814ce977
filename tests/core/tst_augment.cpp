// EDA augmentation and back-translation over a tiny WordNet written in WordNet's own format.
#include "core/data/augment.h"
#include "core/data/wordnet.h"
#include "core/util/error.h"

#include <QtTest/QtTest>

#include <algorithm>
#include <set>
#include <sstream>

using namespace tunebench;

namespace {

class ReverseParaphraser final : public Paraphraser
{
public:
  std::string name() const override { return "reverse"; }
  std::vector<std::string> paraphrase(const std::vector<std::string> &texts) override
  {
    std::vector<std::string> out;
    for (const std::string &t : texts)
      out.emplace_back(t.rbegin(), t.rend());
    return out;
  }
};

std::vector<std::string> split(const std::string &t)
{
  std::vector<std::string> w;
  std::istringstream in(t);
  for (std::string x; in >> x;)
    w.push_back(x);
  return w;
}

} // namespace

class TestAugment : public QObject
{
  Q_OBJECT

  QTemporaryDir m_dir;
  WordNet m_wordnet;
  Dataset m_data;

private Q_SLOTS:
  void initTestCase()
  {
    auto write = [this](const char *name, const QByteArray &content) {
      QFile f(m_dir.filePath(QString::fromLatin1(name)));
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("  1 This software and database is being provided to you, the LICENSEE\n" + content);
    };
    write("data.noun", "00001740 03 n 02 movie 0 film 0 000 | a form of entertainment; \"the movie was long\"\n"
                       "00002000 03 n 02 plot 0 story_line 0 000 | the story that is told\n");
    write("data.verb", "00003000 29 v 02 love 0 adore 0 000 | have a great affection for\n");
    write("data.adj", "00004000 00 a 03 good(a) 0 great 0 fine 0 000 | having desirable qualities\n");
    write("data.adv", "00005000 02 r 01 truly 0 000 | in fact\n");
    m_wordnet = WordNet::load(m_dir.path().toStdString());
    QCOMPARE(m_wordnet.synsets().size(), std::size_t(5));
    QCOMPARE(m_wordnet.synsets()[0].examples, std::vector<std::string>{"the movie was long"});
    QCOMPARE(m_wordnet.synonyms("Good"), (std::vector<std::string>{"great", "fine"}));
    m_data.kind = TaskKind::SingleLabel;
    for (const char *t : {"i love the movie and the plot is good", "the plot was fine", "truly"}) {
      Example e;
      e.text = t;
      e.labels = {"positive"};
      m_data.examples.push_back(e);
    }
  }

  void operationsDoWhatTheySay()
  {
    AugmentOptions o;
    o.perExample = 4;
    const std::vector<Example> rows = augment(m_data, {0}, o, &m_wordnet);
    QCOMPARE(rows.size(), std::size_t(4));
    const std::vector<std::string> source = split(m_data.examples[0].text);
    for (const Example &e : rows) {
      QCOMPARE(e.sourceRow, 0);
      QCOMPARE(e.labels, m_data.examples[0].labels);
      QVERIFY(e.text != m_data.examples[0].text);
      std::vector<std::string> w = split(e.text);
      if (e.augmentation == "swap") {
        std::vector<std::string> a = w, b = source;
        std::sort(a.begin(), a.end());
        std::sort(b.begin(), b.end());
        QCOMPARE(a, b); // the same words, another order
      } else if (e.augmentation == "deletion") {
        QVERIFY(w.size() < source.size());
      } else if (e.augmentation == "insertion") {
        QVERIFY(w.size() > source.size());
      } else {
        QCOMPARE(e.augmentation, std::string("synonym"));
        // Every new word is (part of) a WordNet synonym of a word of the source.
        std::set<std::string> allowed(source.begin(), source.end());
        for (const std::string &word : source)
          for (const std::string &syn : m_wordnet.synonyms(word))
            for (const std::string &part : split(syn))
              allowed.insert(part);
        for (const std::string &word : w)
          QVERIFY2(allowed.count(word), word.c_str());
        QVERIFY(w.size() >= source.size());
        QVERIFY(e.text.find("the") != std::string::npos); // stop words stay
      }
    }
  }

  void sameSeedSameRows()
  {
    AugmentOptions o;
    const auto a = augment(m_data, {0, 1}, o, &m_wordnet);
    const auto b = augment(m_data, {0, 1}, o, &m_wordnet);
    QCOMPARE(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
      QCOMPARE(a[i].text, b[i].text);
  }

  void onlyTheRowsGiven()
  {
    const auto rows = augment(m_data, {1}, AugmentOptions{}, &m_wordnet);
    for (const Example &e : rows)
      QCOMPARE(e.sourceRow, 1);
  }

  void taggingKeepsAlignment()
  {
    Dataset d;
    d.kind = TaskKind::TokenTagging;
    Example e;
    e.tokens = {"the", "movie", "plot", "was", "good"};
    e.tags = {"DT", "NN", "NN", "VBD", "JJ"};
    d.examples.push_back(e);
    const auto rows = augment(d, {0}, AugmentOptions{}, &m_wordnet);
    QVERIFY(!rows.empty());
    for (const Example &r : rows) {
      QCOMPARE(r.augmentation, std::string("synonym"));
      QCOMPARE(r.tokens.size(), r.tags.size());
      QCOMPARE(r.tags, e.tags);
      for (const std::string &t : r.tokens)
        QVERIFY(t.find(' ') == std::string::npos); // "story line" is never used for a token
    }
  }

  void backTranslation()
  {
    AugmentOptions o;
    o.perExample = 0;
    o.backTranslation = true;
    ReverseParaphraser reverse;
    const auto rows = augment(m_data, {1}, o, &m_wordnet, &reverse);
    QCOMPARE(rows.size(), std::size_t(1));
    QCOMPARE(rows[0].text, std::string("enif saw tolp eht"));
    QCOMPARE(rows[0].augmentation, std::string("back-translation (reverse)"));
    QVERIFY_THROWS_EXCEPTION(Error, augment(m_data, {1}, o, &m_wordnet, nullptr));
    QVERIFY_THROWS_EXCEPTION(Error, augment(m_data, {1}, AugmentOptions{}, nullptr));
  }
};

QTEST_GUILESS_MAIN(TestAugment)
#include "tst_augment.moc"
