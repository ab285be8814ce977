#pragma once

// The start of every GUI test: settings of its own, cleared, and the fetched assets.

#include "support/golden.h"

#include <QCoreApplication>
#include <QFile>
#include <QSettings>
#include <QStandardPaths>

namespace tunebench::testing {

// QSettings go to a test location under the test's own name and start empty.
inline void isolateSettings(const QString &testName)
{
  QStandardPaths::setTestModeEnabled(true);
  QCoreApplication::setOrganizationName(QStringLiteral("tunebench-test"));
  QCoreApplication::setApplicationName(testName);
  QSettings().clear();
}

// TUNEBENCH_ASSETS points at the fetched assets; true when USE-Lite is among them.
inline bool useFetchedAssets()
{
  qputenv("TUNEBENCH_ASSETS", assetsDir().toUtf8());
  return QFile::exists(assetPath(QStringLiteral("models/use-lite/model.json")));
}

} // namespace tunebench::testing
