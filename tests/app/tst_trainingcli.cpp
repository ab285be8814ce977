// Training from the command line as a script drives it: kill -9 in the middle and `resume` ends
// with the same metrics as an uninterrupted run; SIGTERM/Ctrl-C leaves a resumable run (exit 130);
// config errors are listed at once with line:column (exit 3); eval and predict on a finished run.
#include "support/cli.h"
#include "support/golden.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest/QtTest>

#include <cmath>
#include <csignal>
#include <tuple>

using tunebench::testing::assetPath;

class TestTrainingCli : public QObject
{
  Q_OBJECT

  using Result = tunebench::testing::CliResult;

  QString m_cli;
  QTemporaryDir m_dir;
  QString m_config;

  QProcessEnvironment env() const
  {
    QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
    e.insert(QStringLiteral("TUNEBENCH_ASSETS"), tunebench::testing::assetsDir());
    e.insert(QStringLiteral("TUNEBENCH_WORKSPACE"), m_dir.filePath(QStringLiteral("workspace")));
    return e;
  }

  Result run(const QStringList &args, int timeoutMs = 300000)
  {
    return tunebench::testing::runCli(m_cli, args, env(), timeoutMs);
  }

  QString path(const QString &name) const { return m_dir.filePath(name); }

  static int stepsLogged(const QString &run)
  {
    QFile f(run + QStringLiteral("/events.jsonl"));
    if (!f.open(QIODevice::ReadOnly))
      return 0;
    return static_cast<int>(f.readAll().count("\"type\":\"step\""));
  }

  // Starts a training run and interrupts it once `steps` steps are logged.
  void startAndInterrupt(const QString &runDir, int steps, bool hard)
  {
    QProcess p;
    p.setProcessEnvironment(env());
    p.start(m_cli, {QStringLiteral("train"), m_config, QStringLiteral("--run-dir"), runDir, QStringLiteral("--quiet")});
    QVERIFY(p.waitForStarted());
    QElapsedTimer timer;
    timer.start();
    while (stepsLogged(runDir) < steps && p.state() == QProcess::Running && timer.elapsed() < 240000)
      QTest::qWait(10);
    QVERIFY2(p.state() == QProcess::Running, "the run ended before it could be interrupted");
    if (hard)
      p.kill(); // SIGKILL: no chance to save anything
    else
      ::kill(static_cast<pid_t>(p.processId()), SIGINT);
    QVERIFY(p.waitForFinished(120000));
    if (hard) {
      QCOMPARE(p.exitStatus(), QProcess::CrashExit);
    } else {
      QCOMPARE(p.exitStatus(), QProcess::NormalExit);
      QCOMPARE(p.exitCode(), 130);
    }
  }

private Q_SLOTS:
  void initTestCase()
  {
    m_cli = qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli");
    QVERIFY2(QFileInfo::exists(m_cli), qPrintable(m_cli));
    QVERIFY2(QFile::exists(assetPath(QStringLiteral("models/use-lite/model.json"))),
             "USE-Lite is missing: run packaging/fetch-assets.sh");
    m_config = path(QStringLiteral("small.yaml"));
    QFile f(m_config);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("name: small\nseed: 42\n"
            "model: {path: $ASSETS/models/use-lite}\n"
            "data:\n  path: $ASSETS/data/sentiment/pang-lee-sentences.csv\n  subset_rows: 480\n"
            "training: {epochs: 2, batch_size: 16, learning_rate: 1.0e-4}\n"
            "evaluation: {every_steps: 6, metric: accuracy, early_stopping: {patience: 0}}\n");
  }

  void killNineThenResume()
  {
    const Result whole = run({QStringLiteral("train"), m_config, QStringLiteral("--run-dir"), path(QStringLiteral("whole")),
                              QStringLiteral("--quiet"), QStringLiteral("--json")});
    QVERIFY2(whole.exitCode == 0, qPrintable(whole.err));
    const QJsonObject a = whole.json();
    QCOMPARE(a.value(QLatin1String("status")).toString(), QStringLiteral("finished"));

    const QString crashed = path(QStringLiteral("crashed"));
    startAndInterrupt(crashed, 16, true);
    QVERIFY(QFile::exists(crashed + QStringLiteral("/state/trainer.json")));
    QVERIFY(!QFile::exists(crashed + QStringLiteral("/results.json")));
    // The history shows the killed run as interrupted (its process is gone).
    const Result listed = run({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--json")});
    QVERIFY2(listed.out.contains(QLatin1String("\"status\":\"interrupted\"")), qPrintable(listed.out));
    const Result resumed = run({QStringLiteral("resume"), crashed, QStringLiteral("--quiet"), QStringLiteral("--json")});
    QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
    const QJsonObject b = resumed.json();
    QCOMPARE(b.value(QLatin1String("steps")).toInt(), a.value(QLatin1String("steps")).toInt());
    QCOMPARE(b.value(QLatin1String("best_step")).toInt(), a.value(QLatin1String("best_step")).toInt());
    QCOMPARE(b.value(QLatin1String("test")).toObject().value(QLatin1String("metrics")),
             a.value(QLatin1String("test")).toObject().value(QLatin1String("metrics")));
    QCOMPARE(b.value(QLatin1String("validation")).toObject().value(QLatin1String("loss")).toDouble(),
             a.value(QLatin1String("validation")).toObject().value(QLatin1String("loss")).toDouble());

    // Both runs are in the history, finished; `runs compare` shows no config difference and the
    // same test metrics.
    const Result history = run({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--json")});
    const QJsonArray runs = QJsonDocument::fromJson(history.out.toUtf8()).array();
    QCOMPARE(runs.size(), 2);
    for (const QJsonValue &r : runs)
      QCOMPARE(r.toObject().value(QLatin1String("status")).toString(), QStringLiteral("finished"));
    const Result cmp = run({QStringLiteral("runs"), QStringLiteral("compare"), QStringLiteral("1"), QStringLiteral("2")});
    QCOMPARE(cmp.exitCode, 0);
    QVERIFY2(cmp.out.contains(QLatin1String("(the configs are the same)")), qPrintable(cmp.out));
    QVERIFY2(cmp.out.contains(QRegularExpression(QStringLiteral("test.accuracy\\s+(\\S+)\\s+\\1"))), qPrintable(cmp.out));
    // Each run kept its test predictions; the same predictions on the same rows: B - A = 0, p = 1.
    const Result sig = run({QStringLiteral("runs"), QStringLiteral("compare"), QStringLiteral("1"),
                            QStringLiteral("2"), QStringLiteral("--significance"),
                            QStringLiteral("--resamples"), QStringLiteral("500"), QStringLiteral("--json")});
    QVERIFY2(sig.exitCode == 0, qPrintable(sig.err));
    const QJsonObject significance = sig.json().value(QLatin1String("significance")).toObject();
    QVERIFY2(significance.value(QLatin1String("rows")).toInt() > 0, qPrintable(sig.out));
    const QJsonObject accuracy = significance.value(QLatin1String("metrics")).toArray().first().toObject();
    QCOMPARE(accuracy.value(QLatin1String("metric")).toString(), QStringLiteral("accuracy"));
    QCOMPARE(accuracy.value(QLatin1String("difference")).toDouble(), 0.0);
    QCOMPARE(accuracy.value(QLatin1String("p")).toDouble(), 1.0);
    QCOMPARE(significance.value(QLatin1String("mcnemar")).toObject().value(QLatin1String("p")).toDouble(),
             1.0);
  }

  void interruptLeavesAResumableRun()
  {
    const QString stopped = path(QStringLiteral("stopped"));
    startAndInterrupt(stopped, 9, false);
    QVERIFY(QFile::exists(stopped + QStringLiteral("/state/trainer.json")));
    const Result resumed = run({QStringLiteral("resume"), stopped, QStringLiteral("--quiet"), QStringLiteral("--json")});
    QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
    const Result whole = run({QStringLiteral("eval"), path(QStringLiteral("whole")), QStringLiteral("--json")});
    const Result again = run({QStringLiteral("eval"), stopped, QStringLiteral("--json")});
    QCOMPARE(again.json(), whole.json());
    // A finished run cannot be resumed, and says so in one line.
    const Result done = run({QStringLiteral("resume"), stopped});
    QCOMPARE(done.exitCode, 3);
    QVERIFY2(done.err.contains(QLatin1String("this run has finished")), qPrintable(done.err));
  }

  void evalAndPredict()
  {
    const QString whole = path(QStringLiteral("whole"));
    const Result e = run({QStringLiteral("eval"), whole, QStringLiteral("--split"), QStringLiteral("test"), QStringLiteral("--json")});
    QCOMPARE(e.exitCode, 0);
    QFile results(whole + QStringLiteral("/results.json"));
    QVERIFY(results.open(QIODevice::ReadOnly));
    const QJsonObject saved = QJsonDocument::fromJson(results.readAll()).object();
    QCOMPARE(e.json().value(QLatin1String("metrics")).toObject().value(QLatin1String("accuracy")).toDouble(),
             saved.value(QLatin1String("test")).toObject().value(QLatin1String("metrics")).toObject().value(QLatin1String("accuracy")).toDouble());
    const Result p = run({QStringLiteral("predict"), whole, QStringLiteral("--text"),
                          QStringLiteral("a warm , funny and moving film"), QStringLiteral("--json")});
    QCOMPARE(p.exitCode, 0);
    const QJsonObject j = p.json();
    QCOMPARE(j.value(QLatin1String("labels")).toArray().size(), 1);
    QCOMPARE(j.value(QLatin1String("probabilities")).toObject().size(), 2);
  }

  // A temperature and a threshold fitted on validation and saved with the run (--save) are what
  // `eval --calibrated`, `predict --calibrated` and `export --calibrated` apply; without a saved
  // rule --calibrated says how to make one.
  void savedDecisionRule()
  {
    const QString whole = path(QStringLiteral("whole"));
    if (!QFile::exists(whole + QStringLiteral("/results.json")))
      killNineThenResume();
    const Result none = run({QStringLiteral("eval"), whole, QStringLiteral("--calibrated")});
    QCOMPARE(none.exitCode, 3);
    QVERIFY2(none.err.contains(QLatin1String("no saved decision rule")), qPrintable(none.err));

    const Result fit = run({QStringLiteral("eval"), whole, QStringLiteral("--split"), QStringLiteral("test"),
                            QStringLiteral("--calibrate"), QStringLiteral("--tune-threshold"),
                            QStringLiteral("--save"), QStringLiteral("--json")});
    QVERIFY2(fit.exitCode == 0, qPrintable(fit.err));
    const QJsonObject f = fit.json();
    const double temperature =
        f.value(QLatin1String("calibration")).toObject().value(QLatin1String("temperature")).toDouble();
    const QJsonObject threshold = f.value(QLatin1String("threshold")).toObject();
    const QString positive = threshold.value(QLatin1String("positive")).toString();
    QVERIFY(temperature > 0 && !positive.isEmpty());
    QFile saved(whole + QStringLiteral("/decision.json"));
    QVERIFY(saved.open(QIODevice::ReadOnly));
    const QJsonObject rule = QJsonDocument::fromJson(saved.readAll()).object();
    QCOMPARE(rule.value(QLatin1String("temperature")).toDouble(), temperature);
    QCOMPARE(rule.value(QLatin1String("threshold")).toObject().value(QLatin1String("value")).toDouble(),
             threshold.value(QLatin1String("threshold")).toDouble());

    const Result calibrated =
        run({QStringLiteral("eval"), whole, QStringLiteral("--split"), QStringLiteral("test"),
             QStringLiteral("--calibrated"), QStringLiteral("--json")});
    QVERIFY2(calibrated.exitCode == 0, qPrintable(calibrated.err));
    QCOMPARE(calibrated.json().value(QLatin1String("metrics")).toObject(),
             threshold.value(QLatin1String("metrics")).toObject());

    const QStringList text = {QStringLiteral("predict"), whole, QStringLiteral("--text"),
                              QStringLiteral("a warm , funny and moving film"), QStringLiteral("--json")};
    const QJsonObject raw = run(text).json();
    const QJsonObject adjusted = run(text + QStringList{QStringLiteral("--calibrated")}).json();
    const QJsonObject p0 = raw.value(QLatin1String("probabilities")).toObject();
    const QJsonObject p1 = adjusted.value(QLatin1String("probabilities")).toObject();
    double sum = 0;
    for (const QString &label : p0.keys())
      sum += std::exp(std::log(p0.value(label).toDouble()) / temperature);
    for (const QString &label : p0.keys()) // softmax(log p / T)
      QVERIFY(std::abs(p1.value(label).toDouble() -
                       std::exp(std::log(p0.value(label).toDouble()) / temperature) / sum) < 1e-9);
    const bool isPositive =
        p1.value(positive).toDouble() >= threshold.value(QLatin1String("threshold")).toDouble();
    QCOMPARE(adjusted.value(QLatin1String("labels")).toArray().first().toString() == positive, isPositive);

    const QString out = path(QStringLiteral("exported-calibrated"));
    QCOMPARE(
        run({QStringLiteral("export"), whole, QStringLiteral("--calibrated"), QStringLiteral("--out"), out})
            .exitCode,
        0);
    QFile exported(out + QStringLiteral("/decision.json"));
    QVERIFY(exported.open(QIODevice::ReadOnly));
    QCOMPARE(QJsonDocument::fromJson(exported.readAll()).object(), rule);
    // Verified before it was reported: USE-Lite in tunebench's documented layout, the same logits.
    QFile verification(out + QStringLiteral("/verification.json"));
    QVERIFY(verification.open(QIODevice::ReadOnly));
    const QJsonObject checked = QJsonDocument::fromJson(verification.readAll()).object();
    QVERIFY(checked.value(QLatin1String("passed")).toBool());
    QVERIFY(checked.value(QLatin1String("max_abs_logit_difference")).toDouble() <= 1e-5);
    QCOMPARE(checked.value(QLatin1String("label_agreement")).toDouble(), 1.0);
    QVERIFY(checked.value(QLatin1String("export"))
                .toObject()
                .value(QLatin1String("layout"))
                .toString()
                .contains(QLatin1String("USE-Lite has no Hugging Face architecture")));
    const auto own =
        run({QStringLiteral("export"), whole, QStringLiteral("--format"), QStringLiteral("tunebench"),
             QStringLiteral("--out"), path(QStringLiteral("exported-own")), QStringLiteral("--json")});
    QCOMPARE(own.exitCode, 0);
    QCOMPARE(own.json().value(QLatin1String("format")).toString(), QStringLiteral("tunebench"));

    // The model card: the data file's SHA-256 (computed here), the rows of each split (split.json),
    // the strategy and learning rate, the test accuracy of results.json, the files beside it.
    QFile card(out + QStringLiteral("/README.md"));
    QVERIFY(card.open(QIODevice::ReadOnly));
    const QString cardText = QString::fromUtf8(card.readAll());
    QFile data(assetPath(QStringLiteral("data/sentiment/pang-lee-sentences.csv")));
    QVERIFY(data.open(QIODevice::ReadOnly));
    QVERIFY2(cardText.contains(QString::fromLatin1(
                 QCryptographicHash::hash(data.readAll(), QCryptographicHash::Sha256).toHex())),
             qPrintable(cardText));
    QFile splitFile(whole + QStringLiteral("/split.json"));
    QVERIFY(splitFile.open(QIODevice::ReadOnly));
    const QJsonObject split = QJsonDocument::fromJson(splitFile.readAll()).object();
    QVERIFY(cardText.contains(QStringLiteral("Rows: train %1, validation %2, test %3")
                                  .arg(split.value(QLatin1String("train")).toArray().size())
                                  .arg(split.value(QLatin1String("validation")).toArray().size())
                                  .arg(split.value(QLatin1String("test")).toArray().size())));
    QVERIFY(cardText.contains(QLatin1String("Strategy: full")));
    QVERIFY2(cardText.contains(QStringLiteral("(Wilson score interval over %1 test rows")
                                   .arg(split.value(QLatin1String("test")).toArray().size())),
             qPrintable(cardText));
    QFile resultsFile(whole + QStringLiteral("/results.json"));
    QVERIFY(resultsFile.open(QIODevice::ReadOnly));
    const double accuracy = QJsonDocument::fromJson(resultsFile.readAll())
                                .object()["test"]
                                .toObject()["metrics"]
                                .toObject()["accuracy"]
                                .toDouble();
    QVERIFY2(cardText.contains(QStringLiteral("| test |")) &&
                 cardText.contains(QString::number(accuracy, 'f', 4)),
             qPrintable(cardText));
    for (const char *file : {"model.safetensors", "labels.json", "tunebench.yaml", "decision.json"})
      QVERIFY2(cardText.contains(QStringLiteral("- `%1`").arg(QString::fromLatin1(file))), file);
  }

  // k-fold: every fold a run; the test splits are disjoint and cover every row; mean ± std reported.
  void crossValidation()
  {
    const QString root = path(QStringLiteral("cv"));
    const Result r = run({QStringLiteral("cv"), m_config, QStringLiteral("--folds"), QStringLiteral("3"), QStringLiteral("--run-dir"),
                          root, QStringLiteral("--quiet"), QStringLiteral("--json"), QStringLiteral("--set"),
                          QStringLiteral("data.subset_rows=150"), QStringLiteral("--set"), QStringLiteral("training.epochs=1")});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonObject j = r.json();
    QCOMPARE(j.value(QLatin1String("runs")).toArray().size(), 3);
    const QJsonObject acc = j.value(QLatin1String("test")).toObject().value(QLatin1String("accuracy")).toObject();
    QVERIFY(acc.value(QLatin1String("mean")).toDouble() > 0.3);
    QVERIFY(acc.contains(QLatin1String("std")));
    QSet<int> seen;
    int total = 0;
    for (int k = 1; k <= 3; ++k) {
      QFile split(root + QStringLiteral("/fold-%1/split.json").arg(k));
      QVERIFY(split.open(QIODevice::ReadOnly));
      const QJsonObject s = QJsonDocument::fromJson(split.readAll()).object();
      for (const QJsonValue &v : s.value(QLatin1String("test")).toArray()) {
        QVERIFY2(!seen.contains(v.toInt()), "a row is in two test folds");
        seen.insert(v.toInt());
        ++total;
      }
      // Training and validation never hold a test row of the same fold.
      QSet<int> test;
      for (const QJsonValue &v : s.value(QLatin1String("test")).toArray())
        test.insert(v.toInt());
      for (const char *other : {"train", "validation"})
        for (const QJsonValue &v : s.value(QLatin1String(other)).toArray())
          QVERIFY(!test.contains(v.toInt()));
    }
    QCOMPARE(total, 150);
    QVERIFY(QFile::exists(root + QStringLiteral("/cv.json")));

    // A second configuration on the same folds; `runs compare A1,A2,A3 B1,B2,B3` pairs them fold by
    // fold: each fold's test accuracy from its results.json, the mean difference, a paired t-test.
    const QString other = path(QStringLiteral("cv-other"));
    const Result r2 =
        run({QStringLiteral("cv"), m_config, QStringLiteral("--folds"), QStringLiteral("3"),
             QStringLiteral("--run-dir"), other, QStringLiteral("--quiet"), QStringLiteral("--json"),
             QStringLiteral("--set"), QStringLiteral("data.subset_rows=150"), QStringLiteral("--set"),
             QStringLiteral("training.epochs=1"), QStringLiteral("--set"),
             QStringLiteral("training.learning_rate=1e-3")});
    QVERIFY2(r2.exitCode == 0, qPrintable(r2.err));
    const QJsonArray listed = QJsonDocument::fromJson(run({QStringLiteral("runs"), QStringLiteral("list"),
                                                           QStringLiteral("--json"), QStringLiteral("--all")})
                                                          .out.toUtf8())
                                  .array();
    QStringList groupA, groupB;
    std::vector<double> accA, accB;
    for (int k = 1; k <= 3; ++k)
      for (const QJsonValue &v : listed) {
        const QString folder = QDir::cleanPath(v.toObject().value(QLatin1String("folder")).toString());
        for (auto [dir, group, acc] : {std::tuple{root, &groupA, &accA}, std::tuple{other, &groupB, &accB}})
          if (folder == QDir::cleanPath(dir + QStringLiteral("/fold-%1").arg(k))) {
            *group << QString::number(v.toObject().value(QLatin1String("id")).toInteger());
            QFile results(folder + QStringLiteral("/results.json"));
            QVERIFY(results.open(QIODevice::ReadOnly));
            acc->push_back(QJsonDocument::fromJson(results.readAll())
                               .object()["test"]
                               .toObject()["metrics"]
                               .toObject()["accuracy"]
                               .toDouble());
          }
      }
    QCOMPARE(groupA.size(), 3);
    QCOMPARE(groupB.size(), 3);
    const Result compared =
        run({QStringLiteral("runs"), QStringLiteral("compare"), groupA.join(QLatin1Char(',')),
             groupB.join(QLatin1Char(',')), QStringLiteral("--json")});
    QVERIFY2(compared.exitCode == 0, qPrintable(compared.err));
    const QJsonObject sig = compared.json().value(QLatin1String("significance")).toObject();
    QCOMPARE(sig.value(QLatin1String("pairs")).toInt(), 3);
    const QJsonObject accuracy = sig.value(QLatin1String("metrics")).toArray().first().toObject();
    QCOMPARE(accuracy.value(QLatin1String("metric")).toString(), QStringLiteral("accuracy"));
    double meanDifference = 0;
    for (int i = 0; i < 3; ++i) {
      QCOMPARE(accuracy.value(QLatin1String("a")).toArray()[i].toDouble(), accA[static_cast<std::size_t>(i)]);
      QCOMPARE(accuracy.value(QLatin1String("b")).toArray()[i].toDouble(), accB[static_cast<std::size_t>(i)]);
      meanDifference += (accB[static_cast<std::size_t>(i)] - accA[static_cast<std::size_t>(i)]) / 3;
    }
    QVERIFY(std::abs(accuracy.value(QLatin1String("difference")).toDouble() - meanDifference) < 1e-12);
    const Result text = run({QStringLiteral("runs"), QStringLiteral("compare"), groupA.join(QLatin1Char(',')),
                             groupB.join(QLatin1Char(','))});
    QVERIFY2(text.out.contains(QLatin1String("B - A accuracy = ")) &&
                 text.out.contains(QLatin1String("over 3 pairs")),
             qPrintable(text.out));
    const Result uneven = run(
        {QStringLiteral("runs"), QStringLiteral("compare"), groupA.join(QLatin1Char(',')), groupB.front()});
    QCOMPARE(uneven.exitCode, 3);
    QVERIFY(uneven.err.contains(QLatin1String("same size")));
  }

  // The NER path at scale: proper-name and number entities (BIO) made from the WSJ POS tags
  // (NNP/NNPS runs → NAME, CD → NUM), a tagger, entity F1, and `eval --repair-tags`: the invalid
  // transitions counted, rule repair and constrained decoding scored on the split and validation,
  // and the constrained output valid IOB2 by construction.
  void entityTaggingAndTagRepair()
  {
    QFile wsj(assetPath(QStringLiteral("data/pos/wsj.conll")));
    QVERIFY(wsj.open(QIODevice::ReadOnly));
    QFile names(path(QStringLiteral("names.conll")));
    QVERIFY(names.open(QIODevice::WriteOnly));
    bool inName = false;
    for (const QByteArray &line : wsj.readAll().split('\n')) {
      const QList<QByteArray> cols = line.split('\t');
      if (cols.size() < 2) {
        names.write("\n");
        inName = false;
        continue;
      }
      const bool name = cols[1] == "NNP" || cols[1] == "NNPS";
      const QByteArray tag = name ? (inName ? "I-NAME" : "B-NAME") : cols[1] == "CD" ? "B-NUM" : "O";
      inName = name;
      names.write(cols[0] + '\t' + tag + '\n');
    }
    names.close();
    const QString config = path(QStringLiteral("names.yaml"));
    QFile f(config);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("name: names\nseed: 42\nmodel: {path: $ASSETS/models/use-lite, max_length: 64}\ntask: {kind: token_tagging}\n"
            "data: {path: " + names.fileName().toUtf8() + ", subset_rows: 400,\n"
            "       split: {train: 0.8, validation: 0.1, test: 0.1, stratified: false}}\n"
            "training: {epochs: 2, batch_size: 16, learning_rate: 1.0e-3}\n");
    f.close();
    const QString runDir = path(QStringLiteral("names-run"));
    const Result t = run({QStringLiteral("train"), config, QStringLiteral("--run-dir"), runDir, QStringLiteral("--json")});
    QVERIFY2(t.exitCode == 0, qPrintable(t.err));
    const double f1 = t.json().value(QLatin1String("test")).toObject().value(QLatin1String("metrics")).toObject()
                          .value(QLatin1String("entity_f1")).toDouble();
    QVERIFY2(f1 > 0.5, qPrintable(QString::number(f1)));
    const Result r = run({QStringLiteral("eval"), runDir, QStringLiteral("--repair-tags"), QStringLiteral("--json")});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonObject j = r.json();
    QCOMPARE(j.value(QLatin1String("scheme")).toString(), QStringLiteral("IOB2"));
    const QJsonObject repair = j.value(QLatin1String("repair")).toObject();
    QCOMPARE(repair.value(QLatin1String("entity_f1")).toDouble(), f1); // the same model, the same split
    for (const char *key : {"entity_f1_rule", "entity_f1_constrained"})
      QVERIFY(repair.value(QLatin1String(key)).toDouble() > 0.5);
    const QString chosen = j.value(QLatin1String("chosen")).toString();
    const QJsonObject v = j.value(QLatin1String("validation")).toObject();
    QCOMPARE(chosen == QLatin1String("constrained"),
             v.value(QLatin1String("entity_f1_constrained")).toDouble() >= v.value(QLatin1String("entity_f1_rule")).toDouble());
    // POS runs have no entities to repair: a clear error, exit 3.
    QCOMPARE(run({QStringLiteral("eval"), path(QStringLiteral("whole")), QStringLiteral("--repair-tags")}).exitCode, 3);
  }

  void configErrorsAreListed()
  {
    const QString bad = path(QStringLiteral("bad.yaml"));
    QFile f(bad);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("model: {path: $ASSETS/models/use-lite}\ndata: {path: $ASSETS/data/sentiment/pang-lee-sentences.csv}\n"
            "training:\n  epoch: 3\n  learning_rate: -1\n");
    f.close();
    const Result r = run({QStringLiteral("train"), bad});
    QCOMPARE(r.exitCode, 3);
    QVERIFY2(r.err.contains(QLatin1String("2 problem(s)")), qPrintable(r.err));
    QVERIFY2(r.err.contains(bad + QStringLiteral(":4:3: training.epoch: unknown key (did you mean \"epochs\"?)")), qPrintable(r.err));
    QVERIFY2(r.err.contains(bad + QStringLiteral(":5:18: training.learning_rate: must be between")), qPrintable(r.err));
    QVERIFY2(!r.err.contains(QLatin1String("frame #")), qPrintable(r.err));
    const Result s = run({QStringLiteral("train"), bad, QStringLiteral("--set"), QStringLiteral("training.epochs=0")});
    QVERIFY2(s.err.contains(QLatin1String("training.epochs: must be between 1 and 1000 (got 0)")), qPrintable(s.err));
  }

  // The allocator (core/runtime/cpuallocator.h by default, TUNEBENCH_MALLOC=heap for glibc's heap)
  // changes where tensors live, not a number: the same run gives the same validation loss and test
  // metrics with either.
  void allocatorChangesNoNumber()
  {
    QProcessEnvironment heap = env();
    heap.insert(QStringLiteral("TUNEBENCH_MALLOC"), QStringLiteral("heap"));
    const Result version = tunebench::testing::runCli(m_cli, {QStringLiteral("version")}, heap, 60000);
    QVERIFY2(!version.out.contains(QLatin1String("tunebench's blocks")), qPrintable(version.out));
    QVERIFY(run({QStringLiteral("version")}).out.contains(QLatin1String("tunebench's blocks")));
    const Result r = tunebench::testing::runCli(m_cli,
                                                {QStringLiteral("train"), m_config,
                                                 QStringLiteral("--run-dir"), path(QStringLiteral("heap")),
                                                 QStringLiteral("--quiet"), QStringLiteral("--json")},
                                                heap, 300000);
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const Result whole =
        run({QStringLiteral("eval"), path(QStringLiteral("whole")), QStringLiteral("--json")});
    const Result again =
        run({QStringLiteral("eval"), path(QStringLiteral("heap")), QStringLiteral("--json")});
    QCOMPARE(again.json(), whole.json());
    QFile results(path(QStringLiteral("whole/results.json")));
    QVERIFY(results.open(QIODevice::ReadOnly));
    const QJsonObject wholeResults = QJsonDocument::fromJson(results.readAll()).object();
    const double loss =
        wholeResults.value(QLatin1String("validation")).toObject().value(QLatin1String("loss")).toDouble();
    QVERIFY(loss > 0);
    QCOMPARE(r.json().value(QLatin1String("validation")).toObject().value(QLatin1String("loss")).toDouble(),
             loss);
    QCOMPARE(r.json().value(QLatin1String("steps")).toInt(),
             wholeResults.value(QLatin1String("steps")).toInt());
  }
};

QTEST_GUILESS_MAIN(TestTrainingCli)
#include "tst_trainingcli.moc"
