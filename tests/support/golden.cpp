#include "golden.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QtTest/QtTest>

namespace tunebench::testing {

QString goldenDir(const QString &sub)
{
  return QDir(QStringLiteral(TUNEBENCH_SOURCE_DIR "/tests/golden")).filePath(sub);
}

QString sourcePath(const QString &relative)
{
  return QDir(QStringLiteral(TUNEBENCH_SOURCE_DIR)).filePath(relative);
}

QString assetsDir()
{
  const QString env = qEnvironmentVariable("TUNEBENCH_ASSETS");
  return env.isEmpty() ? QStringLiteral(TUNEBENCH_SOURCE_DIR "/assets") : env;
}

QString assetPath(const QString &relative)
{
  const QString path = QDir(assetsDir()).filePath(relative);
  if (!QFile::exists(path))
    qWarning("missing asset %s: run packaging/fetch-assets.sh (./test.sh does)", qPrintable(path));
  return path;
}

std::vector<std::string> readLines(const QString &path, int maxLines)
{
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly))
    return {};
  const QByteArray all = file.readAll();
  std::vector<std::string> lines;
  qsizetype start = 0;
  while (start < all.size()) {
    qsizetype end = all.indexOf('\n', start);
    if (end < 0)
      end = all.size();
    lines.emplace_back(all.constData() + start, static_cast<std::size_t>(end - start));
    start = end + 1;
    if (maxLines > 0 && static_cast<int>(lines.size()) == maxLines)
      break;
  }
  return lines;
}

std::vector<std::vector<int>> readIntRows(const QString &path)
{
  std::vector<std::vector<int>> rows;
  for (const std::string &line : readLines(path)) {
    std::vector<int> row;
    const char *p = line.c_str();
    char *end = nullptr;
    for (long v = std::strtol(p, &end, 10); end != p; v = std::strtol(p, &end, 10)) {
      row.push_back(static_cast<int>(v));
      p = end;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

QString sha256File(const QString &path)
{
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly))
    return {};
  QCryptographicHash hash(QCryptographicHash::Sha256);
  hash.addData(&file);
  return QString::fromLatin1(hash.result().toHex());
}

std::string joinInts(const std::vector<int> &values)
{
  std::string out;
  for (int v : values) {
    if (!out.empty())
      out += ' ';
    out += std::to_string(v);
  }
  return out;
}

} // namespace tunebench::testing
