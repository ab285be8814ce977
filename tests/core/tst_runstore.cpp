// The run history: schema and migrations, batched writes, queries (filters on config keys and
// summary metrics, sorting), comparison (config diff, summaries, series), exports, bundles with
// unsafe paths refused, housekeeping, and a writer killed mid-transaction.
#include "core/runs/groupcurves.h"
#include "core/runs/rungroups.h"
#include "core/runs/runstore.h"
#include "core/runs/sweeptable.h"
#include "core/util/error.h"
#include "core/util/sha256.h"

#include <QtTest/QtTest>

#include <sqlite3.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace tunebench;

namespace {

std::string configYaml(const std::string &strategy, double lr)
{
  return "name: r\nstrategy:\n  name: " + strategy + "\ntraining:\n  learning_rate: " + std::to_string(lr) +
         "\n  epochs: 3\n";
}

} // namespace

class TestRunStore : public QObject
{
  Q_OBJECT

  QTemporaryDir m_dir;
  std::filesystem::path ws() const { return m_dir.filePath(QStringLiteral("ws")).toStdString(); }

private Q_SLOTS:
  void sha256KnownAnswers()
  {
    QCOMPARE(QString::fromStdString(sha256Hex("")),
             QStringLiteral("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    QCOMPARE(QString::fromStdString(sha256Hex("abc")),
             QStringLiteral("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    QCOMPARE(QString::fromStdString(sha256Hex(std::string(1000000, 'a'))),
             QStringLiteral("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
  }

  void schemaAndPragmas()
  {
    RunStore store(ws());
    QCOMPARE(store.schemaVersion(), RunStore::kSchemaVersion);
    QCOMPARE(QString::fromStdString(store.integrityCheck()), QStringLiteral("ok"));
    sqlite3 *db = nullptr;
    QCOMPARE(sqlite3_open(store.databasePath().string().c_str(), &db), SQLITE_OK);
    sqlite3_stmt *s = nullptr;
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, nullptr);
    QCOMPARE(sqlite3_step(s), SQLITE_ROW);
    QCOMPARE(QString::fromLatin1(reinterpret_cast<const char *>(sqlite3_column_text(s, 0))), QStringLiteral("wal"));
    sqlite3_finalize(s);
    sqlite3_close(db);
  }

  // Opened read-only the history is never written (the same bytes and modification time, no
  // workspace made where there is none), and a run left "running" by a process that is gone
  // reads as interrupted without being rewritten. A write through it is refused with the file.
  void readOnlyNeverWrites()
  {
    const std::filesystem::path ro = m_dir.filePath(QStringLiteral("readonly")).toStdString();
    std::int64_t id = 0;
    {
      RunStore store(ro);
      id = store.createRun("gone", ro / "gone", configYaml("full", 1e-4));
    }
    sqlite3 *db = nullptr;
    QCOMPARE(sqlite3_open((ro / "runs.sqlite").string().c_str(), &db), SQLITE_OK);
    QCOMPARE(sqlite3_exec(db,
                          "PRAGMA wal_checkpoint(TRUNCATE); UPDATE runs SET pid=2147483646; PRAGMA "
                          "wal_checkpoint(TRUNCATE)",
                          nullptr, nullptr, nullptr),
             SQLITE_OK);
    sqlite3_close(db);
    auto snapshot = [&] {
      QByteArray all;
      for (const char *name : {"runs.sqlite"}) {
        QFile f(QString::fromStdString((ro / name).string()));
        if (f.open(QIODevice::ReadOnly))
          all += f.readAll() + QByteArray::number(QFileInfo(f).lastModified().toMSecsSinceEpoch());
      }
      return all;
    };
    const QByteArray before = snapshot();
    {
      RunStore store(ro, RunStore::Access::ReadOnly);
      const std::vector<RunRecord> runs = store.list();
      QCOMPARE(runs.size(), std::size_t(1));
      QCOMPARE(QString::fromStdString(runs[0].status), QStringLiteral("interrupted"));
      QCOMPARE(QString::fromStdString(store.run(id).status), QStringLiteral("interrupted"));
      try {
        store.setNotes(id, "x");
        QFAIL("a read-only store was written");
      } catch (const Error &e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1String("runs.sqlite")), e.what());
      }
    }
    QCOMPARE(snapshot(), before);
    // No history yet: an empty list, and nothing is created.
    const std::filesystem::path none = m_dir.filePath(QStringLiteral("no-workspace")).toStdString();
    {
      RunStore store(none, RunStore::Access::ReadOnly);
      QVERIFY(store.list().empty());
    }
    QVERIFY(!std::filesystem::exists(none));
    // Opened for writing, the gone run is marked interrupted in the file.
    RunStore writer(ro);
    QCOMPARE(
        QString::fromStdString(writer.run(id).reason).contains(QLatin1String("process training it ended")),
        true);
  }

  // A history written by the schema before run ids (v1) is migrated when opened for writing: its
  // rows are kept, the uid column is there, and a row takes a run id.
  void schemaOneIsMigrated()
  {
    const std::filesystem::path old = m_dir.filePath(QStringLiteral("schema-one")).toStdString();
    std::int64_t id = 0;
    {
      RunStore store(old);
      id = store.createRun("old-run", old / "old-run", configYaml("full", 1e-4));
    }
    sqlite3 *db = nullptr;
    QCOMPARE(sqlite3_open((old / "runs.sqlite").string().c_str(), &db), SQLITE_OK);
    QCOMPARE(sqlite3_exec(db, "DROP INDEX runs_uid; ALTER TABLE runs DROP COLUMN uid; PRAGMA user_version=1",
                          nullptr, nullptr, nullptr),
             SQLITE_OK);
    sqlite3_close(db);
    {
      RunStore readOnly(old, RunStore::Access::ReadOnly); // reads a v1 file as it is
      QCOMPARE(readOnly.schemaVersion(), 1);
      QCOMPARE(QString::fromStdString(readOnly.run(id).name), QStringLiteral("old-run"));
    }
    RunStore store(old);
    QCOMPARE(store.schemaVersion(), RunStore::kSchemaVersion);
    QCOMPARE(QString::fromStdString(store.run(id).name), QStringLiteral("old-run"));
    // A resume of that run's folder (no run.json yet) takes the old row and gives it the id.
    QCOMPARE(store.openRun("0123abcd", true, "old-run", old / "old-run", configYaml("full", 1e-4)), id);
    QCOMPARE(store.findByUid("0123abcd").value_or(0), id);
    // A new run in the same folder path gets a row of its own.
    QVERIFY(store.openRun("4567ef01", false, "new-run", old / "old-run", configYaml("full", 1e-4)) != id);
  }

  void newerSchemaIsRefused()
  {
    const std::filesystem::path other = m_dir.filePath(QStringLiteral("newer")).toStdString();
    std::filesystem::create_directories(other);
    sqlite3 *db = nullptr;
    sqlite3_open((other / "runs.sqlite").string().c_str(), &db);
    sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    try {
      RunStore store(other);
      QFAIL("a newer schema was opened");
    } catch (const Error &e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1String("newer tunebench")), e.what());
    }
  }

  // Runs grouped by a config key or by their parent: per group the runs, and per summary metric
  // n, mean, std (n − 1) and the 95% interval mean ± t(0.975, n − 1)·sd/√n, with t(0.975, 2) =
  // 4.302652729749464 (SciPy's t.ppf, tests/golden/stats/groups.json).
  void groupsRunsByAKey()
  {
    const std::filesystem::path w = m_dir.filePath(QStringLiteral("groups")).toStdString();
    RunStore store(w);
    const std::int64_t plan = store.createRun("plan", w / "plan", configYaml("lora", 1e-4));
    std::vector<std::int64_t> lora, full;
    for (double acc : {0.80, 0.82, 0.81}) {
      lora.push_back(store.createRun("lora", w / std::to_string(acc), configYaml("lora", 1e-4), plan));
      store.setSummary(lora.back(), "test", "accuracy", acc);
    }
    for (double acc : {0.78, 0.79}) {
      full.push_back(store.createRun("full", w / std::to_string(acc + 1), configYaml("full", 3e-5)));
      store.setSummary(full.back(), "test", "accuracy", acc);
    }
    store.flush();
    store.setSummary(plan, "test", "accuracy", 0.81); // the plan's own record: its children's mean
    store.flush();
    std::vector<RunRecord> runs = {store.run(plan)};
    for (std::int64_t id : lora)
      runs.push_back(store.run(id));
    for (std::int64_t id : full)
      runs.push_back(store.run(id));

    const std::vector<RunGroup> byStrategy = groupRuns(store, runs, "strategy.name");
    QCOMPARE(byStrategy.size(), std::size_t(2));
    QCOMPARE(byStrategy[0].value, std::string("lora"));
    QCOMPARE(byStrategy[0].runs, lora);
    const MetricSummary l = byStrategy[0].metrics.at("test.accuracy");
    QCOMPARE(l.n, std::size_t(3));
    QVERIFY(std::abs(l.mean - 0.81) < 1e-12);
    QVERIFY(std::abs(l.std - 0.01) < 1e-12);
    const double half = 4.302652729749464 * 0.01 / std::sqrt(3.0);
    QVERIFY(std::abs(l.low - (0.81 - half)) < 1e-9 && std::abs(l.high - (0.81 + half)) < 1e-9);
    const MetricSummary f = byStrategy[1].metrics.at("test.accuracy");
    QCOMPARE(f.n, std::size_t(2));
    QVERIFY(std::abs(f.mean - 0.785) < 1e-12);

    const std::vector<RunGroup> byParent = groupRuns(store, runs, "parent");
    QCOMPARE(byParent.size(), std::size_t(3)); // the plan's three runs, then each full run alone
    QCOMPARE(byParent[0].value, "run " + std::to_string(plan));
    QCOMPARE(byParent[0].runs.size(), std::size_t(3));
    QVERIFY(std::isnan(byParent[1].metrics.at("test.accuracy").low)); // one run: no interval
    QCOMPARE(groupRuns(store, runs, "no.such.key").front().value, std::string("(unset)"));
    // `runs export --group-by`: one row per group with n, mean, std and the interval per metric.
    const std::string csv = groupsCsv("strategy.name", byStrategy);
    QVERIFY2(csv.rfind("strategy.name,runs,test.accuracy.n,test.accuracy.mean,test.accuracy.std,"
                       "test.accuracy.ci_low,test.accuracy.ci_high\n",
                       0) == 0,
             csv.c_str());
    QVERIFY2(csv.find("\nfull," + std::to_string(full[0]) + " " + std::to_string(full[1]) + ",2,0.785,") !=
                 std::string::npos,
             csv.c_str());
    const nlohmann::json j = groupsJson("strategy.name", byStrategy);
    QCOMPARE(j[0]["metrics"]["test.accuracy"]["n"].get<int>(), 3);
    QVERIFY(std::abs(j[0]["metrics"]["test.accuracy"]["ci95"][1].get<double>() - (0.81 + half)) < 1e-9);
  }

  // A group's curve: each run's points joined by straight lines (never past its own range), the
  // mean and the band at every x any run has; EMA smoothing per run first; x by epoch (steps of
  // the first epoch) and by tokens (the count at or before the step). Values worked by hand.
  void groupCurves()
  {
    const std::filesystem::path w = m_dir.filePath(QStringLiteral("curves")).toStdString();
    RunStore store(w);
    const std::int64_t a = store.createRun("a", w / "a", configYaml("full", 1e-4));
    const std::int64_t b = store.createRun("b", w / "b", configYaml("full", 1e-4));
    for (long step : {2L, 4L, 6L}) // a: 1.0, 0.8, 0.6 at steps 2, 4, 6
      store.addMetric(a, "validation", "loss", step, step > 4 ? 1 : 0, 0,
                      1.2 - 0.1 * static_cast<double>(step));
    store.addMetric(b, "validation", "loss", 3, 0, 0, 0.9); // b: 0.9 at 3, 0.5 at 5
    store.addMetric(b, "validation", "loss", 5, 1, 0, 0.5);
    for (long step = 1; step <= 6; ++step) {
      store.addMetric(a, "train", "loss", step, step > 4 ? 1 : 0, 0, 1.0);
      store.addMetric(b, "train", "loss", step, step > 4 ? 1 : 0, 0, 1.0);
      store.addMetric(a, "train", "tokens", step, 0, 0, 100.0 * static_cast<double>(step));
    }
    store.flush();
    CurveOptions o;
    const GroupCurve g = groupCurve(store, {a, b}, o);
    QCOMPARE(g.x, (std::vector<double>{2, 3, 4, 5, 6}));
    QCOMPARE(g.runs, (std::vector<int>{1, 2, 2, 2, 1}));
    // at 3: a 0.9 (between 1.0 and 0.8), b 0.9; at 4: a 0.8, b 0.7; at 5: a 0.7, b 0.5
    const std::vector<double> mean = {1.0, 0.9, 0.75, 0.6, 0.6}, low = {1.0, 0.9, 0.7, 0.5, 0.6},
                              high = {1.0, 0.9, 0.8, 0.7, 0.6};
    for (std::size_t k = 0; k < 5; ++k) {
      QVERIFY2(std::abs(g.mean[k] - mean[k]) < 1e-12, qPrintable(QString::number(k)));
      QVERIFY(std::abs(g.low[k] - low[k]) < 1e-12 && std::abs(g.high[k] - high[k]) < 1e-12);
    }
    o.band = CurveBand::ConfidenceInterval; // at 4: mean 0.75, sd 0.0707…, t(0.975, 1) = 12.706204736174698
    const GroupCurve ci = groupCurve(store, {a, b}, o);
    const double half = 12.706204736174698 * std::sqrt(0.005) / std::sqrt(2.0);
    QVERIFY(std::abs(ci.low[2] - (0.75 - half)) < 1e-9 && std::abs(ci.high[2] - (0.75 + half)) < 1e-9);
    QCOMPARE(ci.low[0], 1.0); // one run: the mean alone
    o.smoothing = 0.5;        // a: 1.0, 0.9, 0.75
    QVERIFY(std::abs(runCurve(store, a, o).back().second - 0.75) < 1e-12);
    o.smoothing = 0;
    o.axis = CurveAxis::Epoch; // 4 steps in the first epoch
    QCOMPARE(runCurve(store, a, o).front().first, 0.5);
    o.axis = CurveAxis::Tokens;
    QCOMPARE(runCurve(store, a, o).back().first, 600.0);
    try {
      groupCurve(store, {a, b}, o);
      QFAIL("a run without token counts was plotted by tokens");
    } catch (const Error &e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("run %1 has no token counts").arg(b)),
               e.what());
    }
  }

  // A sweep's table: the keys that differ (seed and name left out), numbers sorted by value, log
  // scale when they span 100×; η² by hand: learning rate 0.04 / 0.05 = 0.8, epochs 0.01 / 0.05 = 0.2.
  void sweepTableAndImportance()
  {
    const std::filesystem::path w = m_dir.filePath(QStringLiteral("sweep")).toStdString();
    RunStore store(w);
    std::vector<std::int64_t> runs;
    const std::vector<std::tuple<double, int, double>> grid = {
        {1e-2, 8, 0.6}, {1e-2, 16, 0.7}, {1e-4, 8, 0.8}, {1e-4, 16, 0.9}};
    for (const auto &[lr, epochs, accuracy] : grid) {
      const std::string yaml = "name: r" + std::to_string(runs.size()) +
                               "\nseed: " + std::to_string(runs.size()) +
                               "\ntraining:\n  learning_rate: " + std::to_string(lr) +
                               "\n  epochs: " + std::to_string(epochs) + "\n";
      runs.push_back(store.createRun("r", w / std::to_string(runs.size()), yaml));
      store.setSummary(runs.back(), "test", "accuracy", accuracy);
    }
    const std::int64_t none = store.createRun("r", w / "none", "name: x\n"); // no metric: left out
    runs.push_back(none);
    store.flush();
    const SweepTable t = sweepTable(store, runs, "test.accuracy");
    QCOMPARE(t.runs.size(), std::size_t(4));
    QCOMPARE(t.keys.size(), std::size_t(2));
    QCOMPARE(t.keys[0].name, std::string("training.epochs"));
    QCOMPARE(t.keys[1].name, std::string("training.learning_rate"));
    QVERIFY(t.keys[1].numeric && t.keys[1].log && !t.keys[0].log);
    QCOMPARE(QString::fromStdString(t.keys[1].levels.front()).toDouble(), 1e-4); // by value, not by text
    const std::vector<double> eta = keyImportance(t);
    QVERIFY2(std::abs(eta[0] - 0.2) < 1e-12, qPrintable(QString::number(eta[0])));
    QVERIFY2(std::abs(eta[1] - 0.8) < 1e-12, qPrintable(QString::number(eta[1])));
  }

  void writeQueryCompare()
  {
    RunStore store(ws());
    const std::int64_t a = store.createRun("lora-run", ws() / "a", configYaml("lora", 1e-4));
    const std::int64_t b = store.createRun("full-run", ws() / "b", configYaml("full", 3e-5));
    const std::int64_t c = store.createRun("full-run-2", ws() / "c", configYaml("full", 5e-5), b, {"seed"});
    for (long step = 1; step <= 100; ++step) {
      store.addMetric(a, "train", "loss", step, 0, step * 0.1, 1.0 / static_cast<double>(step));
      store.addMetric(b, "train", "loss", step, 0, step * 0.1, 2.0 / static_cast<double>(step));
    }
    QCOMPARE(store.pending(), std::size_t(200));
    // Nothing is visible to another reader until the batch commits.
    {
      RunStore reader(ws());
      QCOMPARE(reader.series(a, "train", "loss").size(), std::size_t(0));
    }
    store.flush();
    {
      RunStore reader(ws());
      QCOMPARE(reader.series(a, "train", "loss").size(), std::size_t(100));
    }
    store.setSummary(a, "test", "accuracy", 0.81);
    store.setSummary(b, "test", "accuracy", 0.85);
    store.setSummary(c, "test", "accuracy", 0.79);
    store.setStatus(a, RunStatus::Finished, "done", 12.5);
    store.setStatus(b, RunStatus::Finished, "done", 20);
    store.setStatus(c, RunStatus::Failed, "NaN loss", 3);
    store.flush();

    RunQuery q;
    q.filters = {RunFilter::parse("strategy.name=full")};
    QCOMPARE(store.list(q).size(), std::size_t(2));
    q.filters = {RunFilter::parse("training.learning_rate>=5e-5")};
    QCOMPARE(store.list(q).size(), std::size_t(2)); // 1e-4 and 5e-5, numerically
    q.filters = {RunFilter::parse("test.accuracy>0.8"), RunFilter::parse("status=finished")};
    q.sortBy = "test.accuracy";
    const auto top = store.list(q);
    QCOMPARE(top.size(), std::size_t(2));
    QCOMPARE(top.front().id, b);
    QCOMPARE(top.front().summary.at("test.accuracy"), 0.85);
    q.filters = {RunFilter::parse("name~run-2")};
    QCOMPARE(store.list(q).front().parent, b);
    QCOMPARE(*store.best("test.accuracy"), b);
    QCOMPARE(*store.best("test.accuracy", false), c);

    const RunComparison cmp = store.compare({a, b});
    std::map<std::string, std::vector<std::string>> diff(cmp.configDiff.begin(), cmp.configDiff.end());
    QCOMPARE(diff.size(), std::size_t(2)); // strategy.name and training.learning_rate only
    QCOMPARE(diff.at("strategy.name"), (std::vector<std::string>{"lora", "full"}));
    QVERIFY(!diff.count("training.epochs"));
    QCOMPARE(cmp.series.at("train/loss").size(), std::size_t(2));
    QCOMPARE(cmp.series.at("train/loss")[1][9].value, 0.2);

    const std::string csv = store.exportCsv({a, b});
    QVERIFY(csv.rfind("id,name,created,status,duration,parent,test.accuracy", 0) == 0);
    QVERIFY(csv.find("lora-run") != std::string::npos);
    const auto js = nlohmann::json::parse(store.exportJson({a}));
    QCOMPARE(js[0]["series"]["train/loss"].size(), std::size_t(100));
    QCOMPARE(js[0]["config"]["strategy.name"].get<std::string>(), std::string("lora"));

    store.setArchived(c, true);
    QCOMPARE(store.list({}).size(), std::size_t(2));
    RunQuery all;
    all.includeArchived = true;
    QCOMPARE(store.list(all).size(), std::size_t(3));
    store.remove(c, false);
    QCOMPARE(store.list(all).size(), std::size_t(2));
    QVERIFY(store.series(c, "train", "loss").empty());
  }

  void bundlesRefuseUnsafePaths()
  {
    const std::filesystem::path run = m_dir.filePath(QStringLiteral("run-x")).toStdString();
    std::filesystem::create_directories(run / "best");
    std::ofstream(run / "config.yaml") << "name: x\n";
    std::ofstream(run / "results.json") << R"({"status": "finished", "test": {"metrics": {"accuracy": 0.7}}})";
    std::ofstream(run / "best" / "model.pt") << "weights";
    const std::filesystem::path bundle = m_dir.filePath(QStringLiteral("x.tbrun")).toStdString();
    writeRunBundle(run, bundle);
    const std::filesystem::path target = m_dir.filePath(QStringLiteral("imported")).toStdString();
    std::filesystem::create_directories(target);
    const auto placed = readRunBundle(bundle, target);
    QCOMPARE(QString::fromStdString(placed.filename().string()), QStringLiteral("run-x"));
    QVERIFY(std::filesystem::exists(placed / "best" / "model.pt"));
    RunStore store(m_dir.filePath(QStringLiteral("ws-import")).toStdString());
    const std::int64_t id = store.importFolder(placed);
    QCOMPARE(store.run(id).summary.at("test.accuracy"), 0.7);
    QCOMPARE(QString::fromStdString(store.run(id).status), QStringLiteral("finished"));
    QVERIFY(!store.artifacts(id).empty());

    // A hand-made bundle whose manifest points outside the target.
    for (const char *evil : {"../evil.txt", "/tmp/evil.txt", "best/../../evil.txt"}) {
      const std::string data = "pwned";
      const nlohmann::json manifest = {{"name", "run-y"},
                                       {"files", {{{"path", evil}, {"size", data.size()}, {"sha256", sha256Hex(data)}}}}};
      const std::filesystem::path bad = m_dir.filePath(QStringLiteral("bad.tbrun")).toStdString();
      std::ofstream(bad, std::ios::binary) << "TUNEBENCH-BUNDLE 1\n" << manifest.dump() << "\n" << data;
      try {
        readRunBundle(bad, target);
        QFAIL(evil);
      } catch (const Error &e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1String("unsafe path")), e.what());
      }
      QVERIFY(!std::filesystem::exists(target.parent_path() / "evil.txt"));
      QVERIFY(!std::filesystem::exists(target / "run-y"));
    }
    // A damaged file is refused by its checksum.
    std::string text;
    {
      std::ifstream in(bundle, std::ios::binary);
      text.assign(std::istreambuf_iterator<char>(in), {});
    }
    text[text.size() - 2] ^= 0x20;
    std::ofstream(bundle, std::ios::binary) << text;
    QVERIFY_THROWS_EXCEPTION(Error, readRunBundle(bundle, target));
  }

  // A "billion laughs" config (aliases of aliases) in a run folder or bundle is refused at once with
  // the file named, before anything is recorded; a failed unpack leaves no folder behind.
  void aliasBombIsRefused()
  {
    std::string yaml = "name: bomb\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i <= 9; ++i)
      yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) + ", *a" +
              std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) +
              ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
              std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) +
              ", *a" + std::to_string(i - 1) + "]\n";
    QVERIFY_THROWS_EXCEPTION(Error, flattenYaml(yaml)); // 10^10 values if expanded
    const std::filesystem::path run = m_dir.filePath(QStringLiteral("run-bomb")).toStdString();
    std::filesystem::create_directories(run);
    std::ofstream(run / "config.yaml") << yaml;
    RunStore store(m_dir.filePath(QStringLiteral("ws-bomb")).toStdString());
    try {
      store.importFolder(run);
      QFAIL("imported");
    } catch (const Error &e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1String("config.yaml")), e.what());
      QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1String("aliases")), e.what());
    }
    QVERIFY(store.list().empty());
    // A bundle unpacks through a hidden staging folder renamed into place: none is left behind.
    std::ofstream(run / "config.yaml") << "name: fine\n";
    const std::filesystem::path bundle = m_dir.filePath(QStringLiteral("fine.tbrun")).toStdString();
    writeRunBundle(run, bundle);
    const std::filesystem::path parent = m_dir.filePath(QStringLiteral("unpacked")).toStdString();
    std::filesystem::create_directories(parent);
    const auto placed = readRunBundle(bundle, parent);
    QVERIFY(std::filesystem::exists(placed / "config.yaml"));
    for (const auto &entry : std::filesystem::directory_iterator(parent))
      QVERIFY2(entry.path() == placed, entry.path().c_str()); // no staging folder left
  }

  // A writer killed with SIGKILL in the middle of its transactions: the database stays sound and
  // holds whole batches only.
  void killedWriterLosesAtMostOneBatch()
  {
    const QString cli = qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli");
    const QString workspace = m_dir.filePath(QStringLiteral("crash"));
    QProcess p;
    p.start(cli, {QStringLiteral("runs"), QStringLiteral("stress-write"), QStringLiteral("--workspace"), workspace,
                  QStringLiteral("--rows"), QStringLiteral("2000")});
    QVERIFY(p.waitForStarted());
    int committed = 0;
    QElapsedTimer t;
    t.start();
    while (committed < 5 && t.elapsed() < 60000) {
      p.waitForReadyRead(100);
      while (p.canReadLine())
        committed = QString::fromLatin1(p.readLine()).trimmed().toInt();
    }
    QVERIFY(committed >= 5);
    p.kill();
    p.waitForFinished();
    RunStore store(workspace.toStdString());
    QCOMPARE(QString::fromStdString(store.integrityCheck()), QStringLiteral("ok"));
    RunQuery all;
    all.includeArchived = true;
    const auto runs = store.list(all);
    QCOMPARE(runs.size(), std::size_t(1));
    QCOMPARE(QString::fromStdString(runs.front().status), QStringLiteral("interrupted"));
    const std::size_t rows = store.series(runs.front().id, "train", "loss").size();
    QVERIFY2(rows % 2000 == 0, qPrintable(QString::number(rows)));
    QVERIFY(rows >= static_cast<std::size_t>(committed) * 2000);
  }
};

QTEST_GUILESS_MAIN(TestRunStore)
#include "tst_runstore.moc"
