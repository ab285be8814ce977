#include "ui/monitorview.h"

#include <QChart>
#include <QChartView>
#include <QGridLayout>
#include <QLabel>
#include <QLineSeries>
#include <QPen>
#include <QProgressBar>
#include <QScatterSeries>
#include <QValueAxis>
#include <QVBoxLayout>

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
  m_banner = new QLabel(this);
  m_banner->setObjectName(QStringLiteral("DiagnosisBanner"));
  m_banner->setWordWrap(true);
  m_banner->setVisible(false);
  m_banner->setStyleSheet(QStringLiteral("QLabel { background: #fff3cd; color: #5c4400; border: 1px solid #e0c060;"
                                         " border-radius: 4px; padding: 6px; }"));
  layout->addWidget(m_title);
  layout->addWidget(m_progress);
  layout->addWidget(m_status);
  layout->addWidget(m_banner);
  auto *grid = new QGridLayout;
  m_loss = makeChart(tr("Loss"));
  m_metric = makeChart(tr("Validation metric"));
  m_lr = makeChart(tr("Learning rate"));
  m_grad = makeChart(tr("Gradient norm"));
  grid->addWidget(m_loss.view, 0, 0);
  grid->addWidget(m_metric.view, 0, 1);
  grid->addWidget(m_lr.view, 1, 0);
  grid->addWidget(m_grad.view, 1, 1);
  layout->addLayout(grid, 1);

  auto series = [](Chart &c, const QString &name, QColor color) {
    auto *s = new QLineSeries;
    s->setName(name);
    s->setPen(QPen(color, 1.6));
    c.chart->addSeries(s);
    s->attachAxis(c.x);
    s->attachAxis(c.y);
    return s;
  };
  m_overfit = series(m_loss, tr("over-fitting"), QColor(230, 160, 40, 90));
  m_overfit->setPen(QPen(QColor(230, 160, 40, 120), 6));
  m_trainLoss = series(m_loss, tr("train (smoothed)"), QColor(31, 119, 180));
  m_valLoss = series(m_loss, tr("validation"), QColor(214, 39, 40));
  m_valMetric = series(m_metric, tr("validation"), QColor(44, 160, 44));
  m_lrSeries = series(m_lr, tr("learning rate"), QColor(148, 103, 189));
  m_gradSeries = series(m_grad, tr("gradient norm"), QColor(140, 86, 75));
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
  c.chart = new QChart;
  c.chart->setTitle(title);
  c.chart->legend()->setAlignment(Qt::AlignBottom);
  c.chart->setMargins(QMargins(4, 4, 4, 4));
  c.x = new QValueAxis;
  c.x->setTitleText(tr("step"));
  c.x->setLabelFormat(QStringLiteral("%d"));
  c.y = new QValueAxis;
  c.chart->addAxis(c.x, Qt::AlignBottom);
  c.chart->addAxis(c.y, Qt::AlignLeft);
  c.view = new QChartView(c.chart, this);
  c.view->setRenderHint(QPainter::Antialiasing);
  c.view->setMinimumSize(300, 200);
  return c;
}

void MonitorView::append(QLineSeries *series, double x, double y)
{
  if (!std::isfinite(y))
    return;
  series->append(x, y);
  if (series->count() > kMaxPoints) { // keep every other point: bounded memory and redraw time
    QList<QPointF> points = series->points();
    QList<QPointF> kept;
    for (int i = 0; i < points.size(); i += 2)
      kept.append(points[i]);
    series->replace(kept);
  }
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
  const double pad = (y1 - y0) * 0.08 + 1e-12;
  c.x->setRange(0, std::max(x1, x0 + 1));
  c.y->setRange(y0 >= 0 ? std::max(0.0, y0 - pad) : y0 - pad, y1 + pad);
}

void MonitorView::reset(const QString &title, const QString &metric)
{
  m_title->setText(title);
  m_metricName = metric;
  m_metric.chart->setTitle(tr("Validation %1").arg(metric));
  for (QLineSeries *s : {m_trainLoss, m_valLoss, m_valMetric, m_lrSeries, m_gradSeries, m_overfit})
    s->clear();
  m_overfit->setVisible(false);
  m_best->clear();
  m_banner->clear();
  m_banner->setVisible(false);
  m_progress->setValue(0);
  m_status->clear();
  m_seen = 0;
}

void MonitorView::addSteps(const std::vector<StepEvent> &steps)
{
  for (const StepEvent &e : steps) {
    m_smoothed = m_seen++ == 0 ? e.loss : 0.95 * m_smoothed + 0.05 * e.loss;
    append(m_trainLoss, static_cast<double>(e.step), m_smoothed);
    append(m_lrSeries, static_cast<double>(e.step), e.learningRate);
    append(m_gradSeries, static_cast<double>(e.step), e.gradNorm);
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
}

void MonitorView::addEvaluation(const EvalEvent &e)
{
  if (e.split != "validation")
    return;
  append(m_valLoss, static_cast<double>(e.step), e.loss);
  const auto it = e.metrics.find(m_metricName.toStdString());
  if (it != e.metrics.end()) {
    append(m_valMetric, static_cast<double>(e.step), it->second);
    if (e.best) {
      m_best->clear();
      m_best->append(static_cast<double>(e.step), it->second);
    }
  }
  fit(m_loss, {m_trainLoss, m_valLoss});
  fit(m_metric, {m_valMetric});
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
  if (d.kind == Diagnosis::Kind::Overfitting && m_loss.y) {
    // Shade where over-fitting began: a thick band along the bottom of the loss chart.
    m_overfit->clear();
    const double y = m_loss.y->min();
    m_overfit->append(static_cast<double>(d.step), y);
    m_overfit->append(m_loss.x->max(), y);
    m_overfit->setVisible(true);
  }
}

void MonitorView::setFinished(const QString &status, const QString &reason)
{
  m_status->setText(tr("%1: %2").arg(status, reason));
  if (status == QLatin1String("finished") || status == QLatin1String("early_stopped"))
    m_progress->setValue(1000);
}

int MonitorView::trainPoints() const { return static_cast<int>(m_trainLoss->count()); }
int MonitorView::validationPoints() const { return static_cast<int>(m_valLoss->count()); }
QString MonitorView::banner() const { return m_banner->text(); }

} // namespace tunebench
