#pragma once

#include <QAbstractTableModel>
#include <QPointer>
#include <QSortFilterProxyModel>
#include <QThread>
#include <QWidget>

#include <memory>

class QChart;
class QChartView;
class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QTableView;
class QTableWidget;

namespace tunebench {

struct Dataset;
struct DatasetStatistics;

// A dataset as a table model: cells are made when the view asks for them (no copy per cell), so
// 100k rows cost what the dataset itself costs. Columns follow the task: text, label(s), split;
// tokens and tags; instruction, input, output; or plain text.
class DatasetModel final : public QAbstractTableModel
{
  Q_OBJECT

public:
  explicit DatasetModel(QObject *parent = nullptr);
  void setDataset(std::shared_ptr<const Dataset> dataset);
  const Dataset *dataset() const { return m_dataset.get(); }
  int rowCount(const QModelIndex &parent = {}) const override;
  int columnCount(const QModelIndex &parent = {}) const override;
  QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
  // The column searched by the text filter and the one the label filter matches.
  int textColumn() const { return 1; }
  int labelColumn() const;
  int splitColumn() const;

private:
  std::shared_ptr<const Dataset> m_dataset;
  QStringList m_headers;
};

// Text (substring, any case), label and split filters over a DatasetModel.
class DatasetFilter final : public QSortFilterProxyModel
{
  Q_OBJECT

public:
  explicit DatasetFilter(QObject *parent = nullptr);
  void setFilters(const QString &text, const QString &label, const QString &split);

protected:
  bool filterAcceptsRow(int row, const QModelIndex &parent) const override;

private:
  QString m_text, m_label, m_split;
};

// The Data tab: open a data file as a task's dataset (columns mapped by their usual names), browse
// it in a filterable table, see the label distribution and token lengths (with the max-length
// cut-off), and read the validation report — double-click an entry to jump to its row. Reading
// and tokenizing run on a worker thread.
class DatasetView final : public QWidget
{
  Q_OBJECT

public:
  explicit DatasetView(QWidget *parent = nullptr);
  ~DatasetView() override;
  // Reads `file` as a `kind` dataset (single_label, multi_label, token_tagging, instruction,
  // causal_lm); token lengths with the tokenizer of `modelDir` when given. loaded() follows.
  void open(const QString &file, const QString &kind, const QString &modelDir = {}, int maxLength = 128);
  void setFilters(const QString &text, const QString &label, const QString &split);
  // Selects and shows the row a report entry points at.
  bool jumpToIssue(int issueIndex);
  // Augments the first `rows` rows the filters show (WordNet synonyms, insertion, swap, deletion)
  // and lists each original beside its augmented copies with the operation. augmented() follows.
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

private:
  struct Loaded;
  void show(const Loaded &l);

  QPointer<QThread> m_thread;
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
  QPushButton *m_augment = nullptr;
  std::shared_ptr<const Dataset> m_dataset;
  QChart *m_labelChart = nullptr, *m_lengthChart = nullptr;
  std::vector<int> m_issueLines; // per report entry: the source line it names
};

} // namespace tunebench
