#pragma once

// What a crash test asks of the history after a resume: a sound database, the run finished, and
// its training-loss curve exactly the uninterrupted run's, each step once.

#include "core/runs/runstore.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest/QtTest>

#include <set>

namespace tunebench::testing {

// The events of one type in a run folder's events.jsonl, in their order.
inline QList<QJsonObject> runEvents(const QString &runDir, const QString &type)
{
  QList<QJsonObject> out;
  QFile f(runDir + QStringLiteral("/events.jsonl"));
  if (!f.open(QIODevice::ReadOnly))
    return out;
  for (const QByteArray &line : f.readAll().split('\n')) {
    const QJsonObject j = QJsonDocument::fromJson(line).object();
    if (j.value(QLatin1String("type")).toString() == type)
      out.push_back(j);
  }
  return out;
}

// The training losses of a run folder's events.jsonl, in step order.
inline QList<double> eventLosses(const QString &runDir)
{
  QList<double> losses;
  for (const QJsonObject &step : runEvents(runDir, QStringLiteral("step")))
    losses << step.value(QLatin1String("loss")).toDouble();
  return losses;
}

// A resumed run's --json result and its folder's losses against the uninterrupted run's. QTest
// checks (the caller returns on QTest::currentTestFailed()).
inline void checkResumedResult(const QJsonObject &resumed, const QString &runDir,
                               const QJsonObject &reference, const QList<double> &referenceLosses)
{
  QCOMPARE(resumed.value(QLatin1String("steps")), reference.value(QLatin1String("steps")));
  QCOMPARE(resumed.value(QLatin1String("best_step")), reference.value(QLatin1String("best_step")));
  QCOMPARE(resumed.value(QLatin1String("test")), reference.value(QLatin1String("test")));
  QCOMPARE(eventLosses(runDir), referenceLosses);
}

// QTest checks (the caller returns on QTest::currentTestFailed()).
inline void checkResumedHistory(const RunStore &store, std::int64_t run, const QList<double> &referenceLosses)
{
  QCOMPARE(QString::fromStdString(store.integrityCheck()), QStringLiteral("ok"));
  QCOMPARE(QString::fromStdString(store.run(run).status), QStringLiteral("finished"));
  const auto losses = store.series(run, "train", "loss");
  std::set<long> steps;
  for (const MetricPoint &p : losses)
    QVERIFY2(steps.insert(p.step).second, qPrintable(QStringLiteral("step %1 recorded twice").arg(p.step)));
  QCOMPARE(static_cast<int>(losses.size()), referenceLosses.size());
  for (int i = 0; i < referenceLosses.size(); ++i)
    QCOMPARE(losses[static_cast<std::size_t>(i)].value, referenceLosses[i]);
}

} // namespace tunebench::testing
