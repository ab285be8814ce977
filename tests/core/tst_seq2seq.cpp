// Text-to-text fine-tuning (task.kind seq2seq) on a task whose answers are checkable: a small T5
// made inside the test learns to spell digits out ("spell 3 1" → "three one"). Checked: the run
// learns (test exact match and ROUGE-L against a model that has not trained), predict answers with
// greedy, beam and top-p/temperature decoding, generation with the cache equals recomputation,
// LoRA, prefix and prompt tuning train a T5 (their step losses fall), and back-translation
// augmentation runs exported models: digits are spelled out by one model and read back reversed by
// a second ("3 1" → "three one" → "1 3"), so every paraphrase can be checked.
#include "core/config/experiment.h"
#include "core/data/datareport.h"
#include "core/export/exporter.h"
#include "core/train/dataprep.h"
#include "core/train/trainedrun.h"
#include "core/train/trainer.h"
#include "support/runfiles.h"

#include <QtTest/QtTest>

#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <set>

using namespace tunebench;
using tunebench::testing::stepLosses;

namespace {

const std::vector<std::string> kWords = {"zero", "one", "two",   "three", "four",
                                         "five", "six", "seven", "eight", "nine"};

// "3 1" → "three one".
std::string spelled(const std::string &digits)
{
  std::string out;
  for (char ch : digits)
    if (ch >= '0' && ch <= '9')
      out += (out.empty() ? "" : " ") + kWords[static_cast<std::size_t>(ch - '0')];
  return out;
}

// An augmented training row: the row it was made from, that row's text and its own.
struct Paraphrased
{
  int row;
  std::string original, paraphrase;
};

// "3 1 4" → "4 1 3".
std::string reversed(const std::string &digits)
{
  std::string out;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it)
    if (*it != ' ')
      out += (out.empty() ? "" : " ") + std::string(1, *it);
  return out;
}

} // namespace

class TestSeq2Seq : public QObject
{
  Q_OBJECT

  QTemporaryDir m_dir;

  std::filesystem::path path(const char *name) const
  {
    return m_dir.filePath(QString::fromLatin1(name)).toStdString();
  }

  ExperimentConfig config(const std::vector<std::string> &extra)
  {
    std::vector<std::string> overrides = {"model.path=" + path("tokenizer").string(),
                                          "model.init=random",
                                          "model.max_length=16",
                                          "model.scratch.layers=2",
                                          "model.scratch.hidden=64",
                                          "model.scratch.heads=4",
                                          "task.kind=seq2seq",
                                          "task.template=plain",
                                          "data.path=" + path("spell.jsonl").string(),
                                          "data.split.train=0.8",
                                          "data.split.validation=0.1",
                                          "data.split.test=0.1",
                                          "data.split.stratified=false",
                                          "training.batch_size=16",
                                          "training.learning_rate=3e-3",
                                          "training.dropout=0",
                                          "training.precision=fp32",
                                          "evaluation.generate=60",
                                          "evaluation.max_new_tokens=8",
                                          "evaluation.early_stopping.patience=0"};
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    const ConfigResult r =
        parseExperimentConfig("name: spell\nseed: 5\n", m_dir.path().toStdString(), overrides);
    if (!r.ok())
      qFatal("config: %s", r.problems.front().str("spell").c_str());
    return r.config;
  }

private Q_SLOTS:
  // A word-level WordPiece vocabulary (digits, their names, the instruction word) and 3,000
  // spelling pairs of one to three digits.
  void initTestCase()
  {
    QVERIFY(m_dir.isValid());
    std::filesystem::create_directories(path("tokenizer"));
    std::ofstream vocab(path("tokenizer") / "vocab.txt");
    for (const char *special : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "spell"})
      vocab << special << '\n';
    for (int d = 0; d < 10; ++d)
      vocab << d << '\n' << kWords[static_cast<std::size_t>(d)] << '\n';
    std::ofstream(path("tokenizer") / "tokenizer_config.json") << "{\"do_lower_case\": true}";
    for (const char *w : {"digits", "odd", "even"})
      vocab << w << '\n';
    vocab.close();
    std::mt19937 random(5);
    auto digits = [&] {
      std::string out;
      const int length = 1 + static_cast<int>(random() % 3);
      for (int k = 0; k < length; ++k)
        out += std::string(k ? " " : "") + static_cast<char>('0' + random() % 10);
      return out;
    };
    std::ofstream spell(path("spell.jsonl")), back(path("back.jsonl"));
    for (int i = 0; i < 3000; ++i) {
      const std::string d = digits(), e = digits();
      spell << "{\"instruction\": \"spell " << d << "\", \"output\": \"" << spelled(d) << "\"}\n";
      back << "{\"instruction\": \"digits " << spelled(e) << "\", \"output\": \"" << reversed(e) << "\"}\n";
    }
    std::ofstream classes(path("classes.csv"));
    classes << "text,label\n";
    for (int i = 0; i < 60; ++i) {
      const std::string d = digits();
      classes << d << ',' << ((d.back() - '0') % 2 ? "odd" : "even") << '\n';
    }
  }

  // Teacher-forced training on the targets; generated answers scored on validation and test. The
  // same model before training (one step at a learning rate of 1e-8) answers nothing right.
  void learnsToSpell()
  {
    Trainer untrained(
        config({"training.max_steps=1", "training.learning_rate=1e-8", "evaluation.every_steps=0"}),
        path("untrained"));
    const RunResult before = untrained.run();
    QCOMPARE(before.test.metrics.at("exact_match"), 0.0);

    Trainer trainer(
        config({"training.epochs=12", "evaluation.every_steps=300", "evaluation.metric=exact_match"}),
        path("spell"));
    const RunResult r = trainer.run();
    QCOMPARE(r.metric, std::string("exact_match"));
    const double exact = r.test.metrics.at("exact_match"), rouge = r.test.metrics.at("rouge_l");
    qInfo("test exact match %.3f (untrained %.3f), ROUGE-L %.3f (untrained %.3f)", exact,
          before.test.metrics.at("exact_match"), rouge, before.test.metrics.at("rouge_l"));
    QVERIFY2(exact >= 0.7, qPrintable(QString::number(exact)));
    QVERIFY2(rouge >= 0.9 && rouge > before.test.metrics.at("rouge_l") + 0.5,
             qPrintable(QString::number(rouge)));
    // The scored answers are the run's own generations against the references.
    const TrainedRun::Detailed detailed = TrainedRun::open(path("spell"))->evaluateDetailed("test");
    QVERIFY(!detailed.generations.empty());
    int right = 0;
    for (const auto &g : detailed.generations) {
      QCOMPARE(g.reference, spelled(g.prompt));
      right += g.generated == g.reference;
    }
    QCOMPARE(static_cast<double>(right) / static_cast<double>(detailed.generations.size()), exact);
  }

  // predict: greedy, beam search (4 beams) and sampling (top-p 0.9, temperature 0.7) answer the
  // way the task says (5 of 6 right; sampled, 4 of 6); each equals its run without the cache.
  void predictsWithEveryDecoding()
  {
    std::unique_ptr<TrainedRun> run = TrainedRun::open(path("spell"));
    const std::vector<std::string> inputs = {"spell 3 1", "spell 9",     "spell 7 0 4",
                                             "spell 5 5", "spell 2 8 6", "spell 1 6"};
    TrainedRun::Decoding greedy, beam, sampled;
    beam.beams = 4;
    sampled.sample = true;
    sampled.topP = 0.9;
    sampled.temperature = 0.7;
    sampled.seed = 11;
    for (const TrainedRun::Decoding &decoding : {greedy, beam, sampled}) {
      const std::vector<TrainedRun::Prediction> cached = run->predict(inputs, decoding);
      TrainedRun::Decoding recomputed = decoding;
      recomputed.useCache = false;
      const std::vector<TrainedRun::Prediction> plain = run->predict(inputs, recomputed);
      int right = 0;
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        QCOMPARE(cached[i].labels.size(), std::size_t(1));
        QCOMPARE(plain[i].labels, cached[i].labels);
        right += cached[i].labels.front() == spelled(inputs[i]);
      }
      // Sampling (T 0.7, top-p 0.9) may take a less likely piece now and then: a majority right.
      QVERIFY2(right >= (decoding.sample ? 4 : 5),
               qPrintable(QStringLiteral("beams %1 sample %2: %3 of 6 right")
                              .arg(decoding.beams)
                              .arg(decoding.sample)
                              .arg(right)));
    }
  }

  // Back-translation augmentation with exported T5 folders on a classification set of digit strings:
  // one model ("spell ") turns each training text into words; a round trip through a second
  // ("digits ", reads words back reversed) gives the reversed digits. Sampling makes several
  // distinct paraphrases a row. Validation and test rows are never paraphrased.
  void paraphrasesThroughExportedModels()
  {
    std::unique_ptr<TrainedRun> spellRun = TrainedRun::open(path("spell"));
    exportRun(*spellRun, path("spell-model"), {});
    Trainer back(config({"data.path=" + path("back.jsonl").string(), "training.epochs=12",
                         "evaluation.every_steps=0", "evaluation.generate=0"}),
                 path("back"));
    back.run();
    exportRun(*TrainedRun::open(path("back")), path("back-model"), {});

    auto augmented = [&](const std::vector<std::string> &paraphrase) {
      std::vector<std::string> o = {"task.kind=single_label", "data.path=" + path("classes.csv").string(),
                                    "data.augmentation.paraphrase.model=" + path("spell-model").string(),
                                    "data.augmentation.paraphrase.prefix=spell"};
      o.insert(o.end(), paraphrase.begin(), paraphrase.end());
      DataReport report;
      const LoadedDataset d = loadDataset(config(o), report);
      std::vector<Paraphrased> out;
      std::set<int> train(d.split.train.begin(), d.split.train.end());
      for (std::size_t r = 0; r < d.dataset.size(); ++r) {
        const Example &e = d.dataset.examples[r];
        if (e.sourceRow < 0)
          continue;
        if (!train.count(static_cast<int>(r)) || !train.count(e.sourceRow) ||
            e.augmentation.rfind("back-translation", 0) != 0)
          qFatal("row %zu: augmented outside the training split or not by back-translation", r);
        out.push_back({e.sourceRow, d.dataset.examples[static_cast<std::size_t>(e.sourceRow)].text, e.text});
      }
      return std::make_pair(out, d.split.train.size() - out.size());
    };

    const auto [spelledRows, trainRows] = augmented({});
    QCOMPARE(spelledRows.size(), trainRows); // one paraphrase for each training row
    int right = 0;
    for (const auto &[row, original, paraphrase] : spelledRows) {
      right += paraphrase == spelled(original);
    }
    QVERIFY2(right >= 0.85 * static_cast<double>(spelledRows.size()),
             qPrintable(QStringLiteral("%1 of %2").arg(right).arg(spelledRows.size())));

    const auto [roundTrip, trainRows2] =
        augmented({"data.augmentation.paraphrase.back_model=" + path("back-model").string(),
                   "data.augmentation.paraphrase.back_prefix=digits"});
    std::size_t changed = 0;
    right = 0;
    for (const auto &[row, original, paraphrase] : spelledRows)
      changed += reversed(original) != original;
    for (const auto &[row, original, paraphrase] : roundTrip) {
      QVERIFY(paraphrase != original); // an unchanged round trip adds no row
      right += paraphrase == reversed(original);
    }
    QVERIFY2(roundTrip.size() <= trainRows2 && roundTrip.size() + 3 >= changed,
             qPrintable(QStringLiteral("%1 round trips, %2 rows the reversal changes")
                            .arg(roundTrip.size())
                            .arg(changed)));
    QVERIFY2(right >= 0.75 * static_cast<double>(roundTrip.size()),
             qPrintable(QStringLiteral("%1 of %2").arg(right).arg(roundTrip.size())));

    const auto [sampled, trainRows3] =
        augmented({"data.augmentation.paraphrase.per_row=3", "data.augmentation.paraphrase.sampling=true"});
    std::map<int, std::set<std::string>> perRow;
    for (const auto &[row, original, paraphrase] : sampled) {
      QVERIFY(paraphrase != original);
      QVERIFY2(perRow[row].insert(paraphrase).second, "the same paraphrase twice for a row");
    }
    QVERIFY(sampled.size() > spelledRows.size() && sampled.size() <= 3 * trainRows3);
  }

  // Unusable paraphrase settings: clear messages naming the field or the folder.
  void paraphraseErrors()
  {
    const ConfigResult greedyTwice = parseExperimentConfig(
        "name: x\n", m_dir.path().toStdString(),
        {"model.path=" + path("tokenizer").string(), "data.path=" + path("classes.csv").string(),
         "data.augmentation.paraphrase.model=" + path("spell-model").string(),
         "data.augmentation.paraphrase.per_row=2"});
    QVERIFY(!greedyTwice.ok());
    QCOMPARE(QString::fromStdString(greedyTwice.problems.front().field),
             QStringLiteral("data.augmentation.paraphrase.per_row"));
    DataReport report;
    try {
      loadDataset(config({"task.kind=single_label", "data.path=" + path("classes.csv").string(),
                          "data.augmentation.paraphrase.model=" + path("tokenizer").string()}),
                  report);
      QFAIL("a folder without config.json paraphrased");
    } catch (const std::exception &e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1String("tokenizer: no config.json")), e.what());
    }
  }

  // Parameter-efficient strategies on T5 text-to-text: the mean of the last ten step losses is at
  // least 0.3 nats below the first ten's (gradients reach the strategy's own parameters; a frozen
  // model's losses would only wander with the batches).
  void strategiesTrainT5_data()
  {
    QTest::addColumn<QString>("strategy");
    QTest::newRow("lora") << QStringLiteral("strategy.name=lora");
    QTest::newRow("prefix") << QStringLiteral("strategy.name=prefix");
    QTest::newRow("prompt") << QStringLiteral("strategy.name=prompt");
  }
  void strategiesTrainT5()
  {
    QFETCH(QString, strategy);
    const std::filesystem::path dir = path(qPrintable(QTest::currentDataTag()));
    Trainer trainer(config({strategy.toStdString(), "training.max_steps=120", "training.learning_rate=1e-2",
                            "evaluation.every_steps=0", "evaluation.generate=0"}),
                    dir);
    const RunResult r = trainer.run();
    QVERIFY(r.trainableParameters < r.totalParameters / 2);
    const std::vector<double> losses = stepLosses(dir);
    QVERIFY(losses.size() >= 100);
    const double first = std::accumulate(losses.begin(), losses.begin() + 10, 0.0) / 10;
    const double last = std::accumulate(losses.end() - 10, losses.end(), 0.0) / 10;
    QVERIFY2(last < first - 0.3, qPrintable(QStringLiteral("%1 → %2").arg(first).arg(last)));
  }
};

QTEST_GUILESS_MAIN(TestSeq2Seq)
#include "tst_seq2seq.moc"
