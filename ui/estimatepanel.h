#pragma once

#include "core/config/experiment.h"
#include "ui/background.h"

#include <QPointer>
#include <QThread>
#include <QWidget>

#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

class QChart;
class QLabel;
class QTimer;

namespace tunebench {

// A duration as the estimate shows it: "8.5 s", "42 s", "12 min", "1.5 h".
QString formatDuration(double seconds);

// Beside the experiment: what the run will cost, updated as the YAML is edited (after a pause in
// typing, computed on a worker thread): the model's size, trainable parameters and their share,
// rows and steps, memory of one step against this machine's memory (with the remedies when it
// does not fit, each applicable with a click), a time estimate, and a preview of the learning-rate schedule.
class EstimatePanel final : public QWidget
{
  Q_OBJECT

public:
  explicit EstimatePanel(QWidget *parent = nullptr);
  ~EstimatePanel() override;
  // Plans the parsed experiment (on a worker thread) after a short pause.
  void request(std::shared_ptr<const ConfigResult> parsed);
  QLabel *text() const { return m_text; }
  QChart *learningRateChart() const { return m_chart; }
  // The estimated wall time of the run (seconds; NaN when there is no estimate).
  double totalSeconds() const { return m_totalSeconds; }
  int remedyCount() const { return static_cast<int>(m_remedies.size()); }
  // What the "Apply" link of remedy i does: remedyChosen with its overrides.
  void applyRemedy(int i);

Q_SIGNALS:
  void updated();
  void remedyChosen(const QList<QPair<QString, QString>> &overrides);

private:
  void start();

  std::shared_ptr<const ConfigResult> m_parsed;
  bool m_dirty = false;
  double m_totalSeconds = std::numeric_limits<double>::quiet_NaN();
  BackgroundSlot m_thread;
  QTimer *m_timer = nullptr;
  QLabel *m_text = nullptr;
  QChart *m_chart = nullptr;
  std::vector<std::vector<std::pair<std::string, std::string>>> m_remedies; // the shown remedies' overrides
};

} // namespace tunebench
