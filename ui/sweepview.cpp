#include "ui/sweepview.h"

#include "core/runs/runstore.h"
#include "ui/charttheme.h"
#include "ui/parallelcoordinates.h"
#include "ui/plotview.h"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHorizontalBarSeries>
#include <QLabel>
#include <QLogValueAxis>
#include <QScatterSeries>
#include <QTabWidget>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <set>

namespace tunebench {

SweepView::SweepView(QWidget *parent)
  : QWidget(parent)
{
  setObjectName(QStringLiteral("SweepView"));
  m_metric = new QComboBox(this);
  m_metric->setObjectName(QStringLiteral("SweepMetric"));
  m_key = new QComboBox(this);
  m_key->setToolTip(tr("The key on the scatter's x-axis"));
  m_coordinates = new ParallelCoordinates(this);
  m_scatter = themedChart();
  m_scatterView = new PlotView(m_scatter, this);
  m_importance = themedChart();
  m_importanceView = new PlotView(m_importance, this);
  m_importanceView->setToolTip(tr(
      "η² (correlation ratio): the share of the metric's variance that lies between the key's values — the "
      "variance of the group means (weighted by group size) over the total variance. Numbers with more than "
      "5 distinct values are first binned into 5 groups of equal count. 0: the metric does not move with "
      "the key; 1: the key alone decides it. With few runs per value it overstates."));
  m_tabs = new QTabWidget(this);
  m_tabs->addTab(m_coordinates, tr("Parallel coordinates"));
  auto *scatterPage = new QWidget(this);
  auto *scatterLayout = new QVBoxLayout(scatterPage);
  auto *keyRow = new QHBoxLayout;
  keyRow->addWidget(new QLabel(tr("x:"), scatterPage));
  keyRow->addWidget(m_key, 1);
  scatterLayout->addLayout(keyRow);
  scatterLayout->addWidget(m_scatterView, 1);
  m_tabs->addTab(scatterPage, tr("Scatter"));
  m_tabs->addTab(m_importanceView, tr("Importance"));
  auto *top = new QHBoxLayout;
  top->addWidget(new QLabel(tr("Metric:"), this));
  top->addWidget(m_metric, 1);
  auto *layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(m_tabs, 1);
  connect(m_metric, &QComboBox::currentTextChanged, this, &SweepView::rebuild);
  connect(m_key, &QComboBox::currentIndexChanged, this, &SweepView::drawScatter);
}

void SweepView::setRuns(const RunStore *store, std::vector<std::int64_t> runs)
{
  m_store = store;
  m_runs = std::move(runs);
  std::set<QString> metrics;
  for (std::int64_t id : m_runs)
    for (const auto &[name, v] : store->run(id).summary)
      if (std::isfinite(v))
        metrics.insert(QString::fromStdString(name));
  const QString current = m_metric->currentText();
  m_metric->blockSignals(true);
  m_metric->clear();
  for (const QString &m : metrics)
    m_metric->addItem(m);
  const int keep = m_metric->findText(current.isEmpty() ? QStringLiteral("test.accuracy") : current);
  m_metric->setCurrentIndex(keep >= 0 ? keep
                                      : std::max(0, m_metric->findText(QStringLiteral("test.accuracy"))));
  m_metric->blockSignals(false);
  rebuild();
}

void SweepView::rebuild()
{
  if (!m_store)
    return;
  m_table = sweepTable(*m_store, m_runs, m_metric->currentText().toStdString());
  m_importances = keyImportance(m_table);
  m_coordinates->setTable(m_table);
  m_key->blockSignals(true);
  m_key->clear();
  for (const SweepTable::Key &k : m_table.keys)
    m_key->addItem(QString::fromStdString(k.name));
  m_key->blockSignals(false);
  drawScatter();
  drawImportance();
}

void SweepView::drawScatter()
{
  m_scatter->removeAllSeries();
  for (QAbstractAxis *a : m_scatter->axes())
    m_scatter->removeAxis(a);
  const int k = m_key->currentIndex();
  if (k < 0 || m_table.runs.empty()) {
    m_scatter->setTitle(tr("No swept key"));
    return;
  }
  const SweepTable::Key &key = m_table.keys[static_cast<std::size_t>(k)];
  auto *s = new QScatterSeries;
  s->setName(tr("runs"));
  s->setMarkerSize(9);
  for (std::size_t r = 0; r < m_table.runs.size(); ++r) {
    const std::string &v = m_table.values[r][static_cast<std::size_t>(k)];
    const double x =
        key.numeric
            ? std::stod(v)
            : static_cast<double>(std::find(key.levels.begin(), key.levels.end(), v) - key.levels.begin());
    s->append(x, m_table.metricValues[r]);
  }
  m_scatter->addSeries(s);
  QAbstractAxis *x = nullptr;
  if (key.numeric && key.log) {
    auto *lx = new QLogValueAxis;
    lx->setBase(10);
    lx->setLabelFormat(QStringLiteral("%g"));
    x = lx;
  } else {
    auto *vx = new QValueAxis;
    if (!key.numeric)
      vx->setTickCount(static_cast<int>(key.levels.size()));
    x = vx;
  }
  QString title = QString::fromStdString(key.name);
  if (!key.numeric) {
    QStringList levels;
    for (std::size_t i = 0; i < key.levels.size(); ++i)
      levels << QStringLiteral("%1 = %2").arg(i).arg(QString::fromStdString(key.levels[i]));
    title += QStringLiteral(" (") + levels.join(QStringLiteral(", ")) + QLatin1Char(')');
  }
  x->setTitleText(title);
  auto *y = new QValueAxis;
  y->setTitleText(QString::fromStdString(m_table.metric));
  m_scatter->addAxis(x, Qt::AlignBottom);
  m_scatter->addAxis(y, Qt::AlignLeft);
  s->attachAxis(x);
  s->attachAxis(y);
  const auto [lo, hi] = std::minmax_element(m_table.metricValues.begin(), m_table.metricValues.end());
  const double pad = *hi > *lo ? 0.1 * (*hi - *lo) : 0.01;
  y->setRange(*lo - pad, *hi + pad);
  if (auto *vx = qobject_cast<QValueAxis *>(x); vx && !key.numeric)
    vx->setRange(-0.5, static_cast<double>(key.levels.size()) - 0.5);
  else if (key.numeric) { // the outer points inside the frame
    const double a = std::stod(key.levels.front()), b = std::stod(key.levels.back());
    if (key.log)
      x->setRange(a / 1.5, b * 1.5);
    else {
      const double margin = b > a ? 0.08 * (b - a) : std::max(1e-9, std::abs(a) * 0.1);
      x->setRange(a - margin, b + margin);
    }
  }
  m_scatter->setTitle(
      tr("%1 against %2").arg(QString::fromStdString(m_table.metric), QString::fromStdString(key.name)));
}

void SweepView::drawImportance()
{
  m_importance->removeAllSeries();
  for (QAbstractAxis *a : m_importance->axes())
    m_importance->removeAxis(a);
  if (m_table.keys.empty()) {
    m_importance->setTitle(tr("No swept key"));
    return;
  }
  auto *set = new QBarSet(tr("η² of %1").arg(QString::fromStdString(m_table.metric)));
  QStringList names;
  for (std::size_t k = 0; k < m_table.keys.size(); ++k) {
    *set << m_importances[k];
    names << QString::fromStdString(m_table.keys[k].name);
  }
  auto *series = new QHorizontalBarSeries;
  series->append(set);
  m_importance->addSeries(series);
  auto *keys = new QBarCategoryAxis;
  keys->append(names);
  auto *value = new QValueAxis;
  value->setRange(0, 1);
  value->setTitleText(tr("η²: share of the metric's variance between the key's values"));
  m_importance->addAxis(keys, Qt::AlignLeft);
  m_importance->addAxis(value, Qt::AlignBottom);
  series->attachAxis(keys);
  series->attachAxis(value);
  m_importance->setTitle(tr("Which keys move %1 (%2 runs)")
                             .arg(QString::fromStdString(m_table.metric))
                             .arg(m_table.runs.size()));
}

} // namespace tunebench
