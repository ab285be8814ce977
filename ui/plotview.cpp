#include "ui/plotview.h"

#include <QAbstractBarSeries>
#include <QAction>
#include <QAreaSeries>
#include <QBarCategoryAxis>
#include <QBarSet>
#include <QContextMenuEvent>
#include <QFile>
#include <QFileDialog>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QMenu>
#include <QPixmap>
#include <QValueAxis>
#include <QXYSeries>

#include <algorithm>
#include <cmath>

namespace tunebench {

namespace {

QString xml(QString s)
{
  return s.toHtmlEscaped();
}

QString num(double v)
{
  return QString::number(v, 'g', 10);
}

// A series' axes in one direction (its own, else the chart's).
QAbstractAxis *axisOf(const QChart *chart, QAbstractSeries *series, Qt::Orientation o)
{
  for (QAbstractAxis *a : series->attachedAxes())
    if (a->orientation() == o)
      return a;
  const auto axes = chart->axes(o);
  return axes.isEmpty() ? nullptr : axes.front();
}

// Maps data to the plot rectangle along one axis (linear or log).
struct Scale
{
  double lo = 0, hi = 1, from = 0, to = 1;
  bool log = false;

  static Scale of(QAbstractAxis *axis, double from, double to)
  {
    Scale s;
    s.from = from;
    s.to = to;
    if (auto *v = qobject_cast<QValueAxis *>(axis)) {
      s.lo = v->min();
      s.hi = v->max();
    } else if (auto *l = qobject_cast<QLogValueAxis *>(axis)) {
      s.lo = std::log10(std::max(1e-300, l->min()));
      s.hi = std::log10(std::max(1e-300, l->max()));
      s.log = true;
    }
    if (s.hi <= s.lo)
      s.hi = s.lo + 1;
    return s;
  }
  double operator()(double v) const
  {
    const double x = log ? std::log10(std::max(1e-300, v)) : v;
    return from + (x - lo) / (hi - lo) * (to - from);
  }
  double value(double t) const // the data value at a fraction t of the axis
  {
    const double x = lo + t * (hi - lo);
    return log ? std::pow(10.0, x) : x;
  }
};

QString polyline(const QList<QPointF> &points, const Scale &x, const Scale &y)
{
  QString out;
  for (const QPointF &p : points)
    if (std::isfinite(p.x()) && std::isfinite(p.y()))
      out += QStringLiteral("%1,%2 ").arg(x(p.x()), 0, 'f', 2).arg(y(p.y()), 0, 'f', 2);
  return out.trimmed();
}

QString axisSvg(const Scale &x, const Scale &y, const QRectF &plot)
{
  QString out = QStringLiteral("<rect x='%1' y='%2' width='%3' height='%4' fill='none' stroke='#888'/>\n")
                    .arg(plot.left())
                    .arg(plot.top())
                    .arg(plot.width())
                    .arg(plot.height());
  for (int i = 0; i <= 4; ++i) {
    const double t = i / 4.0;
    const double px = plot.left() + t * plot.width(), py = plot.bottom() - t * plot.height();
    out += QStringLiteral("<text x='%1' y='%2' font-size='10' text-anchor='middle'>%3</text>\n")
               .arg(px)
               .arg(plot.bottom() + 14)
               .arg(xml(QString::number(x.value(t), 'g', 4)));
    out += QStringLiteral("<text x='%1' y='%2' font-size='10' text-anchor='end'>%3</text>\n")
               .arg(plot.left() - 4)
               .arg(py + 3)
               .arg(xml(QString::number(y.value(t), 'g', 4)));
  }
  return out;
}

QString barsSvg(QAbstractBarSeries *bars, const Scale &y, const QRectF &plot)
{
  QString out;
  const auto sets = bars->barSets();
  int categories = 0;
  for (const QBarSet *set : sets)
    categories = std::max(categories, static_cast<int>(set->count()));
  if (categories == 0 || sets.isEmpty())
    return out;
  const double slot = plot.width() / categories, width = slot * 0.8 / static_cast<double>(sets.size());
  for (int s = 0; s < sets.size(); ++s)
    for (int c = 0; c < sets[s]->count(); ++c) {
      const double top = y(sets[s]->at(c));
      out += QStringLiteral("<rect x='%1' y='%2' width='%3' height='%4' fill='%5'/>\n")
                 .arg(plot.left() + c * slot + slot * 0.1 + s * width, 0, 'f', 2)
                 .arg(top, 0, 'f', 2)
                 .arg(width, 0, 'f', 2)
                 .arg(std::max(0.0, plot.bottom() - top), 0, 'f', 2)
                 .arg(sets[s]->color().name());
    }
  return out;
}

QString seriesSvg(const QChart *chart, QAbstractSeries *series, const QRectF &plot)
{
  const Scale x = Scale::of(axisOf(chart, series, Qt::Horizontal), plot.left(), plot.right());
  const Scale y = Scale::of(axisOf(chart, series, Qt::Vertical), plot.bottom(), plot.top());
  if (!series->isVisible())
    return {};
  if (auto *bars = qobject_cast<QAbstractBarSeries *>(series))
    return barsSvg(bars, y, plot);
  if (auto *area = qobject_cast<QAreaSeries *>(series)) {
    QList<QPointF> outline = area->upperSeries()->points();
    QList<QPointF> lower = area->lowerSeries() ? area->lowerSeries()->points() : QList<QPointF>();
    std::reverse(lower.begin(), lower.end());
    outline += lower;
    return QStringLiteral("<polygon points='%1' fill='%2' fill-opacity='%3'/>\n")
        .arg(polyline(outline, x, y), area->brush().color().name())
        .arg(area->brush().color().alphaF());
  }
  auto *xy = qobject_cast<QXYSeries *>(series);
  if (!xy)
    return {};
  if (series->type() == QAbstractSeries::SeriesTypeScatter) {
    QString out;
    for (const QPointF &p : xy->points())
      out += QStringLiteral("<circle cx='%1' cy='%2' r='4' fill='%3'/>\n")
                 .arg(x(p.x()), 0, 'f', 2)
                 .arg(y(p.y()), 0, 'f', 2)
                 .arg(xy->color().name());
    return out;
  }
  return QStringLiteral("<polyline points='%1' fill='none' stroke='%2' stroke-width='%3'/>\n")
      .arg(polyline(xy->points(), x, y), xy->pen().color().name())
      .arg(std::max(1.0, xy->pen().widthF()));
}

} // namespace

bool writeText(const QString &file, const QString &text)
{
  QFile f(file);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
    return false;
  const QByteArray bytes = text.toUtf8();
  return f.write(bytes) == bytes.size() && f.flush();
}

QString csvField(QString s)
{
  if (s.contains(QLatin1Char(',')) || s.contains(QLatin1Char('"')) || s.contains(QLatin1Char('\n')))
    s = QLatin1Char('"') + s.replace(QLatin1Char('"'), QStringLiteral("\"\"")) + QLatin1Char('"');
  return s;
}

QString chartCsv(const QChart *chart)
{
  QString out = QStringLiteral("series,x,y\n");
  for (QAbstractSeries *series : chart->series()) {
    if (auto *xy = qobject_cast<QXYSeries *>(series)) {
      for (const QPointF &p : xy->points())
        out += csvField(series->name()) + QLatin1Char(',') + num(p.x()) + QLatin1Char(',') + num(p.y()) +
               QLatin1Char('\n');
    } else if (auto *bars = qobject_cast<QAbstractBarSeries *>(series)) {
      QStringList categories;
      for (QAbstractAxis *a : series->attachedAxes())
        if (auto *c = qobject_cast<QBarCategoryAxis *>(a))
          categories = c->categories();
      for (const QBarSet *set : bars->barSets())
        for (int i = 0; i < set->count(); ++i)
          out += csvField(set->label()) + QLatin1Char(',') +
                 csvField(i < categories.size() ? categories[i] : QString::number(i)) + QLatin1Char(',') +
                 num(set->at(i)) + QLatin1Char('\n');
    }
  }
  return out;
}

QString chartSvg(const QChart *chart, const QSizeF &size)
{
  const QRectF plot(60, 30, std::max(100.0, size.width() - 80), std::max(80.0, size.height() - 90));
  QString out = QStringLiteral("<?xml version='1.0' encoding='UTF-8'?>\n"
                               "<svg xmlns='http://www.w3.org/2000/svg' width='%1' height='%2' "
                               "font-family='sans-serif'>\n<rect width='100%' height='100%' fill='white'/>\n")
                    .arg(size.width())
                    .arg(size.height());
  out += QStringLiteral("<text x='%1' y='18' font-size='13' text-anchor='middle'>%2</text>\n")
             .arg(size.width() / 2)
             .arg(xml(chart->title()));
  if (!chart->series().isEmpty()) {
    QAbstractSeries *first = chart->series().front();
    out += axisSvg(Scale::of(axisOf(chart, first, Qt::Horizontal), plot.left(), plot.right()),
                   Scale::of(axisOf(chart, first, Qt::Vertical), plot.bottom(), plot.top()), plot);
  }
  double legendX = plot.left();
  for (QAbstractSeries *series : chart->series()) {
    out += seriesSvg(chart, series, plot);
    if (!series->name().isEmpty() && series->isVisible()) {
      QColor colour = Qt::gray;
      if (auto *xy = qobject_cast<QXYSeries *>(series))
        colour = series->type() == QAbstractSeries::SeriesTypeScatter ? xy->color() : xy->pen().color();
      const double y = plot.bottom() + 34;
      out += QStringLiteral("<line x1='%1' y1='%2' x2='%3' y2='%2' stroke='%4' stroke-width='3'/>\n")
                 .arg(legendX)
                 .arg(y - 4)
                 .arg(legendX + 14)
                 .arg(colour.name());
      out += QStringLiteral("<text x='%1' y='%2' font-size='10'>%3</text>\n")
                 .arg(legendX + 18)
                 .arg(y)
                 .arg(xml(series->name()));
      legendX += 30 + 6.0 * series->name().size();
    }
  }
  return out + QStringLiteral("</svg>\n");
}

void appendPoints(QXYSeries *series, const QList<QPointF> &points, int maxPoints)
{
  if (points.isEmpty())
    return;
  QList<QPointF> all = series->points();
  for (const QPointF &p : points)
    if (std::isfinite(p.y()))
      all.append(p);
  while (all.size() > maxPoints) {
    QList<QPointF> kept;
    for (qsizetype i = 0; i < all.size(); i += 2)
      kept.append(all[i]);
    if ((all.size() - 1) % 2 != 0)
      kept.append(all.back()); // the newest point stays
    all = std::move(kept);
  }
  series->replace(all);
}

PlotView::PlotView(QChart *chart, QWidget *parent)
  : QChartView(chart, parent)
{
  setRenderHint(QPainter::Antialiasing);
  m_actions = exportActionsOf(this);
}

QAction *saveAction(QWidget *owner, const QString &text, const QString &filter,
                    std::function<bool(const QString &)> save)
{
  auto *a = new QAction(text, owner);
  QObject::connect(a, &QAction::triggered, owner, [owner, text, filter, save = std::move(save)] {
    const QString file = QFileDialog::getSaveFileName(owner, text, QString(), filter);
    if (!file.isEmpty())
      save(file);
  });
  return a;
}

bool PlotView::savePng(const QString &file)
{
  return grab().save(file, "PNG");
}

bool PlotView::saveSvg(const QString &file) const
{
  return writeText(file, chartSvg(chart(), size()));
}

bool PlotView::saveCsv(const QString &file) const
{
  return writeText(file, chartCsv(chart()));
}

void PlotView::contextMenuEvent(QContextMenuEvent *event)
{
  QMenu menu(this);
  menu.addActions(m_actions);
  menu.exec(event->globalPos());
}

} // namespace tunebench
