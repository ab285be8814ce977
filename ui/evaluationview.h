#pragma once

#include "ui/background.h"
#include "ui/heatmap.h"

#include <QPointer>
#include <QThread>
#include <QWidget>

#include <functional>
#include <memory>
#include <string>
#include <vector>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTabWidget;
class QTableWidget;
class QTextEdit;

namespace tunebench {

class RunStore;

class TrainedRun;
class CalibrationPanel;
class GenerationControls;

// The Evaluate tab: a finished run's best checkpoint on one of its splits — the confusion heat map,
// a per-class (or per-tag) table, the mistakes it is most sure of, entity scores for entity tags —
// and a playground: type a text and see the class probabilities, the tag of every word, or the
// generated text. Evaluation and prediction run on a worker thread; the GUI thread only draws.
class EvaluationView final : public QWidget
{
  Q_OBJECT

public:
  explicit EvaluationView(QWidget *parent = nullptr);
  ~EvaluationView() override;
  // The workspace and its history (owned by the main window; null when it cannot be opened).
  void setWorkspace(const QString &workspace, RunStore *store);
  void refreshRuns();
  // Opens the run folder and evaluates it on the split (asynchronously: evaluated() follows).
  void evaluate(const QString &runDir, const QString &split);
  void predict(const QString &text); // predicted() follows

  QComboBox *runsBox() const { return m_runs; }
  HeatMap *heatMap() const { return m_heatMap; }
  QTableWidget *perClass() const { return m_perClass; }
  QTableWidget *mistakes() const { return m_mistakes; }
  QTableWidget *entities() const { return m_entities; }
  QTableWidget *generations() const { return m_generations; } // instruction runs: answer beside reference
  QLabel *summary() const { return m_summary; }
  QTextEdit *playgroundOutput() const { return m_output; }
  // Language-model runs: how the playground generates (shown for causal-LM and instruction runs).
  GenerationControls *generationControls() const { return m_generation; }
  // Single-label runs: temperature and threshold fitted on validation, saved as the decision rule.
  CalibrationPanel *calibration() const { return m_calibration; }
  bool busy() const { return m_busy; }

Q_SIGNALS:
  void evaluated(bool ok);
  void predicted(bool ok);

private:
  struct Result;
  void runInWorker(std::function<std::shared_ptr<Result>()> work, std::function<void(const Result &)> done);
  void show(const Result &r);
  void setBusy(bool busy);
  void createViews(QWidget *parent);

  QString m_workspace;
  RunStore *m_store = nullptr;
  QString m_runDir;
  std::shared_ptr<TrainedRun> m_run;
  bool m_busy = false;
  BackgroundSlot m_thread;
  QComboBox *m_runs = nullptr, *m_split = nullptr;
  QPushButton *m_evaluate = nullptr, *m_predict = nullptr;
  QLabel *m_summary = nullptr;
  QTabWidget *m_views = nullptr;
  HeatMap *m_heatMap = nullptr;
  QTableWidget *m_perClass = nullptr, *m_mistakes = nullptr, *m_entities = nullptr, *m_generations = nullptr;
  QLineEdit *m_text = nullptr;
  QTextEdit *m_output = nullptr;
  GenerationControls *m_generation = nullptr;
  CalibrationPanel *m_calibration = nullptr;
};

} // namespace tunebench
