// Significance tests against independent references: McNemar's exact test and the paired t-test
// against SciPy, the paired bootstrap against a Python reference that redraws the same rows
// (tests/golden/stats/make_significance.py), and the bootstrap interval's coverage on simulated
// pairs of classifiers with a known difference; groups of runs paired by seed against SciPy
// (tests/golden/stats/make_groups.py).
#include "core/eval/groupcomparison.h"
#include "core/eval/metrics.h"
#include "core/eval/pairedcomparison.h"
#include "core/eval/significance.h"
#include "core/util/error.h"
#include "support/golden.h"

#include <QtTest/QtTest>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace tunebench;

namespace {

nlohmann::json golden()
{
  std::ifstream in(tunebench::testing::goldenDir(QStringLiteral("stats")).toStdString() +
                   "/significance.json");
  return nlohmann::json::parse(in);
}

bool close(double a, double b, double rel = 1e-9)
{
  return std::abs(a - b) <= rel * std::max({1e-300, std::abs(a), std::abs(b)}) || std::abs(a - b) < 1e-15;
}

double accuracyOn(const std::vector<int> &truth, const std::vector<int> &pred,
                  const std::vector<std::size_t> &rows)
{
  int right = 0;
  for (std::size_t r : rows)
    right += truth[r] == pred[r];
  return static_cast<double>(right) / static_cast<double>(rows.size());
}

double macroF1On(const std::vector<int> &truth, const std::vector<int> &pred,
                 const std::vector<std::size_t> &rows)
{
  std::vector<int> t, p;
  for (std::size_t r : rows) {
    t.push_back(truth[r]);
    p.push_back(pred[r]);
  }
  return classificationMetrics(t, p, {"a", "b", "c"}).macro.f1;
}

} // namespace

class TestSignificance : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  // The Wilson score interval (the model card's interval for test accuracy) against scipy's
  // binomtest(k, n).proportion_ci(method="wilson") (tests/golden/stats/make_wilson.py).
  void wilsonMatchesScipy()
  {
    std::ifstream in(tunebench::testing::goldenDir(QStringLiteral("stats")).toStdString() + "/wilson.json");
    const nlohmann::json cases = nlohmann::json::parse(in);
    QVERIFY(cases.size() >= 5);
    for (const auto &c : cases) {
      const auto [low, high] = wilsonInterval(c["k"].get<std::int64_t>(), c["n"].get<std::int64_t>());
      QVERIFY2(std::abs(low - c["low"].get<double>()) < 1e-12 &&
                   std::abs(high - c["high"].get<double>()) < 1e-12,
               c.dump().c_str());
    }
    QCOMPARE(wilsonInterval(0, 0), std::make_pair(0.0, 0.0));
  }

  void mcnemarMatchesScipy()
  {
    for (const auto &c : golden()["mcnemar"]) {
      const double p = mcnemarExactP(c["b"].get<std::int64_t>(), c["c"].get<std::int64_t>());
      QVERIFY2(close(p, c["p"].get<double>()), qPrintable(QStringLiteral("b=%1 c=%2: %3, SciPy %4")
                                                              .arg(c["b"].get<int>())
                                                              .arg(c["c"].get<int>())
                                                              .arg(p, 0, 'g', 17)
                                                              .arg(c["p"].get<double>(), 0, 'g', 17)));
    }
  }

  void pairedTTestMatchesScipy()
  {
    for (const auto &c : golden()["ttest"]) {
      const TTest r = pairedTTest(c["x"].get<std::vector<double>>(), c["y"].get<std::vector<double>>());
      QVERIFY2(close(r.t, c["t"].get<double>(), 1e-9), qPrintable(QString::number(r.t, 'g', 17)));
      QVERIFY2(
          close(r.p, c["p"].get<double>(), 1e-9),
          qPrintable(
              QStringLiteral("p %1, SciPy %2").arg(r.p, 0, 'g', 17).arg(c["p"].get<double>(), 0, 'g', 17)));
      QVERIFY(close(r.meanDifference, c["mean"].get<double>(), 1e-9));
      QCOMPARE(r.df, static_cast<double>(c["x"].size() - 1));
    }
  }

  // The same rows redrawn by the reference: the difference, the interval and p agree to 1e-9.
  void bootstrapMatchesReference()
  {
    const auto g = golden()["bootstrap"];
    const auto truth = g["truth"].get<std::vector<int>>(), a = g["a"].get<std::vector<int>>(),
               b = g["b"].get<std::vector<int>>();
    const int resamples = g["resamples"].get<int>();
    const auto seed = g["seed"].get<std::uint64_t>();
    for (const char *metric : {"accuracy", "macro_f1"}) {
      const bool acc = std::string(metric) == "accuracy";
      const BootstrapResult r = pairedBootstrap(
          truth.size(),
          [&](const std::vector<std::size_t> &rows) {
            return acc ? accuracyOn(truth, b, rows) - accuracyOn(truth, a, rows)
                       : macroF1On(truth, b, rows) - macroF1On(truth, a, rows);
          },
          resamples, seed);
      const auto &e = g[metric];
      QVERIFY2(close(r.difference, e["difference"].get<double>()), metric);
      QVERIFY2(std::abs(r.low - e["low"].get<double>()) < 1e-9, qPrintable(QString::number(r.low, 'g', 17)));
      QVERIFY2(std::abs(r.high - e["high"].get<double>()) < 1e-9,
               qPrintable(QString::number(r.high, 'g', 17)));
      QVERIFY2(std::abs(r.p - e["p"].get<double>()) < 1e-12, qPrintable(QString::number(r.p, 'g', 17)));
      QCOMPARE(r.resamples, resamples);
    }
  }

  // 200 simulated test sets of 400 rows where A is right with probability 0.75 and B with 0.80:
  // at least 93% of the 95% intervals hold the true difference, 0.05.
  void bootstrapIntervalsCoverTheTruth()
  {
    SplitMix64 rng(4242);
    const auto uniform = [&] { return static_cast<double>(rng.next() >> 11) * 0x1.0p-53; };
    int covered = 0;
    for (int sim = 0; sim < 200; ++sim) {
      std::vector<int> rightA(400), rightB(400);
      for (int i = 0; i < 400; ++i) {
        rightA[static_cast<std::size_t>(i)] = uniform() < 0.75;
        rightB[static_cast<std::size_t>(i)] = uniform() < 0.80;
      }
      const BootstrapResult r = pairedBootstrap(
          400,
          [&](const std::vector<std::size_t> &rows) {
            int d = 0;
            for (std::size_t row : rows)
              d += rightB[row] - rightA[row];
            return static_cast<double>(d) / static_cast<double>(rows.size());
          },
          1000, 1000 + static_cast<std::uint64_t>(sim));
      covered += r.low <= 0.05 && 0.05 <= r.high;
    }
    qInfo("%d of 200 intervals hold the true difference", covered);
    QVERIFY2(covered >= 186,
             qPrintable(QStringLiteral("%1 of 200 intervals hold the true difference").arg(covered)));
  }

  // Two runs' test predictions on the same rows: the values, the counts McNemar's test uses and the
  // bootstrap are those computed here by hand; runs on different rows are refused.
  void comparesRunsOnTheirTestRows()
  {
    QTemporaryDir dir;
    const std::filesystem::path a = dir.filePath(QStringLiteral("a")).toStdString(),
                                b = dir.filePath(QStringLiteral("b")).toStdString(),
                                c = dir.filePath(QStringLiteral("c")).toStdString();
    const std::vector<std::string> truth = {"pos", "neg", "pos", "neg", "pos",
                                            "neg", "pos", "neg", "pos", "pos"};
    const std::vector<std::string> predA = {"pos", "pos", "pos", "neg", "neg",
                                            "neg", "neg", "neg", "pos", "neg"};
    const std::vector<std::string> predB = {"pos", "neg", "pos", "neg", "pos",
                                            "neg", "neg", "neg", "pos", "pos"};
    const auto write = [&](const std::filesystem::path &folder, const std::vector<std::string> &pred,
                           int firstRow) {
      std::filesystem::create_directories(folder);
      std::ofstream out(folder / "test_predictions.jsonl");
      for (std::size_t i = 0; i < pred.size(); ++i)
        out << nlohmann::json{{"row", firstRow + static_cast<int>(i)},
                              {"truth", truth[i]},
                              {"predicted", pred[i]}}
                   .dump()
            << "\n";
    };
    write(a, predA, 0);
    write(b, predB, 0);
    write(c, predB, 1);
    const RunPairComparison r = compareOnTestRows(a, b, 2000, 7);
    QCOMPARE(r.rows, std::size_t(10));
    QCOMPARE(r.metrics.front().a, 0.6); // A: rows 0, 2, 3, 5, 7, 8
    QCOMPARE(r.metrics.front().b, 0.9); // B misses row 6 only
    QCOMPARE(r.onlyA, std::int64_t(0));
    QCOMPARE(r.onlyB, std::int64_t(3)); // rows 1, 4, 9
    QCOMPARE(*r.mcnemarP, mcnemarExactP(0, 3));
    const BootstrapResult expected = pairedBootstrap(
        10,
        [&](const std::vector<std::size_t> &rows) {
          int d = 0;
          for (std::size_t row : rows)
            d += (predB[row] == truth[row]) - (predA[row] == truth[row]);
          return static_cast<double>(d) / 10.0;
        },
        2000, 7);
    QVERIFY(std::abs(r.metrics.front().bootstrap.low - expected.low) < 1e-12);
    QVERIFY(std::abs(r.metrics.front().bootstrap.high - expected.high) < 1e-12);
    QCOMPARE(r.metrics.front().bootstrap.p, expected.p);
    QCOMPARE(r.metrics.at(1).metric, std::string("macro_f1"));
    const std::vector<std::string> lines = describeComparison(r);
    QVERIFY2(
        QString::fromStdString(lines.front()).startsWith(QStringLiteral("B - A accuracy = +30.0 points [")),
        lines.front().c_str());
    QCOMPARE(QString::fromStdString(lines.back()),
             QStringLiteral("McNemar's exact test: 0 rows only A got right, 3 only B, p = 0.25"));
    QVERIFY_THROWS_EXCEPTION(Error, compareOnTestRows(a, c)); // other rows
    QVERIFY_THROWS_EXCEPTION(Error, compareOnTestRows(a, dir.filePath(QStringLiteral("none")).toStdString()));
  }

  // Groups paired by seed or fold: means, standard deviations, the paired t-test and the 95%
  // interval of the mean difference against SciPy (tests/golden/stats/make_groups.py); from run
  // folders, the test metrics of their results.json.
  void groupsMatchScipy()
  {
    std::ifstream in(tunebench::testing::goldenDir(QStringLiteral("stats")).toStdString() + "/groups.json");
    QVERIFY(in.good());
    const nlohmann::json g = nlohmann::json::parse(in);
    for (const nlohmann::json &q : g["quantiles"])
      QVERIFY2(close(studentQuantile(q["p"], q["df"]), q["t"], 1e-8),
               q.dump().c_str()); // the t tail to ~1e-10
    QVERIFY(g["groups"].size() >= 4);
    for (const nlohmann::json &c : g["groups"]) {
      const GroupMetricComparison r = compareGroupValues("accuracy", c["a"].get<std::vector<double>>(),
                                                         c["b"].get<std::vector<double>>());
      const std::string name = c["name"];
      QVERIFY2(close(r.meanA, c["mean_a"]) && close(r.meanB, c["mean_b"]), name.c_str());
      QVERIFY2(close(r.stdA, c["std_a"]) && close(r.stdB, c["std_b"]), name.c_str());
      QVERIFY2(close(r.test.meanDifference, c["difference"]), name.c_str());
      QVERIFY2(close(r.test.t, c["t"], 1e-9) && close(r.test.p, c["p"], 1e-8), name.c_str());
      QVERIFY2(close(r.low, c["low"], 1e-8) && close(r.high, c["high"], 1e-8), name.c_str());
    }

    QTemporaryDir dir;
    auto run = [&](const char *name, double accuracy, double macro) {
      const std::string folder = dir.filePath(QString::fromLatin1(name)).toStdString();
      std::filesystem::create_directories(folder);
      std::ofstream(folder + "/results.json")
          << nlohmann::json{{"status", "finished"},
                            {"test", {{"metrics", {{"accuracy", accuracy}, {"macro_f1", macro}}}}}}
                 .dump();
      return std::filesystem::path(folder);
    };
    const auto three = g["groups"][0];
    std::vector<std::filesystem::path> a, b;
    for (int i = 0; i < 3; ++i) {
      a.push_back(run(("a" + std::to_string(i)).c_str(), three["a"][i], 0.5));
      b.push_back(run(("b" + std::to_string(i)).c_str(), three["b"][i], 0.5 + 0.01 * i));
    }
    const std::vector<GroupMetricComparison> c = compareGroups(a, b);
    QCOMPARE(c.size(), std::size_t(2)); // accuracy and macro_f1; no entity_f1
    QVERIFY(close(c[0].test.p, three["p"], 1e-8));
    QCOMPARE(
        QString::fromStdString(describeGroupComparison(c).front()),
        QStringLiteral("B - A accuracy = +1.5 points [+0.3, +2.8] over 3 pairs, p = 0.0354 (paired t-test) - "
                       "significant at 0.05; A 0.7880 ± 0.0070, B 0.8033 ± 0.0051"));
    QVERIFY_THROWS_EXCEPTION(Error, compareGroups(a, {b[0], b[1]})); // unequal groups
    QVERIFY_THROWS_EXCEPTION(Error, compareGroups({a[0]}, {b[0]}));  // one pair
    QVERIFY_THROWS_EXCEPTION(
        Error, compareGroups(a, {b[0], b[1], dir.filePath(QStringLiteral("none")).toStdString()}));
  }

  void refusesWhatItCannotTest()
  {
    QVERIFY_THROWS_EXCEPTION(std::exception, pairedTTest({1.0}, {2.0}));
    QVERIFY_THROWS_EXCEPTION(std::exception, pairedTTest({1.0, 2.0}, {2.0}));
    QVERIFY_THROWS_EXCEPTION(std::exception, mcnemarExactP(-1, 3));
    QCOMPARE(pairedTTest({0.5, 0.6}, {0.5, 0.6}).p, 1.0);
  }
};

QTEST_MAIN(TestSignificance)
#include "tst_significance.moc"
