// Data-parallel training on c10d (Gloo, 127.0.0.1 only): 2 ranks × batch 16 train exactly as one
// process × batch 32 (every step's loss and the final weights within 1e-5, with and without
// gradient accumulation, full and LoRA, a short last batch included); evaluation is sharded and
// gathered without losing or repeating a row; torchrun starts the same binary with the same result
// as --nproc; a world-size mismatch and a port in use are clear errors (runs interrupted:
// tst_rankfaults).
#include "core/runtime/distributed.h"
#include "support/rankruns.h"

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

class TestDistributed : public QObject, tunebench::testing::RankRuns
{
  Q_OBJECT

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
    const QList<QJsonObject> s1 = tunebench::testing::runEvents(one, QStringLiteral("step")),
                             s2 = tunebench::testing::runEvents(two, QStringLiteral("step"));
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

private Q_SLOTS:
  void initTestCase()
  {
    const QString problem = prepare();
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
  }

  // 30 steps of full fine-tuning; the whole evaluation agrees row by row.
  void fullMatchesOneProcess()
  {
    compareWithOneProcess(QStringLiteral("full"), {QStringLiteral("strategy.name=full")}, 35);
    compareTestPredictions(path(QStringLiteral("full-1")), path(QStringLiteral("full-2")));
    QCOMPARE(testMetric(results(path(QStringLiteral("full-2"))), "accuracy"),
             testMetric(results(path(QStringLiteral("full-1"))), "accuracy"));
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
    QVERIFY(testMetric(results(byNproc), "accuracy") > 0.6);
    QCOMPARE(testMetric(results(byTorchrun), "accuracy"), testMetric(results(byNproc), "accuracy"));
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
