#pragma once

// What a crash test asks of the history after a resume: a sound database, the run finished, and
// its training-loss curve exactly the uninterrupted run's, each step once.

#include "core/runs/runstore.h"

#include <QtTest/QtTest>

#include <set>

namespace tunebench::testing {

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
