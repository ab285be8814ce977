#pragma once

#include "core/runs/sweeptable.h"

#include <QWidget>

#include <cstdint>
#include <vector>

class QChart;
class QComboBox;
class QTabWidget;

namespace tunebench {

class ParallelCoordinates;
class PlotView;
class RunStore;

// The runs of a sweep (or any selected runs) against a summary metric: parallel coordinates of the
// swept keys, a scatter of the metric against one key, and each key's importance (η², the share of
// the metric's variance between the key's values). Charts export as PNG, SVG and CSV.
class SweepView final : public QWidget
{
  Q_OBJECT

public:
  explicit SweepView(QWidget *parent = nullptr);

  void setRuns(const RunStore *store, std::vector<std::int64_t> runs);
  QComboBox *metricBox() const { return m_metric; }
  QComboBox *keyBox() const { return m_key; }
  ParallelCoordinates *coordinates() const { return m_coordinates; }
  QChart *scatter() const { return m_scatter; }
  QChart *importance() const { return m_importance; }
  QTabWidget *tabs() const { return m_tabs; }
  const std::vector<double> &importances() const { return m_importances; }

private:
  void rebuild();
  void drawScatter();
  void drawImportance();

  const RunStore *m_store = nullptr;
  std::vector<std::int64_t> m_runs;
  SweepTable m_table;
  std::vector<double> m_importances;
  QComboBox *m_metric = nullptr, *m_key = nullptr;
  QTabWidget *m_tabs = nullptr;
  ParallelCoordinates *m_coordinates = nullptr;
  QChart *m_scatter = nullptr, *m_importance = nullptr;
  PlotView *m_scatterView = nullptr, *m_importanceView = nullptr;
};

} // namespace tunebench
