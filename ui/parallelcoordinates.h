#pragma once

#include "core/runs/sweeptable.h"

#include <QList>
#include <QWidget>

#include <map>
#include <utility>

class QAction;

namespace tunebench {

// A sweep in parallel coordinates: one vertical axis per swept key (numbers by value, on a log
// scale when they span 100× or more; other values evenly spaced) and the metric last, one line per
// run coloured by its metric. Drag along an axis to brush a range: runs outside every brush turn
// grey (click an axis to clear its brush). Right-click: PNG, SVG (written by tunebench) and CSV.
class ParallelCoordinates final : public QWidget
{
  Q_OBJECT

public:
  explicit ParallelCoordinates(QWidget *parent = nullptr);

  void setTable(SweepTable table);
  const SweepTable &table() const { return m_table; }
  int axisCount() const { return static_cast<int>(m_table.keys.size()) + 1; }
  int lineCount() const { return static_cast<int>(m_table.runs.size()); }
  // Runs inside every brush (all when none).
  int visibleLines() const;
  // A brush on axis (0 … axisCount − 1) over [lo, hi] in its height's fraction (0 = bottom).
  void setBrush(int axis, double lo, double hi);
  void clearBrushes();
  // Where a run's line crosses an axis (0 = bottom, 1 = top).
  double position(int axis, int run) const;

  bool savePng(const QString &file);
  bool saveSvg(const QString &file) const;
  bool saveCsv(const QString &file) const;
  QString svg() const;
  QString csv() const;
  QList<QAction *> exportActions() const { return m_actions; }

Q_SIGNALS:
  void brushed();

protected:
  void paintEvent(QPaintEvent *event) override;
  void mousePressEvent(QMouseEvent *event) override;
  void mouseMoveEvent(QMouseEvent *event) override;
  void mouseReleaseEvent(QMouseEvent *event) override;
  void contextMenuEvent(QContextMenuEvent *event) override;

private:
  QRectF plotArea(const QSizeF &size) const;
  double axisX(int axis, const QRectF &area) const;
  int axisAt(double x) const;
  bool visible(int run) const;
  QString axisName(int axis) const;
  QColor colour(int run) const;

  SweepTable m_table;
  std::map<int, std::pair<double, double>> m_brushes;
  int m_dragAxis = -1;
  double m_dragStart = 0;
  QList<QAction *> m_actions;
};

} // namespace tunebench
