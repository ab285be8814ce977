// Text-to-text fine-tuning (task.kind seq2seq) on a task whose answers are checkable: a small T5
// made inside the test learns to spell digits out ("spell 3 1" → "three one"). Checked: the run
// learns (test exact match and ROUGE-L against a model that has not trained), predict answers with
// greedy, beam and top-p/temperature decoding, generation with the cache equals recomputation,
// and LoRA, prefix and prompt tuning train a T5 (their step losses fall).
#include "core/config/experiment.h"
#include "core/train/trainedrun.h"
#include "core/train/trainer.h"
#include "support/runfiles.h"

#include <QtTest/QtTest>

#include <fstream>
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
    std::mt19937 random(5);
    std::ofstream data(path("spell.jsonl"));
    for (int i = 0; i < 3000; ++i) {
      std::string digits;
      const int length = 1 + static_cast<int>(random() % 3);
      for (int k = 0; k < length; ++k)
        digits += std::string(k ? " " : "") + static_cast<char>('0' + random() % 10);
      data << "{\"instruction\": \"spell " << digits << "\", \"output\": \"" << spelled(digits) << "\"}\n";
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
        config({"training.epochs=8", "evaluation.every_steps=300", "evaluation.metric=exact_match"}),
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
  // way the task says; each equals its run without the cache.
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
      QVERIFY2(right >= 5, qPrintable(QStringLiteral("beams %1 sample %2: %3 of 6 right")
                                          .arg(decoding.beams)
                                          .arg(decoding.sample)
                                          .arg(right)));
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
