#include "ui/calibrationpanel.h"

#include "core/eval/analysis.h"
#include "core/util/error.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace tunebench {

CalibrationPanel::CalibrationPanel(QWidget *parent)
  : QWidget(parent)
{
  setObjectName(QStringLiteral("CalibrationPanel"));
  m_temperature = new QPushButton(tr("Fit &temperature"), this);
  m_temperature->setToolTip(tr("Temperature scaling: the T that minimises the validation split's negative "
                               "log-likelihood of softmax(log p / T); the ranking of labels is unchanged"));
  m_threshold = new QPushButton(tr("Tune t&hreshold"), this);
  m_threshold->setToolTip(
      tr("Binary tasks: the threshold on p(positive) with the best F1 of the positive label "
         "on validation (on the tempered probabilities when a temperature is fitted)"));
  m_save = new QPushButton(tr("&Save as the run's decision rule"), this);
  m_save->setToolTip(tr("Writes RUN/decision.json; eval, predict and export apply it with --calibrated"));
  m_report = new QLabel(this);
  m_report->setObjectName(QStringLiteral("CalibrationReport"));
  m_report->setWordWrap(true);
  m_report->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_report->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  auto *buttons = new QHBoxLayout;
  buttons->addWidget(m_temperature);
  buttons->addWidget(m_threshold);
  buttons->addStretch(1);
  buttons->addWidget(m_save);
  auto *layout = new QVBoxLayout(this);
  layout->addLayout(buttons);
  layout->addWidget(m_report, 1);
  connect(m_temperature, &QPushButton::clicked, this, &CalibrationPanel::fitTemperature);
  connect(m_threshold, &QPushButton::clicked, this, &CalibrationPanel::tuneThreshold);
  connect(m_save, &QPushButton::clicked, this, &CalibrationPanel::save);
  clear(tr("Evaluate a single-label classification run to calibrate it."));
}

void CalibrationPanel::clear(const QString &why)
{
  m_runDir.clear();
  m_rule = {};
  m_applied.clear();
  m_appliedLine.clear();
  m_lines = {why};
  m_report->setText(why);
  for (QPushButton *b : {m_temperature, m_threshold, m_save})
    b->setEnabled(false);
}

void CalibrationPanel::setRun(const QString &runDir, const std::vector<std::string> &labels,
                              Probabilities validation, Probabilities split, const QString &splitName)
{
  clear({});
  m_runDir = runDir;
  m_labels = labels;
  m_validation = std::move(validation);
  m_split = std::move(split);
  m_splitName = splitName;
  m_lines.clear();
  try {
    if (const auto saved = loadDecisionRule(runDir.toStdString(), labels))
      m_lines << tr("Saved decision rule: temperature %1%2")
                     .arg(saved->temperature, 0, 'f', 4)
                     .arg(saved->positive >= 0 ? tr(", threshold %1 on \"%2\"")
                                                     .arg(saved->threshold, 0, 'f', 4)
                                                     .arg(QString::fromStdString(
                                                         labels[static_cast<std::size_t>(saved->positive)]))
                                               : QString());
  } catch (const Error &e) {
    m_lines << QString::fromUtf8(e.what());
  }
  if (m_lines.isEmpty())
    m_lines << tr("No decision rule saved: the most likely label wins.");
  m_report->setText(m_lines.join(QLatin1Char('\n')));
  m_temperature->setEnabled(true);
  m_threshold->setEnabled(labels.size() == 2);
}

void CalibrationPanel::fitTemperature()
{
  const CalibrationReport r =
      calibrateOn(m_validation.probabilities, m_validation.truth, m_split.probabilities, m_split.truth);
  m_rule.temperature = r.temperature;
  m_lines << tr("Temperature %1 (fitted on validation): NLL %2 → %3, ECE %4 → %5 on %6")
                 .arg(r.temperature, 0, 'f', 4)
                 .arg(r.nllBefore, 0, 'f', 4)
                 .arg(r.nllAfter, 0, 'f', 4)
                 .arg(r.eceBefore, 0, 'f', 4)
                 .arg(r.eceAfter, 0, 'f', 4)
                 .arg(m_splitName);
  apply();
}

void CalibrationPanel::tuneThreshold()
{
  const ThresholdReport r = tuneThresholdOn(
      applyTemperature(m_validation.probabilities, m_rule.temperature), m_validation.truth,
      applyTemperature(m_split.probabilities, m_rule.temperature), m_split.truth, m_labels, 1);
  m_rule.positive = r.positive;
  m_rule.threshold = r.threshold;
  m_lines << tr("Threshold %1 on p(\"%2\") (F1-best on validation)")
                 .arg(r.threshold, 0, 'f', 4)
                 .arg(QString::fromStdString(m_labels[static_cast<std::size_t>(r.positive)]));
  apply();
}

// The split's metrics before and with the rule.
void CalibrationPanel::apply()
{
  const auto before = classificationSummary(m_split.truth, m_split.probabilities, m_labels);
  m_applied = classificationSummary(
      m_split.truth, applyTemperature(m_split.probabilities, m_rule.temperature), m_labels,
      m_rule.positive >= 0 ? m_rule.threshold : -1, std::max(m_rule.positive, 0));
  QStringList parts;
  for (const auto &[k, v] : m_applied)
    parts << QStringLiteral("%1 %2 → %3")
                 .arg(QString::fromStdString(k))
                 .arg(before.at(k), 0, 'f', 4)
                 .arg(v, 0, 'f', 4);
  m_appliedLine = tr("On %1 with the rule: %2").arg(m_splitName, parts.join(QStringLiteral(", ")));
  m_report->setText((m_lines + QStringList{m_appliedLine}).join(QLatin1Char('\n')));
  m_save->setEnabled(true);
}

bool CalibrationPanel::save()
{
  try {
    saveDecisionRule(m_runDir.toStdString(), m_rule, m_labels);
    const QString saved =
        tr("Saved as decision.json in the run folder (%1): eval, predict and export apply it "
           "with --calibrated.")
            .arg(m_runDir.section(QLatin1Char('/'), -1));
    m_report->setText((m_lines + QStringList{m_appliedLine, saved}).join(QLatin1Char('\n')));
    return true;
  } catch (const Error &e) {
    m_report->setText(m_report->text() + QLatin1Char('\n') +
                      tr("Not saved: %1").arg(QString::fromUtf8(e.what())));
    return false;
  }
}

} // namespace tunebench
