// Pre-training from the command line: a small BERT from scratch with masked LM and a small T5 with
// span corruption, on movie-review text with the BERT tokenizer. Each run learns (validation loss
// well below the uniform guess ln V), predicts ([MASK] fill-in, <extra_id_N> spans), and exports a
// Hugging Face folder; a classifier then starts from the exported encoder with every encoder
// tensor loaded.
#include "support/golden.h"

#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

class TestPretrainCli : public QObject
{
  Q_OBJECT

  QString m_cli;
  QTemporaryDir m_dir;

  struct Result
  {
    int exitCode = -1;
    QString out, err;
    QJsonObject lastJson() const
    {
      return QJsonDocument::fromJson(out.trimmed().split(QLatin1Char('\n')).last().toUtf8()).object();
    }
  };

  Result run(const QStringList &args)
  {
    QProcess p;
    QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
    e.insert(QStringLiteral("TUNEBENCH_ASSETS"), tunebench::testing::assetsDir());
    e.insert(QStringLiteral("TUNEBENCH_WORKSPACE"), m_dir.filePath(QStringLiteral("workspace")));
    p.setProcessEnvironment(e);
    p.start(m_cli, args);
    if (!p.waitForFinished(600000))
      return {};
    return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
  }

  QString write(const QString &name, const QByteArray &yaml)
  {
    QFile f(m_dir.filePath(name));
    if (!f.open(QIODevice::WriteOnly))
      return {};
    f.write(yaml);
    return f.fileName();
  }

  // Trains a denoising config; returns the run folder after checking that it learned.
  QString pretrain(const QString &kind)
  {
    const QString config = write(kind + QStringLiteral(".yaml"),
                                 "name: " + kind.toUtf8() + "\nseed: 42\n"
                                 "model: {path: $ASSETS/tokenizers/bert-base-uncased, init: random, max_length: 48,\n"
                                 "        scratch: {layers: 1, hidden: 32, heads: 2}}\n"
                                 "task: {kind: " + kind.toUtf8() + "}\n"
                                 "data:\n  path: $ASSETS/data/sentiment/pang-lee-reviews.csv\n  columns: {text: text}\n"
                                 "  subset_rows: 60\n  split: {train: 0.8, validation: 0.1, test: 0.1, stratified: false}\n"
                                 "training: {epochs: 2, batch_size: 16, learning_rate: 2.0e-3}\n"
                                 "evaluation: {metric: loss}\n");
    const QString runDir = m_dir.filePath(kind);
    const Result r = run({QStringLiteral("train"), config, QStringLiteral("--run-dir"), runDir, QStringLiteral("--json")});
    if (r.exitCode != 0) {
      qWarning("%s", qPrintable(r.err));
      return {};
    }
    const double loss = r.lastJson().value(QLatin1String("test")).toObject().value(QLatin1String("loss")).toDouble();
    const double uniform = std::log(30522.0);
    if (!(loss > 0 && loss < uniform - 1.5)) {
      qWarning("%s test loss %g, uniform guess %g", qPrintable(kind), loss, uniform);
      return {};
    }
    return runDir;
  }

  // `predict RUN --text TEXT --json`: the labels (empty when the command failed).
  QJsonArray predicted(const QString &runDir, const QString &text)
  {
    const Result p = run({QStringLiteral("predict"), runDir, QStringLiteral("--json"), QStringLiteral("--text"), text});
    return p.exitCode == 0 ? p.lastJson().value(QLatin1String("labels")).toArray() : QJsonArray();
  }

private Q_SLOTS:
  void initTestCase()
  {
    m_cli = qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli");
    QVERIFY2(QFileInfo::exists(m_cli), qPrintable(m_cli));
  }

  void maskedLmFromScratchThenClassify()
  {
    const QString runDir = pretrain(QStringLiteral("masked_lm"));
    QVERIFY(!runDir.isEmpty());
    const QJsonArray tokens = predicted(runDir, QStringLiteral("the movie was [MASK] and the acting was [MASK] ."));
    QCOMPARE(tokens.size(), 2); // one token per [MASK]

    const QString exported = m_dir.filePath(QStringLiteral("bert-mlm"));
    QCOMPARE(run({QStringLiteral("export"), runDir, QStringLiteral("--out"), exported}).exitCode, 0);
    QFile config(exported + QStringLiteral("/config.json"));
    QVERIFY(config.open(QIODevice::ReadOnly));
    QCOMPARE(QJsonDocument::fromJson(config.readAll()).object().value(QLatin1String("architectures")).toArray().first().toString(),
             QStringLiteral("BertForMaskedLM"));
    QVERIFY(QFile::exists(exported + QStringLiteral("/vocab.txt")));

    const QString classify = write(QStringLiteral("classify.yaml"),
                                   "name: from-mlm\nseed: 42\nmodel: {path: " + exported.toUtf8() + ", max_length: 48}\n"
                                   "data:\n  path: $ASSETS/data/sentiment/pang-lee-sentences.csv\n  subset_rows: 200\n"
                                   "training: {epochs: 1, batch_size: 16}\n");
    const Result c = run({QStringLiteral("train"), classify, QStringLiteral("--run-dir"), m_dir.filePath(QStringLiteral("cls"))});
    QVERIFY2(c.exitCode == 0, qPrintable(c.err));
    // Every encoder tensor came from the export; only the pooler (not in *ForMaskedLM) and the head are new.
    const QString report = c.err.section(QStringLiteral("initialised randomly: "), 1, 1).section(QLatin1Char('('), 0, 0);
    QVERIFY2(c.err.contains(QStringLiteral("tensors loaded")), qPrintable(c.err));
    QVERIFY2(!report.contains(QStringLiteral("encoder")) && !report.contains(QStringLiteral("embeddings")), qPrintable(report));

    // Domain adaptation: masked LM continued from the export loads every tensor, the head included.
    const QString adapt = write(QStringLiteral("adapt.yaml"),
                                "name: adapt\nseed: 1\nmodel: {path: " + exported.toUtf8() + ", max_length: 48}\n"
                                "task: {kind: masked_lm}\n"
                                "data:\n  path: $ASSETS/data/sentiment/pang-lee-sentences.csv\n  columns: {text: text}\n"
                                "  subset_rows: 300\n  split: {train: 0.8, validation: 0.1, test: 0.1, stratified: false}\n"
                                "training: {epochs: 1, batch_size: 16}\nevaluation: {metric: loss}\n");
    const Result a = run({QStringLiteral("train"), adapt, QStringLiteral("--run-dir"), m_dir.filePath(QStringLiteral("adapt"))});
    QVERIFY2(a.exitCode == 0, qPrintable(a.err));
    QVERIFY2(a.err.contains(QStringLiteral("tensors loaded")) && !a.err.contains(QStringLiteral("initialised randomly")),
             qPrintable(a.err));
  }

  void spanCorruptionFromScratch()
  {
    const QString runDir = pretrain(QStringLiteral("span_corruption"));
    QVERIFY(!runDir.isEmpty());
    const QString spans =
        predicted(runDir, QStringLiteral("the movie was <extra_id_0> and the acting <extra_id_1> .")).first().toString();
    QVERIFY2(spans.startsWith(QStringLiteral("<extra_id_0>")), qPrintable(spans)); // the first thing learned
    const QString exported = m_dir.filePath(QStringLiteral("t5-spans"));
    QCOMPARE(run({QStringLiteral("export"), runDir, QStringLiteral("--out"), exported}).exitCode, 0);
    QFile config(exported + QStringLiteral("/config.json"));
    QVERIFY(config.open(QIODevice::ReadOnly));
    const QJsonObject j = QJsonDocument::fromJson(config.readAll()).object();
    QCOMPARE(j.value(QLatin1String("model_type")).toString(), QStringLiteral("t5"));
    QCOMPARE(j.value(QLatin1String("vocab_size")).toInt(), 30522 + 100); // the tokenizer's ids and 100 sentinels
  }

  // A causal LM's `predict`: greedy and --beam 4 are deterministic; sampling (--temperature,
  // --top-p) repeats with its --seed and departs from greedy with others; beam search and sampling
  // together, or generation options on a denoising run, are refused as bad command lines.
  void causalLmPredictsGreedyBeamAndSampled()
  {
    const QString config =
        write(QStringLiteral("gpt2-tiny.yaml"),
              "name: gpt2-tiny\nseed: 42\n"
              "model: {path: $ASSETS/tokenizers/gpt2, init: random, max_length: 48,\n"
              "        scratch: {layers: 1, hidden: 32, heads: 2}}\n"
              "task: {kind: causal_lm}\n"
              "data:\n  path: $ASSETS/data/sentiment/pang-lee-reviews.csv\n  columns: {text: text}\n"
              "  subset_rows: 60\n  split: {train: 0.8, validation: 0.1, test: 0.1, stratified: false}\n"
              "training: {epochs: 1, batch_size: 8, learning_rate: 2.0e-3}\n"
              "evaluation: {metric: loss}\n");
    const QString runDir = m_dir.filePath(QStringLiteral("gpt2-tiny"));
    const Result trained = run(
        {QStringLiteral("train"), config, QStringLiteral("--run-dir"), runDir, QStringLiteral("--quiet")});
    QVERIFY2(trained.exitCode == 0, qPrintable(trained.err));
    const auto answer = [&](QStringList options) {
      options = QStringList{QStringLiteral("predict"),    runDir,
                            QStringLiteral("--json"),     QStringLiteral("--max-new-tokens"),
                            QStringLiteral("12"),         QStringLiteral("--text"),
                            QStringLiteral("the film is")} +
                options;
      const Result r = run(options);
      return r.exitCode == 0 ? r.lastJson().value(QLatin1String("labels")).toArray().first().toString()
                             : QStringLiteral("exit %1: %2").arg(r.exitCode).arg(r.err);
    };
    const QString greedy = answer({});
    QVERIFY(!greedy.startsWith(QLatin1String("exit")));
    QCOMPARE(answer({}), greedy);
    const QString beam = answer({QStringLiteral("--beam"), QStringLiteral("4")});
    QVERIFY2(!beam.startsWith(QLatin1String("exit")), qPrintable(beam));
    QCOMPARE(answer({QStringLiteral("--beam"), QStringLiteral("4")}), beam);
    const QStringList sampling = {QStringLiteral("--temperature"), QStringLiteral("1.5"),
                                  QStringLiteral("--top-p"), QStringLiteral("0.95"),
                                  QStringLiteral("--seed")};
    const QString seed1 = answer(sampling + QStringList{QStringLiteral("1")});
    QVERIFY2(!seed1.startsWith(QLatin1String("exit")), qPrintable(seed1));
    QCOMPARE(answer(sampling + QStringList{QStringLiteral("1")}), seed1);
    QStringList others;
    for (const char *seed : {"2", "3", "4"})
      others << answer(sampling + QStringList{QString::fromLatin1(seed)});
    QVERIFY2(others.count(seed1) < 3,
             qPrintable(others.join(QLatin1Char('|')))); // other seeds, other answers
    qInfo("greedy: %s | beam 4: %s | sampled: %s | %s", qPrintable(greedy), qPrintable(beam),
          qPrintable(seed1), qPrintable(others.join(QStringLiteral(" | "))));
    QVERIFY2(!(seed1 == greedy && others.count(greedy) == 3), "sampling gave the greedy answer every time");
    // --seed 0 is the documented default and --top-k 0 means "off": both are accepted as such.
    QCOMPARE(answer(sampling + QStringList{QStringLiteral("0")}), answer(QStringList(sampling.mid(0, 4))));
    QCOMPARE(
        answer(sampling + QStringList{QStringLiteral("1"), QStringLiteral("--top-k"), QStringLiteral("0")}),
        seed1);
    const Result negative = run({QStringLiteral("predict"), runDir, QStringLiteral("--text"),
                                 QStringLiteral("a"), QStringLiteral("--seed"), QStringLiteral("-1")});
    QCOMPARE(negative.exitCode, 2);
    QVERIFY2(negative.err.contains(QLatin1String("--seed: expected an integer of at least 0")),
             qPrintable(negative.err));

    const Result both = run({QStringLiteral("predict"), runDir, QStringLiteral("--text"), QStringLiteral("a"),
                             QStringLiteral("--beam"), QStringLiteral("2"), QStringLiteral("--temperature"),
                             QStringLiteral("0.7")});
    QCOMPARE(both.exitCode, 2);
    QVERIFY(both.err.contains(QLatin1String("--beam")));
    const Result badP = run({QStringLiteral("predict"), runDir, QStringLiteral("--text"), QStringLiteral("a"),
                             QStringLiteral("--top-p"), QStringLiteral("1.5")});
    QCOMPARE(badP.exitCode, 2);
    QVERIFY(badP.err.contains(QLatin1String("--top-p: expected a number above 0 and at most 1")));
  }
};

QTEST_GUILESS_MAIN(TestPretrainCli)
#include "tst_pretraincli.moc"
