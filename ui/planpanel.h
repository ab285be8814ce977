#pragma once

#include "core/experiments/plan.h"

#include <QWidget>

#include <filesystem>

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QSpinBox;
class QStackedWidget;
class QTableWidget;

namespace tunebench {

// "Run as" beside Start: the experiment as one run, or as a plan of many (core/experiments/plan.h):
// k-fold cross-validation, repeated seeds, a grid or random sweep over fields (one line per field,
// "key=a,b,c" or "key=lo:hi[:log]"; Add puts a form field's current value in), or a chosen set of
// strategies, each with its own learning rate, over N seeds. Shows how many runs and the estimated
// time before anything starts.
class PlanPanel final : public QWidget
{
  Q_OBJECT

public:
  enum Kind { Single, CrossValidation, Seeds, Grid, Random, Strategies };

  explicit PlanPanel(QWidget *parent = nullptr);

  Kind kind() const;
  void setKind(Kind kind);
  QComboBox *kindBox() const { return m_kind; }
  QSpinBox *folds() const { return m_folds; }
  QSpinBox *seeds() const { return m_seeds; }
  QSpinBox *samples() const { return m_samples; }
  // Runs trained at once (1: one after the other in this process, drawn live in the Monitor).
  QSpinBox *workers() const { return m_workers; }
  QPlainTextEdit *fields() const { return m_fields; }
  QTableWidget *strategies() const { return m_strategies; } // check, strategy, learning rate
  QLabel *summary() const { return m_summary; }

  // The plan of the experiment (kind other than Single); Error naming the option when malformed.
  // `root` empty: <output.runs>/<name>-cv-<time> or -sweep-<time>.
  ExperimentPlan plan(const ExperimentSource &source, const std::filesystem::path &root = {}) const;
  // How many runs the options give (1 for Single); Error naming the option when malformed.
  std::size_t runCount() const;
  // The estimate of one run (seconds; NaN: none): the summary says the plan's.
  void setRunEstimate(double seconds);
  // A form field's current value added as a sweep line (its values or a range to edit).
  void addField(const QString &key, const QString &value);

Q_SIGNALS:
  void changed();
  // "Add field" pressed: the owner answers with addField(key, the form's value).
  void fieldRequested(const QString &key);

private:
  SweepSpec sweepSpec() const;
  void updateSummary();
  QWidget *createStrategyPage();

  QComboBox *m_kind = nullptr, *m_fieldKey = nullptr;
  QStackedWidget *m_pages = nullptr;
  QSpinBox *m_folds = nullptr, *m_seeds = nullptr, *m_samples = nullptr, *m_workers = nullptr;
  QPlainTextEdit *m_fields = nullptr;
  QTableWidget *m_strategies = nullptr;
  QLabel *m_summary = nullptr;
  double m_runSeconds = 0;
};

} // namespace tunebench
