#include "ui/parallelcoordinates.h"

#include "ui/plotview.h"

#include <QAction>
#include <QContextMenuEvent>
#include <QFile>
#include <QFileDialog>
#include <QMenu>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

namespace tunebench {

namespace {

double numberOf(const std::string &text)
{
  try {
    return std::stod(text);
  } catch (const std::exception &) {
    return std::nan("");
  }
}

// A value as an axis label: numbers with 6 significant digits (0.003, not 0.0030000000000000001).
QString shortText(const std::string &value)
{
  const double v = numberOf(value);
  return std::isfinite(v) && QString::fromStdString(value).toDouble() == v ? QString::number(v, 'g', 6)
                                                                           : QString::fromStdString(value);
}

QString escaped(QString text)
{
  return text.replace(QLatin1Char('&'), QStringLiteral("&amp;"))
      .replace(QLatin1Char('<'), QStringLiteral("&lt;"))
      .replace(QLatin1Char('>'), QStringLiteral("&gt;"));
}

} // namespace

ParallelCoordinates::ParallelCoordinates(QWidget *parent)
  : QWidget(parent)
{
  setObjectName(QStringLiteral("ParallelCoordinates"));
  setMinimumSize(420, 260);
  setToolTip(
      tr("One line per run, coloured by the metric (last axis). Drag along an axis to keep the runs in a "
         "range; click an axis to clear its range."));
  m_actions = exportActionsOf(this);
}

void ParallelCoordinates::setTable(SweepTable table)
{
  m_table = std::move(table);
  m_brushes.clear();
  update();
}

double ParallelCoordinates::position(int axis, int run) const
{
  const auto r = static_cast<std::size_t>(run);
  if (axis == axisCount() - 1) {
    const auto [lo, hi] = std::minmax_element(m_table.metricValues.begin(), m_table.metricValues.end());
    return *hi > *lo ? (m_table.metricValues[r] - *lo) / (*hi - *lo) : 0.5;
  }
  const SweepTable::Key &k = m_table.keys[static_cast<std::size_t>(axis)];
  const std::string &v = m_table.values[r][static_cast<std::size_t>(axis)];
  if (k.levels.size() < 2)
    return 0.5;
  if (k.numeric) {
    auto scale = [&](double x) { return k.log ? std::log(x) : x; };
    const double lo = scale(numberOf(k.levels.front())), hi = scale(numberOf(k.levels.back()));
    return hi > lo ? (scale(numberOf(v)) - lo) / (hi - lo) : 0.5;
  }
  const auto i = std::find(k.levels.begin(), k.levels.end(), v) - k.levels.begin();
  return static_cast<double>(i) / static_cast<double>(k.levels.size() - 1);
}

bool ParallelCoordinates::visible(int run) const
{
  for (const auto &[axis, range] : m_brushes) {
    const double p = position(axis, run);
    if (p < range.first - 1e-9 || p > range.second + 1e-9)
      return false;
  }
  return true;
}

int ParallelCoordinates::visibleLines() const
{
  int n = 0;
  for (int r = 0; r < lineCount(); ++r)
    n += visible(r);
  return n;
}

void ParallelCoordinates::setBrush(int axis, double lo, double hi)
{
  if (axis < 0 || axis >= axisCount())
    return;
  m_brushes[axis] = {std::min(lo, hi), std::max(lo, hi)};
  update();
  Q_EMIT brushed();
}

void ParallelCoordinates::clearBrushes()
{
  m_brushes.clear();
  update();
  Q_EMIT brushed();
}

QRectF ParallelCoordinates::plotArea(const QSizeF &size) const
{
  return QRectF(60, 44, std::max(10.0, size.width() - 120), std::max(10.0, size.height() - 84));
}

double ParallelCoordinates::axisX(int axis, const QRectF &area) const
{
  return axisCount() < 2 ? area.center().x()
                         : area.left() + area.width() * axis / static_cast<double>(axisCount() - 1);
}

int ParallelCoordinates::axisAt(double x) const
{
  const QRectF area = plotArea(size());
  for (int a = 0; a < axisCount(); ++a)
    if (std::abs(axisX(a, area) - x) < 14)
      return a;
  return -1;
}

QString ParallelCoordinates::axisName(int axis) const
{
  return QString::fromStdString(axis == axisCount() - 1 ? m_table.metric
                                                        : m_table.keys[static_cast<std::size_t>(axis)].name);
}

// From blue (the lowest metric) to orange (the highest).
QColor ParallelCoordinates::colour(int run) const
{
  const double t = position(axisCount() - 1, run);
  return QColor::fromRgbF(static_cast<float>(0.12 + 0.88 * t), static_cast<float>(0.47 + 0.03 * t),
                          static_cast<float>(0.71 - 0.66 * t));
}

void ParallelCoordinates::paintEvent(QPaintEvent *)
{
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  p.fillRect(rect(), palette().base());
  if (m_table.runs.empty()) {
    p.drawText(rect(), Qt::AlignCenter, tr("No runs with this metric"));
    return;
  }
  const QRectF area = plotArea(size());
  auto point = [&](int axis, int run) {
    return QPointF(axisX(axis, area), area.bottom() - area.height() * position(axis, run));
  };
  for (bool highlighted : {false, true}) // grey lines below the kept ones
    for (int r = 0; r < lineCount(); ++r) {
      if (visible(r) != highlighted)
        continue;
      QPainterPath path(point(0, r));
      for (int a = 1; a < axisCount(); ++a)
        path.lineTo(point(a, r));
      p.setPen(QPen(highlighted ? colour(r) : QColor(200, 200, 200), highlighted ? 2.0 : 1.0));
      p.drawPath(path);
    }
  p.setPen(palette().text().color());
  for (int a = 0; a < axisCount(); ++a) {
    const double x = axisX(a, area);
    p.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()));
    p.drawText(QRectF(x - 90, 2, 180, 18), Qt::AlignCenter, axisName(a));
    QString lo, hi;
    if (a == axisCount() - 1) {
      const auto [l, h] = std::minmax_element(m_table.metricValues.begin(), m_table.metricValues.end());
      lo = QString::number(*l, 'g', 4);
      hi = QString::number(*h, 'g', 4);
    } else {
      const auto &levels = m_table.keys[static_cast<std::size_t>(a)].levels;
      lo = shortText(levels.front());
      hi = shortText(levels.back());
    }
    p.drawText(QRectF(x - 60, area.bottom() + 4, 120, 18), Qt::AlignCenter, lo);
    p.drawText(QRectF(x - 60, area.top() - 18, 120, 16), Qt::AlignCenter, hi);
    if (const auto it = m_brushes.find(a); it != m_brushes.end()) {
      const QRectF band(x - 6, area.bottom() - area.height() * it->second.second, 12,
                        area.height() * (it->second.second - it->second.first));
      p.fillRect(band, QColor(255, 200, 0, 110));
    }
  }
}

void ParallelCoordinates::mousePressEvent(QMouseEvent *event)
{
  m_dragAxis = axisAt(event->position().x());
  const QRectF area = plotArea(size());
  m_dragStart = (area.bottom() - event->position().y()) / area.height();
}

void ParallelCoordinates::mouseMoveEvent(QMouseEvent *event)
{
  if (m_dragAxis < 0)
    return;
  const QRectF area = plotArea(size());
  const double now = (area.bottom() - event->position().y()) / area.height();
  if (std::abs(now - m_dragStart) > 0.01)
    setBrush(m_dragAxis, std::clamp(m_dragStart, 0.0, 1.0), std::clamp(now, 0.0, 1.0));
}

void ParallelCoordinates::mouseReleaseEvent(QMouseEvent *event)
{
  const QRectF area = plotArea(size());
  const double now = (area.bottom() - event->position().y()) / area.height();
  if (m_dragAxis >= 0 && std::abs(now - m_dragStart) <= 0.01 && m_brushes.erase(m_dragAxis)) {
    update();
    Q_EMIT brushed();
  }
  m_dragAxis = -1;
}

void ParallelCoordinates::contextMenuEvent(QContextMenuEvent *event)
{
  QMenu menu(this);
  menu.addActions(m_actions);
  menu.exec(event->globalPos());
}

bool ParallelCoordinates::savePng(const QString &file)
{
  return grab().save(file, "PNG");
}

bool ParallelCoordinates::saveSvg(const QString &file) const
{
  return writeText(file, svg());
}

bool ParallelCoordinates::saveCsv(const QString &file) const
{
  return writeText(file, csv());
}

QString ParallelCoordinates::svg() const
{
  const QSizeF size(std::max(640, width()), std::max(400, height()));
  const QRectF area = plotArea(size);
  QString out = QStringLiteral("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%1\" height=\"%2\" "
                               "font-family=\"sans-serif\" font-size=\"11\">\n"
                               "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n")
                    .arg(size.width())
                    .arg(size.height());
  for (int r = 0; r < lineCount(); ++r) {
    QStringList points;
    for (int a = 0; a < axisCount(); ++a)
      points << QStringLiteral("%1,%2")
                    .arg(axisX(a, area), 0, 'f', 1)
                    .arg(area.bottom() - area.height() * position(a, r), 0, 'f', 1);
    out += QStringLiteral("<polyline fill=\"none\" stroke=\"%1\" stroke-width=\"%2\" "
                          "points=\"%3\"><title>run %4</title></polyline>\n")
               .arg(visible(r) ? colour(r).name() : QStringLiteral("#c8c8c8"))
               .arg(visible(r) ? 2 : 1)
               .arg(points.join(QLatin1Char(' ')))
               .arg(m_table.runs[static_cast<std::size_t>(r)]);
  }
  for (int a = 0; a < axisCount(); ++a) {
    const double x = axisX(a, area);
    out += QStringLiteral("<line x1=\"%1\" y1=\"%2\" x2=\"%1\" y2=\"%3\" stroke=\"black\"/>\n"
                          "<text x=\"%1\" y=\"20\" text-anchor=\"middle\">%4</text>\n")
               .arg(x, 0, 'f', 1)
               .arg(area.top(), 0, 'f', 1)
               .arg(area.bottom(), 0, 'f', 1)
               .arg(escaped(axisName(a)));
  }
  return out + QStringLiteral("</svg>\n");
}

QString ParallelCoordinates::csv() const
{
  QStringList header = {QStringLiteral("run")};
  for (int a = 0; a < axisCount(); ++a)
    header << csvField(axisName(a));
  header << QStringLiteral("kept");
  QString out = header.join(QLatin1Char(',')) + QLatin1Char('\n');
  for (int r = 0; r < lineCount(); ++r) {
    const auto i = static_cast<std::size_t>(r);
    QStringList row = {QString::number(m_table.runs[i])};
    for (const std::string &v : m_table.values[i])
      row << csvField(QString::fromStdString(v));
    row << QString::number(m_table.metricValues[i], 'g', 10)
        << (visible(r) ? QStringLiteral("1") : QStringLiteral("0"));
    out += row.join(QLatin1Char(',')) + QLatin1Char('\n');
  }
  return out;
}

} // namespace tunebench
