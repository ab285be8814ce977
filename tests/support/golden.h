#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <string>
#include <vector>

// Helpers for golden tests: where fixtures and fetched assets are, and reading golden text the way
// the generator scripts do.
namespace tunebench::testing {

// tests/golden/<sub>
QString goldenDir(const QString &sub);
// A file of the source tree (resources/presets/..., say).
QString sourcePath(const QString &relative);
// The asset folder: $TUNEBENCH_ASSETS, else <source>/assets (what ./test.sh fetches).
QString assetsDir();
// An asset path; the test fails with a message naming packaging/fetch-assets.sh when it is missing.
QString assetPath(const QString &relative);
// Lines split on "\n" only (a "\r" stays), a final empty line dropped; at most maxLines (0: all).
std::vector<std::string> readLines(const QString &path, int maxLines = 0);
// One line of space-separated integers per entry.
std::vector<std::vector<int>> readIntRows(const QString &path);
QString sha256File(const QString &path);
std::string joinInts(const std::vector<int> &values);

} // namespace tunebench::testing
