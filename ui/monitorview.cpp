#include "ui/monitorview.h"

#include "ui/charttheme.h"
#include "ui/planqueue.h"
#include "ui/plotview.h"

#include <QAreaSeries>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QPen>
#include <QProgressBar>
#include <QScatterSeries>
#include <QSlider>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace tunebench {

MonitorView::MonitorView(QWidget *parent) : QWidget(parent)
{
  setObjectName(QStringLiteral("MonitorView"));
  auto *layout = new QVBoxLayout(this);
  m_title = new QLabel(tr("<b>No run yet.</b> Start one from the Experiment tab."), this);
  m_progress = new QProgressBar(this);
  m_progress->setRange(0, 1000);
  m_status = new QLabel(this);
  m_ranks = new QLabel(this);
  m_ranks->setObjectName(QStringLiteral("RankStatus"));
  m_ranks->setVisible(false);
  m_banner = new QLabel(this);
  m_banner->setObjectName(QStringLiteral("DiagnosisBanner"));
  m_banner->setWordWrap(true);
  m_banner->setVisible(false);
  m_banner->setStyleSheet(QStringLiteral("QLabel { background: #fff3cd; color: #5c4400; border: 1px solid #e0c060;"
                                         " border-radius: 4px; padding: 6px; }"));
  layout->addWidget(m_title);
  layout->addWidget(m_progress);
  layout->addWidget(m_status);
  layout->addWidget(m_ranks);
  layout->addWidget(m_banner);
  m_queue = new PlanQueue(this);
  m_queue->setVisible(false);
  layout->addWidget(m_queue);
  layout->addLayout(createControls());
  auto *grid = new QGridLayout;
  m_loss = makeChart(tr("Loss"));
  m_metric = makeChart(tr("Validation metric"));
  m_lr = makeChart(tr("Learning rate"));
  m_grad = makeChart(tr("Gradient norm"));
  grid->addWidget(m_loss.view, 0, 0);
  grid->addWidget(m_metric.view, 0, 1);
  grid->addWidget(m_lr.view, 1, 0);
  grid->addWidget(m_grad.view, 1, 1);
  m_forgetting = makeChart(tr("Forgetting: the pre-training objective on the reference text"));
  grid->addWidget(m_forgetting.view, 2, 0, 1, 2);
  m_forgetting.view->setVisible(false);
  layout->addLayout(grid, 1);

  createSeries();
}

// The x-axis (steps or epochs), the smoothing of the training loss and a log-scale loss axis.
QHBoxLayout *MonitorView::createControls()
{
  auto *controls = new QHBoxLayout;
  m_axis = new QComboBox(this);
  m_axis->setObjectName(QStringLiteral("MonitorAxis"));
  m_axis->addItems({tr("steps"), tr("epochs")});
  m_smoothing = new QSlider(Qt::Horizontal, this);
  m_smoothing->setObjectName(QStringLiteral("MonitorSmoothing"));
  m_smoothing->setRange(0, 99);
  m_smoothing->setValue(static_cast<int>(m_weight * 100));
  m_smoothing->setMaximumWidth(160);
  m_smoothing->setToolTip(tr("Smoothing of the training loss (exponential moving average weight)"));
  auto *weight = new QLabel(QString::number(m_weight, 'f', 2), this);
  m_logBox = new QCheckBox(tr("Log-scale loss"), this);
  m_logBox->setObjectName(QStringLiteral("MonitorLogScale"));
  controls->addWidget(new QLabel(tr("x-axis:"), this));
  controls->addWidget(m_axis);
  controls->addSpacing(12);
  controls->addWidget(new QLabel(tr("Smoothing:"), this));
  controls->addWidget(m_smoothing);
  controls->addWidget(weight);
  controls->addSpacing(12);
  controls->addWidget(m_logBox);
  controls->addStretch(1);
  connect(m_axis, &QComboBox::currentIndexChanged, this, [this](int i) { setEpochAxis(i == 1); });
  connect(m_smoothing, &QSlider::valueChanged, this, [this, weight](int v) {
    weight->setText(QString::number(v / 100.0, 'f', 2));
    setSmoothing(v / 100.0);
  });
  connect(m_logBox, &QCheckBox::toggled, this, &MonitorView::setLogScale);
  return controls;
}

// The charts' series: losses, metric, learning rate, gradient norm, the over-fitting region and
// the best checkpoint.
void MonitorView::createSeries()
{
  auto series = [](Chart &c, const QString &name, QColor color) {
    auto *s = new QLineSeries;
    s->setName(name);
    s->setPen(QPen(color, 1.6));
    c.chart->addSeries(s);
    s->attachAxis(c.x);
    s->attachAxis(c.y);
    return s;
  };
  // The over-fitting region: an area from where it began to the right edge, full height.
  m_overfitTop = new QLineSeries(this);
  m_overfitBottom = new QLineSeries(this);
  m_overfit = new QAreaSeries(m_overfitTop, m_overfitBottom);
  m_overfit->setName(tr("over-fitting"));
  m_overfit->setBrush(QColor(230, 160, 40, 60));
  m_overfit->setPen(Qt::NoPen);
  m_loss.chart->addSeries(m_overfit);
  m_overfit->attachAxis(m_loss.x);
  m_overfit->attachAxis(m_loss.y);
  m_trainLoss = series(m_loss, tr("train (smoothed)"), QColor(31, 119, 180));
  m_valLoss = series(m_loss, tr("validation"), QColor(214, 39, 40));
  m_valMetric = series(m_metric, tr("validation"), QColor(44, 160, 44));
  m_lrSeries = series(m_lr, tr("learning rate"), QColor(148, 103, 189));
  m_gradSeries = series(m_grad, tr("gradient norm"), QColor(140, 86, 75));
  m_reference = series(m_forgetting, tr("reference loss (start at step 0)"), QColor(23, 190, 207));
  m_overfit->setVisible(false); // shown (with its legend entry) once over-fitting is diagnosed
  m_best = new QScatterSeries;
  m_best->setName(tr("best checkpoint"));
  m_best->setMarkerSize(11);
  m_best->setColor(QColor(255, 127, 14));
  m_metric.chart->addSeries(m_best);
  m_best->attachAxis(m_metric.x);
  m_best->attachAxis(m_metric.y);
}

MonitorView::Chart MonitorView::makeChart(const QString &title)
{
  Chart c;
  c.chart = themedChart();
  c.chart->setTitle(title);
  c.chart->legend()->setAlignment(Qt::AlignBottom);
  c.chart->setMargins(QMargins(4, 4, 4, 4));
  c.x = new QValueAxis(c.chart);
  c.x->setTitleText(tr("step"));
  c.x->setLabelFormat(QStringLiteral("%d"));
  c.y = new QValueAxis(c.chart);
  c.chart->addAxis(c.x, Qt::AlignBottom);
  c.chart->addAxis(c.y, Qt::AlignLeft);
  c.view = new PlotView(c.chart, this);
  c.view->setMinimumSize(300, 200);
  return c;
}

void MonitorView::append(QLineSeries *series, double x, double y)
{
  appendPoints(series, {QPointF(x, y)}, kMaxPoints);
}

void MonitorView::fit(Chart &c, const std::vector<QLineSeries *> &series)
{
  double x0 = 0, x1 = 1, y0 = 0, y1 = 0;
  bool any = false;
  for (QLineSeries *s : series)
    for (const QPointF &p : s->points()) {
      if (!any) {
        x0 = x1 = p.x();
        y0 = y1 = p.y();
        any = true;
      }
      x0 = std::min(x0, p.x());
      x1 = std::max(x1, p.x());
      y0 = std::min(y0, p.y());
      y1 = std::max(y1, p.y());
    }
  if (!any)
    return;
  c.x->setRange(0, std::max(x1, x0 + (m_epochAxis ? 0.1 : 1.0)));
  if (auto *log = qobject_cast<QLogValueAxis *>(c.y)) {
    y0 = std::max(y0, 1e-6);
    log->setRange(y0 / 1.2, std::max(y1, y0 * 1.01) * 1.2);
  } else if (auto *lin = qobject_cast<QValueAxis *>(c.y)) {
    const double pad = (y1 - y0) * 0.08 + 1e-12;
    lin->setRange(y0 >= 0 ? std::max(0.0, y0 - pad) : y0 - pad, y1 + pad);
  }
  if (&c == &m_loss)
    shadeOverfitting();
}

double MonitorView::xOf(long step) const
{
  if (!m_epochAxis)
    return static_cast<double>(step);
  long perEpoch = m_stepsPerEpoch;
  if (perEpoch <= 0) // estimated: the first step of epoch 1, else the run's length so far
    for (const StepEvent &e : m_steps)
      if (e.epoch >= 1) {
        perEpoch = std::max(1L, e.step - 1);
        break;
      }
  if (perEpoch <= 0)
    perEpoch = m_steps.empty() ? 1 : std::max(1L, m_steps.back().totalSteps);
  return static_cast<double>(step) / static_cast<double>(perEpoch);
}

void MonitorView::plotSteps(std::size_t from)
{
  QList<QPointF> loss, lr, grad; // a batch of steps: one replace() per series
  for (std::size_t i = from; i < m_steps.size(); ++i) {
    const StepEvent &e = m_steps[i];
    m_smoothed = m_seen++ == 0 ? e.loss : m_weight * m_smoothed + (1 - m_weight) * e.loss;
    loss.append(QPointF(xOf(e.step), m_smoothed));
    lr.append(QPointF(xOf(e.step), e.learningRate));
    grad.append(QPointF(xOf(e.step), e.gradNorm));
  }
  appendPoints(m_trainLoss, loss, kMaxPoints);
  appendPoints(m_lrSeries, lr, kMaxPoints);
  appendPoints(m_gradSeries, grad, kMaxPoints);
}

void MonitorView::plotEvaluation(const EvalEvent &e)
{
  append(m_valLoss, xOf(e.step), e.loss);
  if (const auto ref = e.metrics.find("reference_loss"); ref != e.metrics.end()) {
    if (m_reference->count() == 0 && !std::isnan(m_referenceBefore))
      append(m_reference, 0, m_referenceBefore);
    append(m_reference, xOf(e.step), ref->second);
    m_forgetting.view->setVisible(true);
  }
  const auto it = e.metrics.find(m_metricName.toStdString());
  if (it != e.metrics.end()) {
    append(m_valMetric, xOf(e.step), it->second);
    if (e.best) {
      m_best->clear();
      m_best->append(xOf(e.step), it->second);
    }
  }
}

void MonitorView::redraw()
{
  for (QLineSeries *s : {m_trainLoss, m_valLoss, m_valMetric, m_lrSeries, m_gradSeries, m_reference})
    s->clear();
  m_best->clear();
  m_seen = 0;
  plotSteps(0);
  for (const EvalEvent &e : m_evals)
    plotEvaluation(e);
  for (Chart *c : {&m_loss, &m_metric, &m_lr, &m_grad, &m_forgetting}) {
    c->x->setTitleText(m_epochAxis ? tr("epoch") : tr("step"));
    c->x->setLabelFormat(m_epochAxis ? QStringLiteral("%.1f") : QStringLiteral("%d"));
  }
  fit(m_loss, {m_trainLoss, m_valLoss});
  fit(m_metric, {m_valMetric});
  fit(m_lr, {m_lrSeries});
  fit(m_grad, {m_gradSeries});
  fit(m_forgetting, {m_reference});
}

int MonitorView::referencePoints() const
{
  return m_reference->count();
}

void MonitorView::shadeOverfitting()
{
  m_overfitTop->clear();
  m_overfitBottom->clear();
  m_overfit->setVisible(m_overfitStep >= 0);
  if (m_overfitStep < 0)
    return;
  double lo = 0, hi = 1;
  if (auto *log = qobject_cast<QLogValueAxis *>(m_loss.y)) {
    lo = log->min();
    hi = log->max();
  } else if (auto *lin = qobject_cast<QValueAxis *>(m_loss.y)) {
    lo = lin->min();
    hi = lin->max();
  }
  const double x0 = xOf(m_overfitStep), x1 = std::max(m_loss.x->max(), x0);
  m_overfitTop->append(x0, hi);
  m_overfitTop->append(x1, hi);
  m_overfitBottom->append(x0, lo);
  m_overfitBottom->append(x1, lo);
}

void MonitorView::setEpochAxis(bool epochs)
{
  m_epochAxis = epochs;
  m_axis->blockSignals(true);
  m_axis->setCurrentIndex(epochs ? 1 : 0);
  m_axis->blockSignals(false);
  redraw();
}

void MonitorView::setSmoothing(double weight)
{
  m_weight = std::clamp(weight, 0.0, 0.99);
  redraw();
}

void MonitorView::setLogScale(bool log)
{
  if (log == m_log)
    return;
  m_log = log;
  m_logBox->blockSignals(true);
  m_logBox->setChecked(log);
  m_logBox->blockSignals(false);
  QAbstractAxis *old = m_loss.y;
  QAbstractAxis *axis = nullptr;
  if (log) {
    auto *l = new QLogValueAxis(m_loss.chart);
    l->setBase(10);
    l->setLabelFormat(QStringLiteral("%.3g"));
    axis = l;
  } else {
    axis = new QValueAxis(m_loss.chart);
  }
  m_loss.chart->addAxis(axis, Qt::AlignLeft);
  for (QAbstractSeries *s : m_loss.chart->series()) {
    s->detachAxis(old);
    s->attachAxis(axis);
  }
  m_loss.chart->removeAxis(old);
  old->deleteLater();
  m_loss.y = axis;
  fit(m_loss, {m_trainLoss, m_valLoss});
}

QPointF MonitorView::lastTrainPoint() const
{
  return m_trainLoss->count() ? m_trainLoss->at(m_trainLoss->count() - 1) : QPointF();
}

bool MonitorView::overfittingShaded() const { return m_overfit->isVisible() && m_overfitTop->count() == 2; }

void MonitorView::reset(const QString &title, const QString &metric, long stepsPerEpoch)
{
  m_title->setText(title);
  m_metricName = metric;
  m_stepsPerEpoch = stepsPerEpoch;
  m_metric.chart->setTitle(tr("Validation %1").arg(metric));
  for (QLineSeries *s : {m_trainLoss, m_valLoss, m_valMetric, m_lrSeries, m_gradSeries, m_overfitTop,
                         m_overfitBottom, m_reference})
    s->clear();
  m_referenceBefore = std::nan("");
  m_forgetting.view->setVisible(false);
  m_steps.clear();
  m_evals.clear();
  m_overfitStep = -1;
  m_overfit->setVisible(false);
  m_best->clear();
  m_banner->clear();
  m_banner->setVisible(false);
  m_progress->setValue(0);
  m_status->clear();
  m_ranks->clear();
  m_ranks->setVisible(false);
  m_seen = 0;
}

void MonitorView::setPlan(const StartEvent &plan)
{
  m_stepsPerEpoch = plan.stepsPerEpoch;
  m_metricName = QString::fromStdString(plan.metric);
  m_referenceBefore = plan.referenceLossBefore;
  m_metric.chart->setTitle(tr("Validation %1").arg(m_metricName));
  if (m_epochAxis)
    redraw();
}

void MonitorView::addSteps(const std::vector<StepEvent> &steps)
{
  if (steps.empty())
    return;
  const std::size_t from = m_steps.size();
  m_steps.insert(m_steps.end(), steps.begin(), steps.end());
  plotSteps(from);
  if (m_steps.size() > 4 * static_cast<std::size_t>(kMaxPoints)) { // bounded raw buffer: every other event
    std::vector<StepEvent> kept;
    for (std::size_t i = 0; i < m_steps.size(); i += 2)
      kept.push_back(m_steps[i]);
    m_steps.swap(kept);
  }
  const StepEvent &last = steps.back();
  m_progress->setValue(static_cast<int>(1000.0 * static_cast<double>(last.step) / std::max(1L, last.totalSteps)));
  const double perStep = last.elapsedSeconds / std::max(1L, last.step);
  const double eta = perStep * static_cast<double>(last.totalSteps - last.step);
  m_status->setText(tr("epoch %1 · step %2 of %3 · loss %4 · %5 tokens/s · ETA %6 s")
                        .arg(last.epoch + 1)
                        .arg(last.step)
                        .arg(last.totalSteps)
                        .arg(m_smoothed, 0, 'f', 4)
                        .arg(last.tokensPerSecond, 0, 'f', 0)
                        .arg(eta, 0, 'f', 0));
  fit(m_loss, {m_trainLoss, m_valLoss});
  fit(m_lr, {m_lrSeries});
  fit(m_grad, {m_gradSeries});
  showRanks(steps);
}

void MonitorView::showRanks(const std::vector<StepEvent> &steps)
{
  const auto latest =
      std::find_if(steps.rbegin(), steps.rend(), [](const StepEvent &e) { return !e.ranks.empty(); });
  if (latest == steps.rend())
    return;
  QStringList parts;
  for (const StepEvent::Rank &r : latest->ranks)
    parts << (r.heartbeatAge < 0 ? tr("rank %1: no heartbeat yet").arg(r.rank)
                                 : tr("rank %1: step %2, %3 tokens/s, heartbeat %4 s ago")
                                       .arg(r.rank)
                                       .arg(r.step)
                                       .arg(r.tokensPerSecond, 0, 'f', 0)
                                       .arg(r.heartbeatAge, 0, 'f', 1));
  m_ranks->setText(tr("%1 processes — %2").arg(latest->ranks.size()).arg(parts.join(QStringLiteral(" · "))));
  m_ranks->setVisible(true);
}

void MonitorView::addEvaluation(const EvalEvent &e)
{
  if (e.split != "validation")
    return;
  m_evals.push_back(e);
  plotEvaluation(e);
  fit(m_loss, {m_trainLoss, m_valLoss});
  fit(m_metric, {m_valMetric});
  fit(m_forgetting, {m_reference});
}

void MonitorView::addDiagnosis(const Diagnosis &d)
{
  QString text = m_banner->text();
  if (!text.isEmpty())
    text += QStringLiteral("<br>");
  text += tr("<b>%1</b> from step %2: %3<br><i>Try:</i> %4")
              .arg(QString::fromStdString(d.title).toHtmlEscaped())
              .arg(d.step)
              .arg(QString::fromStdString(d.evidence).toHtmlEscaped())
              .arg(QString::fromStdString([&] {
                     std::string r;
                     for (const std::string &x : d.remedies)
                       r += (r.empty() ? "" : "; ") + x;
                     return r;
                   }())
                       .toHtmlEscaped());
  m_banner->setText(text);
  m_banner->setVisible(true);
  if (d.kind == Diagnosis::Kind::Overfitting) {
    m_overfitStep = d.step;
    shadeOverfitting();
  }
}

void MonitorView::setFinished(const QString &status, const QString &reason)
{
  m_status->setText(tr("%1: %2").arg(status, reason));
  if (completed(parseRunStatus(status.toStdString()).value_or(RunStatus::Failed)))
    m_progress->setValue(1000);
}

int MonitorView::trainPoints() const { return static_cast<int>(m_trainLoss->count()); }
int MonitorView::validationPoints() const { return static_cast<int>(m_valLoss->count()); }
QString MonitorView::banner() const { return m_banner->text(); }

} // namespace tunebench
