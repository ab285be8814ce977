// Data-parallel training on c10d (Gloo, 127.0.0.1 only): 2 ranks × batch 16 train exactly as one
// process × batch 32 (every step's loss and the final weights within 1e-5, with and without
// gradient accumulation, full and LoRA, a short last batch included); evaluation is sharded and
// gathered without losing or repeating a row; torchrun starts the same binary with the same result
// as --nproc; kill -9 of rank 1 stops rank 0 within the timeout naming rank 1, and `resume` ends
// as the uninterrupted run does; a pause of rank 0 holds both ranks past the timeout and the run
// then ends as the uninterrupted one; a world-size mismatch, a resume with another world size and a
// port in use are clear errors.
#include "core/runtime/distributed.h"
#include "support/cli.h"
#include "support/golden.h"

#include <torch/serialize.h>
#include <torch/torch.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QtTest/QtTest>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

namespace {

// A TCP port on 127.0.0.1 held open (listening) for the object's life: a port in use.
class BusyPort
{
public:
  BusyPort()
  {
    m_fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(m_fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 && listen(m_fd, 4) == 0 &&
        getsockname(m_fd, reinterpret_cast<sockaddr *>(&a), &len) == 0)
      m_port = ntohs(a.sin_port);
  }
  ~BusyPort() { close(m_fd); }
  quint16 port() const { return m_port; }

private:
  int m_fd = -1;
  quint16 m_port = 0;
};

} // namespace

class TestDistributed : public QObject
{
  Q_OBJECT

  using Result = tunebench::testing::CliResult;

  QString m_cli;
  QTemporaryDir m_dir;

  QProcessEnvironment env() const
  {
    QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
    e.insert(QStringLiteral("TUNEBENCH_ASSETS"), tunebench::testing::assetsDir());
    e.insert(QStringLiteral("TUNEBENCH_WORKSPACE"), m_dir.filePath(QStringLiteral("workspace")));
    for (const char *name :
         {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"})
      e.remove(QString::fromLatin1(name));
    return e;
  }

  Result run(const QStringList &args, int timeoutMs = 600000)
  {
    return tunebench::testing::runCli(m_cli, args, env(), timeoutMs);
  }

  QString path(const QString &name) const { return m_dir.filePath(name); }

  // BERT-mini (4 layers, 256 wide) from random weights on review sentences: 1,119 training rows,
  // so the epoch's last batch is short (31 rows, split 16 + 15 between the ranks).
  QString writeConfig(const QString &name)
  {
    const QString file = path(name + QStringLiteral(".yaml"));
    QFile f(file);
    if (!f.open(QIODevice::WriteOnly))
      return {};
    f.write(QStringLiteral(
                "name: %1\nseed: 7\n"
                "model: {path: %2, init: random, max_length: 32}\n"
                "task: {kind: single_label}\n"
                "data: {path: $ASSETS/data/sentiment/pang-lee-sentences.csv, subset_rows: 1397,\n"
                "       split: {train: 0.8, validation: 0.1, test: 0.1, stratified: true}}\n"
                "training: {epochs: 1, batch_size: 32, learning_rate: 2.0e-4, precision: fp32, dropout: 0,\n"
                "           distributed: {timeout: 20}}\n"
                "strategy: {lora: {dropout: 0}}\n"
                "evaluation: {metric: accuracy}\n")
                .arg(name, path(QStringLiteral("bert-mini")))
                .toUtf8());
    return file;
  }

  static QList<QJsonObject> events(const QString &run, const QString &type)
  {
    QList<QJsonObject> out;
    QFile f(run + QStringLiteral("/events.jsonl"));
    if (!f.open(QIODevice::ReadOnly))
      return out;
    for (const QByteArray &line : f.readAll().split('\n')) {
      const QJsonObject j = QJsonDocument::fromJson(line).object();
      if (j.value(QStringLiteral("type")).toString() == type)
        out.push_back(j);
    }
    return out;
  }

  static QJsonObject results(const QString &run)
  {
    QFile f(run + QStringLiteral("/results.json"));
    return f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll()).object() : QJsonObject();
  }

  // The largest difference between two saved models' tensors (their names must agree).
  static double weightDifference(const QString &a, const QString &b)
  {
    torch::serialize::InputArchive x, y;
    x.load_from(a.toStdString());
    y.load_from(b.toStdString());
    double worst = 0;
    const std::vector<std::string> keys = x.keys();
    if (keys != y.keys() || keys.empty())
      return 1e9;
    for (const std::string &k : keys) {
      torch::Tensor s, t;
      x.read(k, s, true);
      y.read(k, t, true);
      if (s.sizes() != t.sizes())
        return 1e9;
      worst = std::max(worst, (s.to(torch::kDouble) - t.to(torch::kDouble)).abs().max().item<double>());
    }
    return worst;
  }

  static QStringList withSettings(QStringList args, const QStringList &settings)
  {
    for (const QString &s : settings)
      args << QStringLiteral("--set") << s;
    return args;
  }

  // One process × batch 32 against 2 ranks × batch 16: losses step by step and the final weights.
  void compareWithOneProcess(const QString &name, const QStringList &settings, int expectedSteps)
  {
    const QString config = writeConfig(name);
    const QString one = path(name + QStringLiteral("-1")), two = path(name + QStringLiteral("-2"));
    const Result a = run(withSettings(
        {QStringLiteral("train"), config, QStringLiteral("--run-dir"), one, QStringLiteral("--quiet")},
        settings));
    QVERIFY2(a.exitCode == 0, qPrintable(a.err));
    const Result b = run(withSettings({QStringLiteral("train"), config, QStringLiteral("--nproc"),
                                       QStringLiteral("2"), QStringLiteral("--run-dir"), two},
                                      settings + QStringList{QStringLiteral("training.batch_size=16")}));
    QVERIFY2(b.exitCode == 0, qPrintable(b.err));
    const QList<QJsonObject> s1 = events(one, QStringLiteral("step")),
                             s2 = events(two, QStringLiteral("step"));
    QCOMPARE(s1.size(), expectedSteps);
    QCOMPARE(s2.size(), expectedSteps); // rank 0 alone wrote the log: no step twice
    double worst = 0;
    for (int i = 0; i < s1.size(); ++i) {
      QCOMPARE(s2[i].value(QStringLiteral("step")).toInt(), i + 1);
      worst = std::max(worst, std::abs(s1[i].value(QStringLiteral("loss")).toDouble() -
                                       s2[i].value(QStringLiteral("loss")).toDouble()));
    }
    QVERIFY2(worst <= 1e-5, qPrintable(QStringLiteral("largest loss difference %1").arg(worst)));
    const double weights =
        weightDifference(one + QStringLiteral("/state/model.pt"), two + QStringLiteral("/state/model.pt"));
    QVERIFY2(weights <= 1e-5, qPrintable(QStringLiteral("largest weight difference %1").arg(weights)));
    // The tokens counted are every rank's; the config records the world the run had.
    QCOMPARE(s2.last().value(QStringLiteral("tokens")).toDouble(),
             s1.last().value(QStringLiteral("tokens")).toDouble());
    QFile yaml(two + QStringLiteral("/config.yaml"));
    QVERIFY(yaml.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(yaml.readAll());
    QVERIFY(text.contains(QRegularExpression(QStringLiteral("processes: 2\\b"))));
    QVERIFY(text.contains(QStringLiteral("backend: gloo")));
    QVERIFY2(b.err.contains(QStringLiteral("data parallel: 2 processes")), qPrintable(b.err));
  }

  // A run's test predictions by row (a row written twice fails the test).
  static QMap<int, QString> predictions(const QString &run)
  {
    QMap<int, QString> out;
    QFile f(run + QStringLiteral("/test_predictions.jsonl"));
    if (!f.open(QIODevice::ReadOnly))
      return out;
    for (const QByteArray &line : f.readAll().split('\n'))
      if (!line.isEmpty()) {
        const QJsonObject j = QJsonDocument::fromJson(line).object();
        const int row = j.value(QStringLiteral("row")).toInt();
        if (out.contains(row))
          return {};
        out[row] = j.value(QStringLiteral("prediction")).toString();
      }
    return out;
  }

  // Test predictions of two runs: the same rows, each once, with the same labels.
  static void compareTestPredictions(const QString &one, const QString &two)
  {
    const QMap<int, QString> x = predictions(one), y = predictions(two);
    QVERIFY(x.size() > 100);
    QCOMPARE(y, x);
  }

  static qint64 steps(const QString &run) { return events(run, QStringLiteral("step")).size(); }

  // The interrupted runs' settings: dropout on, an evaluation every 10 steps, 2 epochs of batch 16.
  static QStringList interruptedSettings()
  {
    return {QStringLiteral("training.dropout=0.1"), QStringLiteral("evaluation.every_steps=10"),
            QStringLiteral("training.batch_size=16"), QStringLiteral("training.epochs=2")};
  }

  // The same 2-rank run left alone (made once, for the kill and the pause tests).
  QString uninterrupted()
  {
    const QString whole = path(QStringLiteral("uninterrupted"));
    if (!QFile::exists(whole + QStringLiteral("/results.json"))) {
      const Result r = run(
          withSettings({QStringLiteral("train"), writeConfig(QStringLiteral("interrupted")),
                        QStringLiteral("--nproc"), QStringLiteral("2"), QStringLiteral("--run-dir"), whole},
                       interruptedSettings()));
      if (r.exitCode != 0)
        qWarning("%s", qPrintable(r.err));
    }
    return whole;
  }

  // A run's test metric and its step losses equal those of the uninterrupted run.
  void compareWithUninterrupted(const QString &run)
  {
    const QJsonObject a = results(uninterrupted()), b = results(run);
    QCOMPARE(a.value(QStringLiteral("status")).toString(), QStringLiteral("finished"));
    QCOMPARE(b.value(QStringLiteral("status")).toString(), a.value(QStringLiteral("status")).toString());
    QCOMPARE(b.value(QStringLiteral("steps")).toInt(), a.value(QStringLiteral("steps")).toInt());
    const auto test = [](const QJsonObject &r, const char *name) {
      return r.value(QStringLiteral("test"))
          .toObject()
          .value(QStringLiteral("metrics"))
          .toObject()
          .value(QLatin1String(name))
          .toDouble();
    };
    QCOMPARE(test(b, "accuracy"), test(a, "accuracy"));
    QVERIFY(std::abs(test(b, "loss") - test(a, "loss")) < 1e-9);
    const QList<QJsonObject> x = events(uninterrupted(), QStringLiteral("step")),
                             y = events(run, QStringLiteral("step"));
    QCOMPARE(y.size(), x.size());
    for (int i = 0; i < x.size(); ++i)
      QVERIFY(std::abs(x[i].value(QStringLiteral("loss")).toDouble() -
                       y[i].value(QStringLiteral("loss")).toDouble()) < 1e-9);
  }

  // Starts the interrupted runs' 2-rank training in `p` and waits until rank 0 logged `step` steps;
  // returns the ranks' pids.
  QStringList startAndWaitForStep(QProcess &p, const QString &runDir, int step, const QStringList &more = {})
  {
    p.setProcessEnvironment(env());
    p.start(m_cli, withSettings({QStringLiteral("train"), writeConfig(QStringLiteral("interrupted")),
                                 QStringLiteral("--nproc"), QStringLiteral("2"), QStringLiteral("--run-dir"),
                                 runDir},
                                interruptedSettings() + more));
    if (!p.waitForStarted())
      return {};
    QElapsedTimer timer;
    timer.start();
    while (steps(runDir) < step && p.state() == QProcess::Running && timer.elapsed() < 300000)
      QTest::qWait(10);
    const QString started = QString::fromUtf8(p.readAllStandardError());
    const QRegularExpressionMatch pids =
        QRegularExpression(QStringLiteral("pids (\\d+), (\\d+)")).match(started);
    return p.state() == QProcess::Running && pids.hasMatch() ? QStringList{pids.captured(1), pids.captured(2)}
                                                             : QStringList{};
  }

private Q_SLOTS:
  void initTestCase()
  {
    m_cli = qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli");
    QVERIFY2(QFile::exists(m_cli), "set TUNEBENCH_BIN_DIR to the folder of tunebench-cli");
    QVERIFY(m_dir.isValid());
    torch::set_num_threads(1);
    // BERT-mini's shape (Turc et al. 2019) with bert-base-uncased's vocabulary, weights random.
    QVERIFY(QDir().mkpath(path(QStringLiteral("bert-mini"))));
    for (const QString &file :
         QDir(tunebench::testing::assetPath(QStringLiteral("tokenizers/bert-base-uncased")))
             .entryList(QDir::Files))
      QVERIFY(
          QFile::copy(tunebench::testing::assetPath(QStringLiteral("tokenizers/bert-base-uncased/")) + file,
                      path(QStringLiteral("bert-mini/")) + file));
    QFile config(path(QStringLiteral("bert-mini/config.json")));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write("{\"model_type\": \"bert\", \"hidden_size\": 256, \"num_hidden_layers\": 4, "
                 "\"num_attention_heads\": 4,\n"
                 " \"intermediate_size\": 1024, \"vocab_size\": 30522, \"max_position_embeddings\": 512,\n"
                 " \"type_vocab_size\": 2, \"hidden_act\": \"gelu\", \"hidden_dropout_prob\": 0.1,\n"
                 " \"attention_probs_dropout_prob\": 0.1, \"layer_norm_eps\": 1e-12, \"pad_token_id\": 0}\n");
  }

  // 30 steps of full fine-tuning; the whole evaluation agrees row by row.
  void fullMatchesOneProcess()
  {
    compareWithOneProcess(QStringLiteral("full"), {QStringLiteral("strategy.name=full")}, 35);
    compareTestPredictions(path(QStringLiteral("full-1")), path(QStringLiteral("full-2")));
    const QJsonObject a = results(path(QStringLiteral("full-1"))),
                      b = results(path(QStringLiteral("full-2")));
    QCOMPARE(b.value(QStringLiteral("test"))
                 .toObject()
                 .value(QStringLiteral("metrics"))
                 .toObject()
                 .value(QStringLiteral("accuracy"))
                 .toDouble(),
             a.value(QStringLiteral("test"))
                 .toObject()
                 .value(QStringLiteral("metrics"))
                 .toObject()
                 .value(QStringLiteral("accuracy"))
                 .toDouble());
  }

  void loraMatchesOneProcess()
  {
    compareWithOneProcess(QStringLiteral("lora"), {QStringLiteral("strategy.name=lora")}, 35);
  }

  // Gradient accumulation 2: 15 steps of two micro-batches, the all-reduce on the second only.
  void accumulationMatchesOneProcess()
  {
    compareWithOneProcess(
        QStringLiteral("accumulate"),
        {QStringLiteral("strategy.name=full"), QStringLiteral("training.gradient_accumulation=2")}, 18);
    compareWithOneProcess(
        QStringLiteral("accumulate-lora"),
        {QStringLiteral("strategy.name=lora"), QStringLiteral("training.gradient_accumulation=2")}, 18);
  }
  // kill -9 of rank 1 mid-epoch: rank 0 stops within the timeout naming rank 1 and the run is
  // interrupted; a resume with 3 processes is refused; `resume` (2, as trained) ends with the
  // uninterrupted run's metrics. Dropout on: each rank's own masks are saved and restored.
  void killedRankStopsTheRunAndResumes()
  {
    const QString cut = path(QStringLiteral("kill-cut"));
    QVERIFY(QFile::exists(uninterrupted() + QStringLiteral("/results.json")));
    QProcess p;
    const QStringList pids = startAndWaitForStep(p, cut, 15);
    QVERIFY2(pids.size() == 2, "the run ended before it could be interrupted");
    QVERIFY(::kill(static_cast<pid_t>(pids[1].toLongLong()), SIGKILL) == 0);
    QElapsedTimer stopping;
    stopping.start();
    QVERIFY(p.waitForFinished(120000));
    QVERIFY2(stopping.elapsed() < 60000,
             qPrintable(QStringLiteral("rank 0 took %1 ms").arg(stopping.elapsed())));
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QCOMPARE(p.exitCode(), 130);
    QVERIFY2(err.contains(QStringLiteral("rank 1 stopped answering")), qPrintable(err));
    QVERIFY2(
        err.contains(QStringLiteral("rank 1 (pid ") + pids[1] + QStringLiteral(") was killed by signal 9")),
        qPrintable(err));
    QCOMPARE(results(cut).value(QStringLiteral("status")).toString(), QStringLiteral("interrupted"));

    const Result other = run({QStringLiteral("resume"), cut, QStringLiteral("--nproc"), QStringLiteral("3")});
    QCOMPARE(other.exitCode, 3);
    QVERIFY2(other.err.contains(QStringLiteral("trained by 2 process(es)")), qPrintable(other.err));

    const Result resumed = run({QStringLiteral("resume"), cut, QStringLiteral("--quiet")});
    QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
    compareWithUninterrupted(cut);
  }

  // Pausing rank 0 (what the workbench's Pause does to the rank it trains; SIGUSR1 from the command
  // line) holds every rank between steps for longer than the collective timeout (5 s here) without
  // either taking the other for dead; going on (SIGUSR2) ends as the uninterrupted run.
  void pauseHoldsEveryRank()
  {
    const QString held = path(QStringLiteral("paused"));
    QVERIFY(QFile::exists(uninterrupted() + QStringLiteral("/results.json")));
    QProcess p;
    const QStringList pids =
        startAndWaitForStep(p, held, 8, {QStringLiteral("training.distributed.timeout=5")});
    QVERIFY2(pids.size() == 2, "the run ended before it could be paused");
    QVERIFY(::kill(static_cast<pid_t>(pids[0].toLongLong()), SIGUSR1) == 0);
    QTest::qWait(3000); // a step under way ends
    const qint64 at = steps(held);
    QTest::qWait(8000);
    QCOMPARE(steps(held), at);
    QCOMPARE(p.state(), QProcess::Running);
    for (const QString &pid : pids)
      QVERIFY2(::kill(static_cast<pid_t>(pid.toLongLong()), 0) == 0, qPrintable(pid));
    QVERIFY(::kill(static_cast<pid_t>(pids[0].toLongLong()), SIGUSR2) == 0);
    QVERIFY(p.waitForFinished(300000));
    QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
    QVERIFY(steps(held) > at);
    compareWithUninterrupted(held);
  }

  // torchrun (Debian's, through the wrapper tunebench installs) starts the same binary: the default
  // experiment (shortened: 1,600 rows, one epoch) ends as under --nproc 2.
  void torchrunMatchesNproc()
  {
    const QString wrapper =
        qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/../lib/tunebench/torchrun.py");
    QVERIFY(QFile::exists(wrapper));
    const QString preset =
        tunebench::testing::sourcePath(QStringLiteral("resources/presets/sentiment-use-lite.yaml"));
    const QStringList settings{QStringLiteral("data.subset_rows=1600"), QStringLiteral("training.epochs=1")};
    const QString byNproc = path(QStringLiteral("default-nproc")),
                  byTorchrun = path(QStringLiteral("default-torchrun"));
    const Result a =
        run(withSettings({QStringLiteral("train"), preset, QStringLiteral("--nproc"), QStringLiteral("2"),
                          QStringLiteral("--run-dir"), byNproc, QStringLiteral("--quiet")},
                         settings));
    QVERIFY2(a.exitCode == 0, qPrintable(a.err));
    const QString port = QString::number(tunebench::freeLoopbackPort()); // torchrun's rendezvous
    const Result b = tunebench::testing::runCli(
        QStringLiteral("/usr/bin/python3"),
        withSettings({wrapper, QStringLiteral("--nproc_per_node"), QStringLiteral("2"),
                      QStringLiteral("--master_addr"), QStringLiteral("127.0.0.1"),
                      QStringLiteral("--master_port"), port, QStringLiteral("--no_python"), m_cli,
                      QStringLiteral("train"), preset, QStringLiteral("--run-dir"), byTorchrun,
                      QStringLiteral("--quiet")},
                     settings),
        env(), 600000);
    QVERIFY2(b.exitCode == 0, qPrintable(b.err + b.out));
    const auto accuracy = [](const QJsonObject &r) {
      return r.value(QStringLiteral("test"))
          .toObject()
          .value(QStringLiteral("metrics"))
          .toObject()
          .value(QStringLiteral("accuracy"))
          .toDouble();
    };
    QVERIFY(accuracy(results(byNproc)) > 0.6);
    QCOMPARE(accuracy(results(byTorchrun)), accuracy(results(byNproc)));
    QCOMPARE(steps(byTorchrun), steps(byNproc));
  }

  // The environment's mistakes are clear errors within the timeout, never a hang.
  void rendezvousErrorsAreClear()
  {
    const QString config = writeConfig(QStringLiteral("errors"));
    std::optional<BusyPort> busy(std::in_place);
    const quint16 port = busy->port();
    QVERIFY(port > 0);
    const auto asRank = [&](int rank, int world, quint16 port, const QStringList &extra = {}) {
      QProcessEnvironment e = env();
      e.insert(QStringLiteral("RANK"), QString::number(rank));
      e.insert(QStringLiteral("WORLD_SIZE"), QString::number(world));
      e.insert(QStringLiteral("MASTER_ADDR"), QStringLiteral("127.0.0.1"));
      e.insert(QStringLiteral("MASTER_PORT"), QString::number(port));
      return tunebench::testing::runCli(m_cli,
                                        QStringList{QStringLiteral("train"), config,
                                                    QStringLiteral("--quiet"), QStringLiteral("--set"),
                                                    QStringLiteral("training.distributed.timeout=5")} +
                                            extra,
                                        e, 60000);
    };
    const Result inUse = asRank(0, 2, port);
    QCOMPARE(inUse.exitCode, 3);
    QVERIFY2(inUse.err.contains(QStringLiteral("could not be opened")) &&
                 inUse.err.contains(QStringLiteral("MASTER_PORT")),
             qPrintable(inUse.err));
    busy.reset();
    const Result alone = asRank(0, 2, port);
    QCOMPARE(alone.exitCode, 3);
    QVERIFY2(alone.err.contains(QStringLiteral("rank(s) 1 of 2 did not join")), qPrintable(alone.err));
    const Result mismatch = asRank(0, 2, port, {QStringLiteral("--nproc"), QStringLiteral("3")});
    QCOMPARE(mismatch.exitCode, 3);
    QVERIFY2(mismatch.err.contains(QStringLiteral("WORLD_SIZE is 2 but --nproc says 3")),
             qPrintable(mismatch.err));
    // Two ranks that disagree on the world: rank 0 says which.
    QProcess other;
    QProcessEnvironment e = env();
    e.insert(QStringLiteral("RANK"), QStringLiteral("1"));
    e.insert(QStringLiteral("WORLD_SIZE"), QStringLiteral("3"));
    e.insert(QStringLiteral("MASTER_ADDR"), QStringLiteral("127.0.0.1"));
    e.insert(QStringLiteral("MASTER_PORT"), QString::number(port));
    other.setProcessEnvironment(e);
    other.start(m_cli, {QStringLiteral("train"), config, QStringLiteral("--quiet"), QStringLiteral("--set"),
                        QStringLiteral("training.distributed.timeout=5")});
    const Result zero = asRank(0, 2, port);
    QVERIFY(other.waitForFinished(60000));
    QCOMPARE(zero.exitCode, 3);
    QVERIFY2(zero.err.contains(QStringLiteral("world size mismatch: rank 0 expects 2 processes, rank 1")),
             qPrintable(zero.err));
    QCOMPARE(other.exitCode(), 3);
  }
};

QTEST_GUILESS_MAIN(TestDistributed)
#include "tst_distributed.moc"
