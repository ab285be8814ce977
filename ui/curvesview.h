#pragma once

#include "core/runs/groupcurves.h"

#include <QString>
#include <QWidget>

#include <cstdint>
#include <utility>
#include <vector>

class QChart;
class QComboBox;
class QDoubleSpinBox;

namespace tunebench {

class PlotView;
class RunStore;

// History's curves: runs overlaid one line each, or groups of runs (seeds, folds) each drawn as its
// mean with a band (min–max or the 95% interval, chosen) instead of N lines. The series, the
// x-axis (step, epoch or tokens) and the smoothing (EMA) are chosen above the chart; the chart
// exports as PNG, SVG and CSV from its right-click menu.
class CurvesView final : public QWidget
{
  Q_OBJECT

public:
  explicit CurvesView(QWidget *parent = nullptr);

  void setStore(const RunStore *store) { m_store = store; }
  void showRuns(const std::vector<std::int64_t> &runs);
  // Each group: its name and runs.
  void showGroups(const std::vector<std::pair<QString, std::vector<std::int64_t>>> &groups);

  QComboBox *seriesBox() const { return m_series; }
  QComboBox *bandBox() const { return m_band; }
  QComboBox *axisBox() const { return m_axis; }
  QDoubleSpinBox *smoothing() const { return m_smoothing; }
  QChart *chart() const { return m_chart; }
  PlotView *view() const { return m_view; }
  int lineCount() const; // line series drawn (a group's mean counts once)
  int bandCount() const; // area series drawn

private:
  CurveOptions options() const;
  void listSeries(const std::vector<std::int64_t> &runs);
  void redraw();
  void clearChart();

  const RunStore *m_store = nullptr;
  std::vector<std::pair<QString, std::vector<std::int64_t>>> m_shown; // runs: one each
  bool m_groups = false;
  QComboBox *m_series = nullptr, *m_band = nullptr, *m_axis = nullptr;
  QDoubleSpinBox *m_smoothing = nullptr;
  QChart *m_chart = nullptr;
  PlotView *m_view = nullptr;
};

} // namespace tunebench
