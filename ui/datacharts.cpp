#include "ui/datacharts.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QLineSeries>
#include <QPen>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <vector>

namespace tunebench {

namespace {

void clear(QChart *chart)
{
  chart->removeAllSeries();
  for (QAbstractAxis *a : chart->axes())
    chart->removeAxis(a);
}

} // namespace

void drawLabelCounts(QChart *chart, const std::map<std::string, int> &labelCounts)
{
  clear(chart);
  std::vector<std::pair<std::string, int>> counts(labelCounts.begin(), labelCounts.end());
  std::sort(counts.begin(), counts.end(), [](const auto &a, const auto &b) { return a.second > b.second; });
  if (counts.size() > 40)
    counts.resize(40);
  if (!counts.empty()) {
    auto *set = new QBarSet(QObject::tr("examples"));
    QStringList names;
    int most = 0;
    for (const auto &[label, n] : counts) {
      *set << n;
      names << QString::fromStdString(label);
      most = std::max(most, n);
    }
    auto *series = new QBarSeries;
    series->append(set);
    chart->addSeries(series);
    auto *x = new QBarCategoryAxis;
    x->append(names);
    auto *y = new QValueAxis;
    y->setRange(0, most * 1.1);
    y->setLabelFormat(QStringLiteral("%d"));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    series->attachAxis(x);
    series->attachAxis(y);
  }
}

void drawTokenLengths(QChart *chart, const DatasetStatistics &s, int maxLength)
{
  clear(chart);
  const std::vector<int> &lengths = s.tokenLengths;
  if (!lengths.empty()) {
    const int longest = std::max(s.maxLength, maxLength);
    const int bins = 30;
    const double width = std::max(1.0, std::ceil(static_cast<double>(longest + 1) / bins));
    std::vector<int> histogram(bins, 0);
    for (int n : lengths)
      ++histogram[static_cast<std::size_t>(std::min(bins - 1, static_cast<int>(n / width)))];
    auto *bars = new QLineSeries;
    bars->setName(QObject::tr("examples"));
    int most = 0;
    for (int b = 0; b < bins; ++b) { // a step outline of the histogram
      bars->append(b * width, histogram[static_cast<std::size_t>(b)]);
      bars->append((b + 1) * width, histogram[static_cast<std::size_t>(b)]);
      most = std::max(most, histogram[static_cast<std::size_t>(b)]);
    }
    auto *cut = new QLineSeries;
    cut->setName(QObject::tr("max length %1 (%2 rows cut)").arg(maxLength).arg(s.truncatedRows));
    cut->append(maxLength, 0);
    cut->append(maxLength, most * 1.1);
    QPen pen(Qt::red);
    pen.setStyle(Qt::DashLine);
    pen.setWidth(2);
    cut->setPen(pen);
    chart->addSeries(bars);
    chart->addSeries(cut);
    auto *x = new QValueAxis;
    x->setRange(0, bins * width);
    x->setLabelFormat(QStringLiteral("%d"));
    x->setTickCount(5);
    auto *y = new QValueAxis;
    y->setRange(0, most * 1.1);
    y->setLabelFormat(QStringLiteral("%d"));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    for (QLineSeries *s : {bars, cut}) {
      s->attachAxis(x);
      s->attachAxis(y);
    }
  }
}

} // namespace tunebench
