#pragma once

#include "core/train/trainer.h"

#include <QWidget>

#include <cmath>
#include <vector>

class QChart;
class QChartView;
class QLabel;
class QLineSeries;
class QProgressBar;
class QScatterSeries;
class QValueAxis;
class QAbstractAxis;
class QAreaSeries;
class QCheckBox;
class QComboBox;
class QSlider;

class QHBoxLayout;

namespace tunebench {

class PlanQueue;

// The live monitor: training and validation loss, the task metric, learning rate and gradient
// norm, updated as batches of events arrive; the best checkpoint marked; diagnosis banners with
// their remedies, the over-fitting region shaded; progress, tokens/s and ETA. The x-axis counts
// steps or epochs, the training loss is smoothed (EMA, adjustable) and the loss axis may be
// logarithmic. Series and the raw events behind them are bounded (halved when they pass
// kMaxPoints) so long runs stay cheap to draw.
class MonitorView final : public QWidget
{
  Q_OBJECT

public:
  static constexpr int kMaxPoints = 4000;
  explicit MonitorView(QWidget *parent = nullptr);

  // stepsPerEpoch: for the epoch x-axis (0: estimated from the events).
  void reset(const QString &title, const QString &metric, long stepsPerEpoch = 0);
  void addSteps(const std::vector<StepEvent> &steps);
  void addEvaluation(const EvalEvent &e);
  void addDiagnosis(const Diagnosis &d);
  void setFinished(const QString &status, const QString &reason);
  // The run's plan as the trainer made it: the epoch axis and the metric chart follow it.
  void setPlan(const StartEvent &plan);

  // The running plan's queue (hidden for single runs).
  PlanQueue *planQueue() const { return m_queue; }

  // For tests and screenshots.
  int trainPoints() const;
  int validationPoints() const;
  QString banner() const;
  void setEpochAxis(bool epochs);
  void setSmoothing(double weight); // 0 (raw) … 0.99
  void setLogScale(bool log);
  bool logScale() const { return m_log; }
  QPointF lastTrainPoint() const; // (x, smoothed loss) as drawn
  bool overfittingShaded() const;
  int referencePoints() const; // the forgetting chart's points (its start included)

private:
  QHBoxLayout *createControls();
  void createSeries();
  void showRanks(const std::vector<StepEvent> &steps);
  struct Chart
  {
    QChart *chart = nullptr;
    QChartView *view = nullptr;
    QValueAxis *x = nullptr;
    QAbstractAxis *y = nullptr; // a value axis, or a log axis for the loss
  };
  Chart makeChart(const QString &title);
  static void append(QLineSeries *series, double x, double y);
  void fit(Chart &c, const std::vector<QLineSeries *> &series);
  double xOf(long step) const;
  void plotSteps(std::size_t from);
  void plotEvaluation(const EvalEvent &e);
  void redraw();
  void shadeOverfitting();

  QLabel *m_title = nullptr, *m_status = nullptr, *m_banner = nullptr;
  QLabel *m_ranks = nullptr; // data parallel: each rank's tokens/s and last heartbeat
  QProgressBar *m_progress = nullptr;
  PlanQueue *m_queue = nullptr;
  Chart m_loss, m_metric, m_lr, m_grad, m_forgetting; // m_forgetting: shown with forgetting.reference
  QLineSeries *m_trainLoss = nullptr, *m_valLoss = nullptr, *m_valMetric = nullptr, *m_lrSeries = nullptr,
              *m_gradSeries = nullptr, *m_overfitTop = nullptr, *m_overfitBottom = nullptr,
              *m_reference = nullptr;
  QAreaSeries *m_overfit = nullptr;
  QScatterSeries *m_best = nullptr;
  QComboBox *m_axis = nullptr;
  QSlider *m_smoothing = nullptr;
  QCheckBox *m_logBox = nullptr;
  QString m_metricName;
  std::vector<StepEvent> m_steps; // raw, bounded like the series
  std::vector<EvalEvent> m_evals;
  long m_overfitStep = -1;
  long m_stepsPerEpoch = 0;
  bool m_epochAxis = false, m_log = false;
  double m_weight = 0.9;
  double m_smoothed = 0;
  long m_seen = 0;
  double m_referenceBefore = std::nan(""); // the forgetting meter before training
};

} // namespace tunebench
