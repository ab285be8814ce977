#include "ui/curvesview.h"

#include "core/runs/runstore.h"
#include "core/util/error.h"
#include "ui/charttheme.h"
#include "ui/plotview.h"

#include <QAreaSeries>
#include <QChart>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <set>

namespace tunebench {

namespace {
const QColor kPalette[] = {QColor(31, 119, 180),  QColor(214, 39, 40),  QColor(44, 160, 44),
                           QColor(148, 103, 189), QColor(255, 127, 14), QColor(140, 86, 75)};
}

CurvesView::CurvesView(QWidget *parent)
  : QWidget(parent)
{
  setObjectName(QStringLiteral("CurvesView"));
  m_series = new QComboBox(this);
  m_series->setObjectName(QStringLiteral("CurveSeries"));
  m_series->addItem(QStringLiteral("validation/loss"));
  m_band = new QComboBox(this);
  m_band->addItems({tr("band: min–max"), tr("band: 95% CI"), tr("no band")});
  m_band->setToolTip(
      tr("Around a group's mean: its lowest and highest run, or the 95% confidence interval of the "
         "mean (mean ± t(0.975, n − 1) · sd / √n)"));
  m_axis = new QComboBox(this);
  m_axis->addItems({tr("x: step"), tr("x: epoch"), tr("x: tokens")});
  m_smoothing = new QDoubleSpinBox(this);
  m_smoothing->setRange(0, 0.99);
  m_smoothing->setSingleStep(0.1);
  m_smoothing->setPrefix(tr("smoothing "));
  m_smoothing->setToolTip(
      tr("Exponential moving average of each run's series before the mean: s = w·s + (1 − w)·v"));
  for (QComboBox *box : {m_series, m_band, m_axis}) { // the chart, not its controls, sets the width
    box->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    box->setMinimumContentsLength(7);
  }
  auto *controls = new QHBoxLayout;
  controls->setContentsMargins(0, 0, 0, 0);
  for (QWidget *w : std::initializer_list<QWidget *>{m_series, m_axis, m_band, m_smoothing})
    controls->addWidget(w);
  controls->addStretch(1);
  m_chart = themedChart();
  m_chart->setTitle(tr("Select runs and press Compare (curves overlaid), or group rows (mean and band)"));
  m_view = new PlotView(m_chart, this);
  m_view->setMinimumWidth(420);
  auto *layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(controls);
  layout->addWidget(m_view, 1);
  for (QComboBox *box : {m_series, m_band, m_axis})
    connect(box, &QComboBox::currentIndexChanged, this, &CurvesView::redraw);
  connect(m_smoothing, &QDoubleSpinBox::valueChanged, this, &CurvesView::redraw);
}

CurveOptions CurvesView::options() const
{
  CurveOptions o;
  o.series = m_series->currentText().toStdString();
  o.axis = static_cast<CurveAxis>(m_axis->currentIndex());
  o.band = m_band->currentIndex() == 0   ? CurveBand::MinMax
           : m_band->currentIndex() == 1 ? CurveBand::ConfidenceInterval
                                         : CurveBand::None;
  o.smoothing = m_smoothing->value();
  return o;
}

// The series every shown run has some of, validation/loss first.
void CurvesView::listSeries(const std::vector<std::int64_t> &runs)
{
  std::set<QString> names;
  for (std::int64_t run : runs)
    for (const auto &[split, name] : m_store->seriesNames(run))
      if (split != "train" || (name != "lr" && name != "tokens" && name != "tokens_per_s"))
        names.insert(QString::fromStdString(split + "/" + name));
  const QString current = m_series->currentText();
  m_series->blockSignals(true);
  m_series->clear();
  m_series->addItem(QStringLiteral("validation/loss"));
  for (const QString &n : names)
    if (n != QLatin1String("validation/loss"))
      m_series->addItem(n);
  m_series->setCurrentIndex(std::max(0, m_series->findText(current)));
  m_series->blockSignals(false);
}

void CurvesView::showRuns(const std::vector<std::int64_t> &runs)
{
  m_groups = false;
  m_shown.clear();
  for (std::int64_t id : runs)
    m_shown.push_back({tr("run %1").arg(id), {id}});
  if (m_store)
    listSeries(runs);
  redraw();
}

void CurvesView::showGroups(const std::vector<std::pair<QString, std::vector<std::int64_t>>> &groups)
{
  m_groups = true;
  m_shown = groups;
  std::vector<std::int64_t> all;
  for (const auto &g : groups)
    all.insert(all.end(), g.second.begin(), g.second.end());
  if (m_store)
    listSeries(all);
  redraw();
}

void CurvesView::clearChart()
{
  m_chart->removeAllSeries();
  for (QAbstractAxis *a : m_chart->axes())
    m_chart->removeAxis(a);
}

void CurvesView::redraw()
{
  clearChart();
  m_band->setEnabled(m_groups);
  if (!m_store || m_shown.empty())
    return;
  const CurveOptions o = options();
  auto *x = new QValueAxis;
  x->setTitleText(m_axis->currentText().mid(3));
  auto *y = new QValueAxis;
  y->setTitleText(m_series->currentText());
  m_chart->addAxis(x, Qt::AlignBottom);
  m_chart->addAxis(y, Qt::AlignLeft);
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  auto add = [&](QAbstractSeries *s) {
    m_chart->addSeries(s);
    s->attachAxis(x);
    s->attachAxis(y);
  };
  QStringList names;
  try {
    for (std::size_t i = 0; i < m_shown.size(); ++i) {
      const auto &[name, runs] = m_shown[i];
      names << name;
      const QColor colour = kPalette[i % 6];
      GroupCurve g;
      if (m_groups)
        g = groupCurve(*m_store, runs, o);
      else
        for (const auto &[px, py] : runCurve(*m_store, runs.front(), o)) {
          g.x.push_back(px);
          g.mean.push_back(py);
        }
      const std::size_t stride = std::max<std::size_t>(1, g.x.size() / 2000);
      auto *mean = new QLineSeries;
      mean->setName(m_groups ? tr("%1 (mean of %2 runs)").arg(name).arg(runs.size()) : name);
      mean->setPen(QPen(colour, 2.2));
      QLineSeries *low = nullptr, *high = nullptr;
      if (m_groups && o.band != CurveBand::None) {
        low = new QLineSeries;
        high = new QLineSeries;
      }
      for (std::size_t k = 0; k < g.x.size(); k += stride) {
        mean->append(g.x[k], g.mean[k]);
        x0 = std::min(x0, g.x[k]);
        x1 = std::max(x1, g.x[k]);
        const double lo = low ? g.low[k] : g.mean[k], hi = high ? g.high[k] : g.mean[k];
        y0 = std::min(y0, lo);
        y1 = std::max(y1, hi);
        if (low) {
          low->append(g.x[k], lo);
          high->append(g.x[k], hi);
        }
      }
      if (low) {
        auto *band = new QAreaSeries(high, low);
        band->setName(tr("%1 %2").arg(name, m_band->currentText().mid(6)));
        QColor fill = colour;
        fill.setAlpha(60);
        band->setBrush(fill);
        band->setPen(QPen(Qt::NoPen));
        add(band);
      }
      add(mean);
    }
  } catch (const Error &e) {
    clearChart();
    m_chart->setTitle(QString::fromUtf8(e.what()));
    return;
  }
  if (x0 < x1)
    x->setRange(x0, x1);
  if (y0 < y1)
    y->setRange(y0, y1);
  m_chart->setTitle(tr("%1 of %2").arg(m_series->currentText(), names.join(QStringLiteral(", "))));
}

int CurvesView::lineCount() const
{
  int n = 0;
  for (QAbstractSeries *s : m_chart->series())
    n += s->type() == QAbstractSeries::SeriesTypeLine;
  return n;
}

int CurvesView::bandCount() const
{
  int n = 0;
  for (QAbstractSeries *s : m_chart->series())
    n += s->type() == QAbstractSeries::SeriesTypeArea;
  return n;
}

} // namespace tunebench
