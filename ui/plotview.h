#pragma once

#include <QChartView>
#include <QList>
#include <QPointF>
#include <QString>

#include <functional>

class QAction;
class QXYSeries;

namespace tunebench {

// Every chart of the workbench is shown through this view (the one place to change when the
// charts move to Qt Graphs): antialiased, in the desktop's theme (themedChart), and with a
// right-click menu to save the chart as PNG or SVG or its data as CSV.
class PlotView final : public QChartView
{
  Q_OBJECT

public:
  explicit PlotView(QChart *chart, QWidget *parent = nullptr);

  // The pixels as shown.
  bool savePng(const QString &file);
  // Vector: the title, the axes with their ranges and ticks, every line, scatter and area series
  // in its colour, bar sets as bars, the legend's names. Written by tunebench (no QtSvg here).
  bool saveSvg(const QString &file) const;
  // One row per point: series,x,y (bar sets: set,category,value).
  bool saveCsv(const QString &file) const;
  // The right-click menu's actions (Save as PNG…, Save as SVG…, Export data as CSV…).
  QList<QAction *> exportActions() const { return m_actions; }

protected:
  void contextMenuEvent(QContextMenuEvent *event) override;

private:
  QList<QAction *> m_actions;
};

// The chart's data and drawing, as saveCsv/saveSvg write them.
QString chartCsv(const QChart *chart);
QString chartSvg(const QChart *chart, const QSizeF &size);

// The text written to `file` as UTF-8 (replacing it); false when it cannot be written.
bool writeText(const QString &file, const QString &text);
// A CSV field: as it is, or quoted (quotes doubled) when it holds a comma, a quote or a line break.
QString csvField(QString s);

// A "Save as …" action of `owner`: asks for a file (the dialog titled `text`, `filter`), then save(file).
QAction *saveAction(QWidget *owner, const QString &text, const QString &filter,
                    std::function<bool(const QString &)> save);

// Save as PNG…, Save as SVG… and Export data as CSV… of a view with savePng, saveSvg and saveCsv.
template <typename View> QList<QAction *> exportActionsOf(View *view)
{
  return {saveAction(view, View::tr("Save as PNG…"), View::tr("PNG image (*.png)"),
                     [view](const QString &f) { return view->savePng(f); }),
          saveAction(view, View::tr("Save as SVG…"), View::tr("SVG drawing (*.svg)"),
                     [view](const QString &f) { return view->saveSvg(f); }),
          saveAction(view, View::tr("Export data as CSV…"), View::tr("CSV (*.csv)"),
                     [view](const QString &f) { return view->saveCsv(f); })};
}

// Adds points to a line or scatter series with one replace() (one repaint instead of one per
// point). Over maxPoints, every other point is dropped (the last kept): bounded memory and redraw
// time however long a run is.
void appendPoints(QXYSeries *series, const QList<QPointF> &points, int maxPoints);

} // namespace tunebench
