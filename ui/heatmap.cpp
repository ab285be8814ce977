#include "ui/heatmap.h"

#include "ui/plotview.h"

#include <QContextMenuEvent>
#include <QFile>
#include <QMenu>
#include <QPainter>

#include <algorithm>

namespace tunebench {

HeatMap::HeatMap(QWidget *parent)
  : QWidget(parent)
{
  setObjectName(QStringLiteral("ConfusionHeatMap"));
  setMinimumSize(240, 200);
}

void HeatMap::setMatrix(const std::vector<std::vector<int>> &counts, const QStringList &labels)
{
  m_counts = counts;
  m_labels = labels;
  update();
}

void HeatMap::paintEvent(QPaintEvent *)
{
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  const int n = static_cast<int>(m_counts.size());
  if (n == 0) {
    p.drawText(rect(), Qt::AlignCenter,
               tr("Evaluate a classification or tagging run to see its confusion matrix"));
    return;
  }
  const QFontMetrics fm(font());
  int labelWidth = 0;
  for (const QString &l : m_labels)
    labelWidth = std::max(labelWidth, fm.horizontalAdvance(l));
  labelWidth = std::min(labelWidth + 8, width() / 3);
  const int top = fm.height() * 2 + 4, left = labelWidth + fm.height() + 4;
  const double cell = std::max(4.0, std::min((width() - left - 4.0) / n, (height() - top - 4.0) / n));
  const QColor low = palette().color(QPalette::Base), high = palette().color(QPalette::Highlight);
  p.drawText(QRectF(left, 0, cell * n, fm.height()), Qt::AlignCenter, tr("predicted"));
  p.save();
  p.translate(fm.height() / 2.0, top + cell * n / 2);
  p.rotate(-90);
  p.drawText(QRectF(-cell * n / 2, -fm.height() / 2.0, cell * n, fm.height()), Qt::AlignCenter, tr("true"));
  p.restore();
  const bool writeCounts = cell >= fm.horizontalAdvance(QStringLiteral("0000")) && cell >= fm.height();
  for (int i = 0; i < n; ++i) {
    int rowTotal = 0;
    for (int c : m_counts[static_cast<std::size_t>(i)])
      rowTotal += c;
    const QString label = i < m_labels.size() ? m_labels[i] : QString::number(i);
    if (cell >= fm.height()) {
      p.drawText(QRectF(fm.height() + 2, top + i * cell, labelWidth - 4, cell),
                 Qt::AlignRight | Qt::AlignVCenter, fm.elidedText(label, Qt::ElideRight, labelWidth - 4));
      p.drawText(QRectF(left + i * cell, fm.height() + 2, cell, fm.height()), Qt::AlignCenter,
                 fm.elidedText(label, Qt::ElideRight, static_cast<int>(cell)));
    }
    for (int j = 0; j < n; ++j) {
      const int count = m_counts[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
      const double share = rowTotal > 0 ? static_cast<double>(count) / rowTotal : 0.0;
      const QColor fill = QColor::fromRgbF(low.redF() + (high.redF() - low.redF()) * share,
                                           low.greenF() + (high.greenF() - low.greenF()) * share,
                                           low.blueF() + (high.blueF() - low.blueF()) * share);
      const QRectF r(left + j * cell, top + i * cell, cell, cell);
      p.fillRect(r, fill);
      p.setPen(palette().color(QPalette::Mid));
      p.drawRect(r);
      if (writeCounts && count > 0) {
        p.setPen(share > 0.5 ? palette().color(QPalette::HighlightedText) : palette().color(QPalette::Text));
        p.drawText(r, Qt::AlignCenter, QString::number(count));
      }
      p.setPen(palette().color(QPalette::Text));
    }
  }
}

QString HeatMap::csv() const
{
  QStringList header = {QStringLiteral("true \\ predicted")};
  for (const QString &l : m_labels)
    header << csvField(l);
  QString out = header.join(QLatin1Char(',')) + QLatin1Char('\n');
  for (std::size_t i = 0; i < m_counts.size(); ++i) {
    QStringList row = {csvField(m_labels.value(static_cast<int>(i)))};
    for (int c : m_counts[i])
      row << QString::number(c);
    out += row.join(QLatin1Char(',')) + QLatin1Char('\n');
  }
  return out;
}

void HeatMap::contextMenuEvent(QContextMenuEvent *event)
{
  QMenu menu(this);
  menu.addAction(saveAction(&menu, tr("Save as PNG…"), tr("PNG image (*.png)"),
                            [this](const QString &file) { return grab().save(file, "PNG"); }));
  menu.addAction(saveAction(&menu, tr("Export data as CSV…"), tr("CSV (*.csv)"),
                            [this](const QString &file) { return writeText(file, csv()); }));
  menu.exec(event->globalPos());
}

} // namespace tunebench
