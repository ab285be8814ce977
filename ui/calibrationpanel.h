#pragma once

#include "core/eval/decision.h"

#include <QWidget>

#include <string>
#include <vector>

class QLabel;
class QPushButton;

namespace tunebench {

// The Evaluate tab's calibration of a single-label run: temperature scaling and (binary tasks) the
// F1-best decision threshold, both fitted on the validation split and shown on the evaluated split
// (NLL and ECE before/after; the metrics with the threshold); "Save" writes them as the run's
// decision rule (RUN/decision.json), which `eval`/`predict`/`export --calibrated` apply.
class CalibrationPanel final : public QWidget
{
  Q_OBJECT

public:
  struct Probabilities
  {
    std::vector<std::vector<double>> probabilities;
    std::vector<int> truth;
  };

  explicit CalibrationPanel(QWidget *parent = nullptr);

  // The evaluated run; `validation` and `split` as TrainedRun::evaluateDetailed gave them.
  void setRun(const QString &runDir, const std::vector<std::string> &labels, Probabilities validation,
              Probabilities split, const QString &splitName);
  void clear(const QString &why);
  void fitTemperature();
  void tuneThreshold();
  bool save(); // the fitted rule as RUN/decision.json
  QPushButton *temperatureButton() const { return m_temperature; }
  QPushButton *thresholdButton() const { return m_threshold; }
  QPushButton *saveButton() const { return m_save; }
  QLabel *report() const { return m_report; }
  const DecisionRule &rule() const { return m_rule; }
  // The evaluated split's metrics with the fitted rule applied (empty before a fit).
  const std::map<std::string, double> &appliedMetrics() const { return m_applied; }

private:
  void apply();

  QString m_runDir, m_splitName;
  std::vector<std::string> m_labels;
  Probabilities m_validation, m_split;
  DecisionRule m_rule;
  std::map<std::string, double> m_applied;
  QStringList m_lines;   // what was fitted, in order
  QString m_appliedLine; // the split's metrics with the rule
  QLabel *m_report = nullptr;
  QPushButton *m_temperature = nullptr, *m_threshold = nullptr, *m_save = nullptr;
};

} // namespace tunebench
