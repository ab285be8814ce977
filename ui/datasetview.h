#pragma once

#include "core/config/experiment.h"
#include "ui/background.h"
#include "ui/datasetmodel.h"

#include <QMap>
#include <QPointer>
#include <QThread>
#include <QWidget>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

class QChart;
class QChartView;
class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QTableView;
class QTableWidget;
class QUndoStack;

class QHBoxLayout;
class QSplitter;

namespace tunebench {

class DataReport;
struct Dataset;
struct ExperimentConfig;
struct DatasetStatistics;

// The Data tab: import a data file as a task's dataset (columns mapped in a dialog, or by their
// usual names), browse it in a filterable table, see the label distribution and token lengths
// (with the max-length cut-off), read the validation report — double-click an entry to jump to
// its row —, correct labels and tags with undo and save them as a new dataset version. Reading
// and tokenizing run on a worker thread.
class DatasetView final : public QWidget
{
  Q_OBJECT

public:
  explicit DatasetView(QWidget *parent = nullptr);
  ~DatasetView() override;
  // Reads `file` as a `kind` dataset (single_label, multi_label, token_tagging, instruction,
  // causal_lm); token lengths with the tokenizer of `modelDir` when given. loaded() follows.
  // columns: role -> column (text, label, tokens, tags, split …); empty: guessed from the names.
  void open(const QString &file, const QString &kind, const QString &modelDir = {}, int maxLength = 128,
            const QMap<QString, QString> &columns = {});
  // The experiment's data as its training run sees it (core's loadDataset: mapped, cleaned,
  // sub-sampled, split, checked for leakage, augmented): every row's split column is the split
  // the run puts it in. loaded() follows.
  void openExperiment(const ExperimentConfig &config, const QString &kind);
  // Import: a file dialog, then the column-mapping dialog; opens the file as mapped.
  void import();
  // Labelling: corrects a row (of the model, unfiltered) as an undoable edit; saves the edited
  // dataset as a new version (JSON Lines, DIR/NAME-vN.jsonl; default DIR: setVersionsDir).
  void editValues(int row, const std::vector<std::string> &values);
  QString saveVersion();
  void setVersionsDir(const QString &dir) { m_versionsDir = dir; }
  QUndoStack *undoStack() const { return m_undo; }
  void setFilters(const QString &text, const QString &label, const QString &split);
  // Selects and shows the row a report entry points at.
  bool jumpToIssue(int issueIndex);
  // Augments the first `rows` rows the filters show and lists each original beside its augmented
  // copies with the operation. The experiment's data (openExperiment) gets the experiment's
  // augmentation (EDA and back-translation through its paraphrase models, as its run does); other
  // files four EDA copies a row (WordNet synonyms, insertion, swap, deletion). augmented() follows.
  void previewAugmentation(int rows = 20);

  QTableView *table() const { return m_table; }
  DatasetModel *model() const { return m_model; }
  DatasetFilter *filter() const { return m_filter; }
  QListWidget *report() const { return m_report; }
  QChart *labelChart() const { return m_labelChart; }
  QChart *lengthChart() const { return m_lengthChart; }
  QTableWidget *augmentation() const { return m_augmentation; }
  QLabel *summary() const { return m_summary; }

Q_SIGNALS:
  void loaded(bool ok);
  void augmented(bool ok);
  // Asks the main window for the Experiment tab's data file, kind, model folder and max length.
  void experimentDataRequested();
  // Import with "use in the experiment" ticked: the file, the task, and the columns by role.
  void useInExperiment(const QString &file, const QString &kind, const QMap<QString, QString> &columns);
  void versionSaved(const QString &file);

private:
  struct Loaded;
  // Reads on the worker thread: `read` makes the dataset and fills the report; token lengths with
  // the tokenizer of modelDir when given. One load at a time; show() follows.
  void load(const QString &file, const QString &kindName, const QString &summary, const QString &modelDir,
            int maxLength, std::function<Dataset(DataReport &)> read);
  void show(const Loaded &l);
  void showFilters(const Loaded &l);
  void showReport(const Loaded &l);
  QHBoxLayout *createOpenBar();
  QHBoxLayout *createFilterBar();
  void createTable(QSplitter *split);
  QSplitter *createSide(QSplitter *split);

  BackgroundSlot m_thread;
  bool m_loading = false;
  QLineEdit *m_path = nullptr, *m_search = nullptr;
  QComboBox *m_kind = nullptr, *m_labels = nullptr, *m_splits = nullptr;
  QPushButton *m_open = nullptr;
  QLabel *m_summary = nullptr;
  QTableView *m_table = nullptr;
  DatasetModel *m_model = nullptr;
  DatasetFilter *m_filter = nullptr;
  QListWidget *m_report = nullptr;
  QTableWidget *m_augmentation = nullptr;
  QPushButton *m_augment = nullptr, *m_saveVersion = nullptr;
  QUndoStack *m_undo = nullptr;
  QString m_versionsDir, m_openedFile;
  std::shared_ptr<const Dataset> m_dataset;
  std::optional<ExperimentConfig> m_experiment; // when the experiment's data is shown
  QChart *m_labelChart = nullptr, *m_lengthChart = nullptr;
  std::vector<int> m_issueLines; // per report entry: the source line it names
};

} // namespace tunebench
