#pragma once

#include "core/train/trainer.h"

#include <QWidget>

#include <vector>

class QChart;
class QChartView;
class QLabel;
class QLineSeries;
class QProgressBar;
class QScatterSeries;
class QValueAxis;

namespace tunebench {

// The live monitor: training and validation loss, the task metric, learning rate and gradient
// norm, updated as batches of events arrive; the best checkpoint marked; diagnosis banners with
// their remedies; progress, tokens/s and ETA. Series are bounded (halved when they pass
// kMaxPoints) so long runs stay cheap to draw.
class MonitorView final : public QWidget
{
  Q_OBJECT

public:
  static constexpr int kMaxPoints = 4000;
  explicit MonitorView(QWidget *parent = nullptr);

  void reset(const QString &title, const QString &metric);
  void addSteps(const std::vector<StepEvent> &steps);
  void addEvaluation(const EvalEvent &e);
  void addDiagnosis(const Diagnosis &d);
  void setFinished(const QString &status, const QString &reason);

  // For tests and screenshots.
  int trainPoints() const;
  int validationPoints() const;
  QString banner() const;

private:
  struct Chart
  {
    QChart *chart = nullptr;
    QChartView *view = nullptr;
    QValueAxis *x = nullptr, *y = nullptr;
  };
  Chart makeChart(const QString &title);
  static void append(QLineSeries *series, double x, double y);
  static void fit(Chart &c, const std::vector<QLineSeries *> &series);

  QLabel *m_title = nullptr, *m_status = nullptr, *m_banner = nullptr;
  QProgressBar *m_progress = nullptr;
  Chart m_loss, m_metric, m_lr, m_grad;
  QLineSeries *m_trainLoss = nullptr, *m_valLoss = nullptr, *m_valMetric = nullptr, *m_lrSeries = nullptr,
              *m_gradSeries = nullptr, *m_overfit = nullptr;
  QScatterSeries *m_best = nullptr;
  QString m_metricName;
  double m_smoothed = 0;
  long m_seen = 0;
};

} // namespace tunebench
