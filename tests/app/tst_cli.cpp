// tunebench-cli as a script sees it: output, exit codes, one-line errors.
#include "core/runtime/runtime.h"

#include "support/golden.h"

#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

class TestCli : public QObject
{
  Q_OBJECT

private:
  struct Result
  {
    int exitCode = -1;
    QString out;
    QString err;
  };

  Result run(const QStringList &args, const QProcessEnvironment &env = QProcessEnvironment::systemEnvironment())
  {
    QProcess process;
    process.setProcessEnvironment(env);
    process.start(m_cli, args);
    if (!process.waitForFinished(120000))
      return {};
    return {process.exitCode(), QString::fromUtf8(process.readAllStandardOutput()),
            QString::fromUtf8(process.readAllStandardError())};
  }

  QString m_cli;

private Q_SLOTS:
  void initTestCase()
  {
    m_cli = qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli");
    QVERIFY2(QFileInfo::exists(m_cli), qPrintable(m_cli));
  }

  // The acceptance line of the foundation: OpenBLAS and a thread count equal to the cores.
  void versionShowsBlasAndThreads()
  {
    const Result r = run({QStringLiteral("--version")});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.startsWith(QLatin1String("tunebench ")), qPrintable(r.out));
    const int cores = tunebench::usableCores();
    QVERIFY2(r.out.contains(QStringLiteral("threads:       %1 intra-op (%1 usable cores)").arg(cores)),
             qPrintable(r.out));
    QVERIFY2(r.out.contains(QLatin1String("BLAS:          OpenBLAS")), qPrintable(r.out));
    QVERIFY2(r.out.contains(QRegularExpression(QStringLiteral("sentencepiece: \\d+\\.\\d+"))), qPrintable(r.out));
    QVERIFY2(r.out.contains(QRegularExpression(QStringLiteral("LibTorch:      1\\.\\d+"))), qPrintable(r.out));
    // Qt's version comes from the GUI binary beside the CLI (core links no Qt).
    if (QFileInfo::exists(QFileInfo(m_cli).dir().filePath(QStringLiteral("tunebench"))))
      QVERIFY2(r.out.contains(QStringLiteral("Qt:            ") + QLatin1String(qVersion())), qPrintable(r.out));
  }

  // On a CPU with AVX-512 or AVX2, the CLI must not run OpenBLAS's generic Prescott kernels (what
  // OpenBLAS 0.3.21 falls back to on Xeons it does not know): it re-executes with a suitable core.
  void blasCoreSuitsTheCpu()
  {
    QFile cpuinfo(QStringLiteral("/proc/cpuinfo"));
    QVERIFY(cpuinfo.open(QIODevice::ReadOnly));
    const QString flags = QString::fromLatin1(cpuinfo.readAll());
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    if (env.contains(QStringLiteral("OPENBLAS_CORETYPE")))
      QSKIP("OPENBLAS_CORETYPE is set by this machine");
    const Result r = run({QStringLiteral("--version")}, env);
    QCOMPARE(r.exitCode, 0);
    if (flags.contains(QLatin1String(" avx512f ")) || flags.contains(QLatin1String(" avx2 ")))
      QVERIFY2(!r.out.contains(QLatin1String("core Prescott")), qPrintable(r.out));
    env.insert(QStringLiteral("TUNEBENCH_NO_BLAS_TUNING"), QStringLiteral("1"));
    const Result untuned = run({QStringLiteral("--version")}, env);
    QVERIFY2(!untuned.out.contains(QLatin1String("chosen by tunebench")), qPrintable(untuned.out));
  }

  // Where Debian's OpenMP build of OpenBLAS is installed beside the pthread one (the system
  // default), the CLI runs on it: one thread pool with LibTorch's (core/runtime/blascore.h).
  // TUNEBENCH_BLAS_OPENMP=0 keeps the system's choice.
  void blasRunsOnOpenMpWhereInstalled()
  {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    if (env.contains(QStringLiteral("TUNEBENCH_NO_BLAS_TUNING")) || env.contains(QStringLiteral("LD_LIBRARY_PATH")))
      QSKIP("BLAS tuning is off, or LD_LIBRARY_PATH is set, on this machine");
    env.insert(QStringLiteral("TUNEBENCH_BLAS_OPENMP"), QStringLiteral("0"));
    const Result kept = run({QStringLiteral("--version")}, env);
    QCOMPARE(kept.exitCode, 0);
    const QString systemPath = QRegularExpression(QStringLiteral("BLAS library:  (\\S+)")).match(kept.out).captured(1);
    QVERIFY2(!systemPath.isEmpty(), qPrintable(kept.out));
    QVERIFY2(!kept.out.contains(QLatin1String("chosen by tunebench: one thread pool")), qPrintable(kept.out));
    if (!systemPath.contains(QLatin1String("/openblas-pthread/")) ||
        !QFileInfo::exists(QFileInfo(systemPath).absolutePath() + QStringLiteral("/../openblas-openmp/libblas.so.3")))
      QSKIP("the system BLAS is not Debian's pthread OpenBLAS, or libopenblas0-openmp is not installed");
    env.remove(QStringLiteral("TUNEBENCH_BLAS_OPENMP"));
    const Result r = run({QStringLiteral("--version")}, env);
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains(QLatin1String("/openblas-openmp/libblas.so.3 (OpenMP build, chosen by tunebench")), qPrintable(r.out));
    QVERIFY2(r.out.contains(QLatin1String("USE_OPENMP")), qPrintable(r.out));
    // One pool: no shortened spin (that is the remedy for two pools only).
    if (!env.contains(QStringLiteral("GOMP_SPINCOUNT")))
      QVERIFY2(!r.out.contains(QLatin1String("GOMP_SPINCOUNT")), qPrintable(r.out));
  }

  // Large tensors come from tunebench's blocks (core/runtime/cpuallocator.h) unless
  // TUNEBENCH_MALLOC says heap or default; freed memory stays in glibc's heap for the next step
  // (core/runtime/runtime.h); the user's own malloc settings, or TUNEBENCH_MALLOC=default, keep
  // glibc's defaults; another TUNEBENCH_MALLOC is refused.
  void allocatorKeepsFreedMemory()
  {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char *name : {"GLIBC_TUNABLES", "MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                             "MALLOC_TOP_PAD_", "TUNEBENCH_MALLOC"})
      env.remove(QLatin1String(name));
    const Result blocks = run({QStringLiteral("--version")}, env);
    QVERIFY2(
        blocks.out.contains(QLatin1String(
            "allocator:     tensors of 256 KiB and more in tunebench's blocks (kept, joined, moved), below "
            "that glibc malloc, freed memory kept")),
        qPrintable(blocks.out));
    env.insert(QStringLiteral("TUNEBENCH_MALLOC"), QStringLiteral("heap"));
    const Result kept = run({QStringLiteral("--version")}, env);
    QVERIFY2(kept.out.contains(QLatin1String("allocator:     glibc malloc, freed memory kept")), qPrintable(kept.out));
    env.insert(QStringLiteral("TUNEBENCH_MALLOC"), QStringLiteral("mmap"));
    const Result wrong = run({QStringLiteral("--version")}, env);
    QVERIFY(wrong.exitCode != 0);
    QVERIFY2(
        wrong.err.contains(QLatin1String("TUNEBENCH_MALLOC: expected blocks, heap or default, got \"mmap\"")),
        qPrintable(wrong.err));
    env.insert(QStringLiteral("TUNEBENCH_MALLOC"), QStringLiteral("default"));
    const Result plain = run({QStringLiteral("--version")}, env);
    QVERIFY2(plain.out.contains(QLatin1String("allocator:     glibc malloc, as glibc or the environment sets it")), qPrintable(plain.out));
    env.remove(QStringLiteral("TUNEBENCH_MALLOC"));
    env.insert(QStringLiteral("GLIBC_TUNABLES"), QStringLiteral("glibc.malloc.trim_threshold=1048576"));
    const Result user = run({QStringLiteral("--version")}, env);
    QVERIFY2(user.out.contains(QLatin1String("as glibc or the environment sets it")), qPrintable(user.out));
  }

  // The bf16 linear maps' path (core/models/bf16linear.h) is said, and the switch that leaves the
  // casts to autocast is honoured.
  void bf16LinearPathIsShown()
  {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("TUNEBENCH_BF16_SHADOWS"));
    const Result kept = run({QStringLiteral("--version")}, env);
    QVERIFY2(kept.out.contains(QLatin1String("bf16 linear:   kept bf16 weight copies, products through oneDNN directly")),
             qPrintable(kept.out));
    env.insert(QStringLiteral("TUNEBENCH_BF16_SHADOWS"), QStringLiteral("0"));
    const Result off = run({QStringLiteral("--version")}, env);
    QVERIFY2(off.out.contains(QLatin1String("bf16 linear:   autocast's casts on every call")), qPrintable(off.out));
  }

  // `tokenize` end to end: stdin lines in, the reference's ids out (tests/golden/tokenizers).
  void tokenizeMatchesGolden()
  {
    const QString vocab = tunebench::testing::assetPath(QStringLiteral("tokenizers/bert-base-uncased/vocab.txt"));
    const auto lines = tunebench::testing::readLines(tunebench::testing::goldenDir(QStringLiteral("tokenizers/stress.txt")), 200);
    const auto expected = tunebench::testing::readIntRows(tunebench::testing::goldenDir(QStringLiteral("tokenizers/wordpiece.ids")));
    QProcess process;
    process.start(m_cli, {QStringLiteral("tokenize"), QStringLiteral("--tokenizer"), vocab,
                          QStringLiteral("--no-special-tokens")});
    QVERIFY(process.waitForStarted());
    for (const std::string &line : lines)
      process.write(QByteArray::fromStdString(line + "\n"));
    process.closeWriteChannel();
    QVERIFY(process.waitForFinished(60000));
    QCOMPARE(process.exitCode(), 0);
    const QList<QByteArray> out = process.readAllStandardOutput().split('\n');
    QVERIFY(out.size() >= static_cast<qsizetype>(lines.size()));
    for (std::size_t i = 0; i < lines.size(); ++i)
      QCOMPARE(out[static_cast<qsizetype>(i)].toStdString(), tunebench::testing::joinInts(expected[i]));
  }

  // `embed` end to end on USE-Lite: the TF.js reference's embeddings, one JSON vector per line.
  void embedMatchesTfjs()
  {
    QFile file(tunebench::testing::goldenDir(QStringLiteral("models/use-lite/embeddings.json")));
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonObject golden = QJsonDocument::fromJson(file.readAll()).object();
    QProcess process;
    process.start(m_cli, {QStringLiteral("embed"), tunebench::testing::assetPath(QStringLiteral("models/use-lite"))});
    QVERIFY(process.waitForStarted());
    for (int i = 0; i < 5; ++i)
      process.write(golden[QStringLiteral("sentences")].toArray()[i].toString().toUtf8() + "\n");
    process.closeWriteChannel();
    QVERIFY(process.waitForFinished(60000));
    QCOMPARE(process.exitCode(), 0);
    const QList<QByteArray> lines = process.readAllStandardOutput().trimmed().split('\n');
    QCOMPARE(lines.size(), 5);
    for (int i = 0; i < 5; ++i) {
      const QJsonArray got = QJsonDocument::fromJson(lines[i]).array();
      const QJsonArray want = golden[QStringLiteral("embeddings")].toArray()[i].toArray();
      QCOMPARE(got.size(), 512);
      double dot = 0, a = 0, b = 0;
      for (int k = 0; k < 512; ++k) {
        dot += got[k].toDouble() * want[k].toDouble();
        a += got[k].toDouble() * got[k].toDouble();
        b += want[k].toDouble() * want[k].toDouble();
      }
      QVERIFY(dot / std::sqrt(a * b) >= 0.9999);
    }
  }

  void threadsOption()
  {
    const Result r = run({QStringLiteral("--threads"), QStringLiteral("1"), QStringLiteral("version")});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains(QLatin1String("threads:       1 intra-op")), qPrintable(r.out));
  }

  // Every command (and the data and runs sub-commands) answers --help on stdout with its usage
  // line, its options or sub-commands and an example, exit 0; `help CMD` says the same.
  void everyCommandAnswersHelp_data()
  {
    QTest::addColumn<QStringList>("command");
    QTest::addColumn<QString>("option"); // one option its help must list ("" for none)
    const auto row = [](const char *name, QStringList command, const char *option) {
      QTest::newRow(name) << command << QString::fromUtf8(option);
    };
    row("version", {QStringLiteral("version")}, "");
    row("doctor", {QStringLiteral("doctor")}, "--quick");
    row("data", {QStringLiteral("data")}, "check FILE");
    row("data check", {QStringLiteral("data"), QStringLiteral("check")}, "--max-length VALUE");
    row("inspect", {QStringLiteral("inspect")}, "--json");
    row("embed", {QStringLiteral("embed")}, "--batch VALUE");
    row("tokenize", {QStringLiteral("tokenize")}, "--tokenizer VALUE");
    row("train", {QStringLiteral("train")}, "--set VALUE");
    row("resume", {QStringLiteral("resume")}, "--quiet");
    row("cv", {QStringLiteral("cv")}, "--folds VALUE");
    row("eval", {QStringLiteral("eval")}, "--split VALUE");
    row("ensemble", {QStringLiteral("ensemble")}, "--split VALUE");
    row("sweep", {QStringLiteral("sweep")}, "--grid VALUE");
    row("runs", {QStringLiteral("runs")}, "compare");
    row("runs list", {QStringLiteral("runs"), QStringLiteral("list")}, "--limit VALUE");
    row("export", {QStringLiteral("export")}, "--out VALUE");
    row("predict", {QStringLiteral("predict")}, "--text VALUE");
  }
  void everyCommandAnswersHelp()
  {
    QFETCH(QStringList, command);
    QFETCH(QString, option);
    const Result r = run(command + QStringList{QStringLiteral("--help")});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.startsWith(QStringLiteral("usage: tunebench-cli ") + command.front()), qPrintable(r.out));
    QVERIFY2(r.out.contains(QLatin1String("\nexample:\n  ")), qPrintable(r.out));
    QVERIFY2(option.isEmpty() ? r.out.contains(QLatin1String("(none)")) : r.out.contains(option),
             qPrintable(r.out));
    QVERIFY2(r.err.isEmpty(), qPrintable(r.err));
    const Result h = run(QStringList{QStringLiteral("help")} + command);
    QCOMPARE(h.exitCode, 0);
    if (command.size() == 1) // `help data check` is `data --help check`: the sub-commands
      QCOMPARE(h.out, r.out);
  }

  void errorsAreOneLine_data()
  {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown command") << QStringList{QStringLiteral("verison")} << 2
                                     << QStringLiteral("did you mean \"version\"");
    QTest::newRow("bad threads") << QStringList{QStringLiteral("--threads"), QStringLiteral("zero"),
                                                QStringLiteral("version")}
                                 << 2 << QStringLiteral("--threads: expected a positive integer");
    QTest::newRow("unknown option") << QStringList{QStringLiteral("doctor"), QStringLiteral("--quik")} << 2
                                    << QStringLiteral("did you mean --quick");
    // Every bad command line exits 2 (a bad file or config exits 3).
    QTest::newRow("unknown global option")
        << QStringList{QStringLiteral("--bogus")} << 2 << QStringLiteral("unknown global option --bogus");
    QTest::newRow("data check without a file") << QStringList{QStringLiteral("data"), QStringLiteral("check")}
                                               << 2 << QStringLiteral("data check needs one data file");
    QTest::newRow("unknown task") << QStringList{QStringLiteral("data"), QStringLiteral("check"),
                                                 QStringLiteral("x.csv"), QStringLiteral("--task"),
                                                 QStringLiteral("bogus")}
                                  << 2 << QStringLiteral("--task: unknown task \"bogus\"");
    QTest::newRow("train without a config")
        << QStringList{QStringLiteral("train")} << 2 << QStringLiteral("train needs one CONFIG.yaml");
    QTest::newRow("option without its value")
        << QStringList{QStringLiteral("cv"), QStringLiteral("x.yaml"), QStringLiteral("--folds")} << 2
        << QStringLiteral("option --folds needs a value");
    QTest::newRow("unknown runs sub-command") << QStringList{QStringLiteral("runs"), QStringLiteral("bogus")}
                                              << 2 << QStringLiteral("runs: unknown sub-command \"bogus\"");
    QTest::newRow("sweep without points") << QStringList{QStringLiteral("sweep"), QStringLiteral("x.yaml")}
                                          << 2 << QStringLiteral("sweep needs --grid");
    QTest::newRow("missing config file")
        << QStringList{QStringLiteral("train"), QStringLiteral("no-such.yaml")} << 3
        << QStringLiteral("no-such.yaml");
    QTest::newRow("no command") << QStringList{} << 2 << QStringLiteral("usage:");
  }

  void errorsAreOneLine()
  {
    QFETCH(QStringList, args);
    QFETCH(int, exitCode);
    QFETCH(QString, message);
    const Result r = run(args);
    QCOMPARE(r.exitCode, exitCode);
    QVERIFY2(r.err.contains(message), qPrintable(r.err));
    if (!message.startsWith(QLatin1String("usage")))
      QCOMPARE(r.err.trimmed().count(QLatin1Char('\n')), 0);
  }

  void doctorPassesOnThisMachine()
  {
    const Result r = run({QStringLiteral("doctor"), QStringLiteral("--quick")});
    QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
    QVERIFY(r.out.contains(QLatin1String("all checks passed")));
    QVERIFY(r.out.contains(QLatin1String("[ok]   sentencepiece shim loads")));
  }

  // With the reference BLAS forced in, doctor must notice and fail (the ~40x slow-down trap).
  void doctorFlagsReferenceBlas()
  {
    const QString reference = QStringLiteral("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3");
    if (!QFileInfo::exists(reference))
      QSKIP("the reference BLAS (libblas3) is not installed");
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("LD_PRELOAD"), reference);
    const Result r = run({QStringLiteral("doctor"), QStringLiteral("--quick")}, env);
    // OpenBLAS's libopenblas may still load beside it (LAPACK); sgemm_ must come from the reference.
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.out.contains(QLatin1String("[FAIL] BLAS is reference BLAS")), qPrintable(r.out));
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
