#pragma once

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tunebench {

struct Dataset;

// A dataset as a table model: cells are made when the view asks for them (no copy per cell), so
// 100k rows cost what the dataset itself costs. Columns follow the task: text, label(s), split;
// tokens and tags; instruction, input, output; or plain text. Labels (classification) and tags
// (tagging) can be corrected: the first change copies the dataset; changed rows are marked.
class DatasetModel final : public QAbstractTableModel
{
  Q_OBJECT

public:
  explicit DatasetModel(QObject *parent = nullptr);
  void setDataset(std::shared_ptr<const Dataset> dataset);
  const Dataset *dataset() const { return m_dataset.get(); }
  std::shared_ptr<const Dataset> shared() const { return m_dataset; }
  // A row's labels (classification) or tags (tagging), and setting them (what undo/redo call).
  std::vector<std::string> values(int row) const;
  void setValues(int row, const std::vector<std::string> &values);
  int changedRows() const; // rows that differ from the file as opened
  Qt::ItemFlags flags(const QModelIndex &index) const override;
  // The label cell's edit is not applied here: editRequested goes to the view's undo stack.
  bool setData(const QModelIndex &index, const QVariant &value, int role = Qt::EditRole) override;
  int rowCount(const QModelIndex &parent = {}) const override;
  int columnCount(const QModelIndex &parent = {}) const override;
  QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
  // The column searched by the text filter and the one the label filter matches.
  int textColumn() const { return 1; }
  int labelColumn() const;
  int splitColumn() const;

Q_SIGNALS:
  void editRequested(int row, const std::vector<std::string> &values);

private:
  std::shared_ptr<const Dataset> m_dataset;
  std::shared_ptr<Dataset> m_edited; // the copy edits go to (m_dataset points at it then)
  std::map<int, std::vector<std::string>> m_original; // edited rows: their values as opened
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

} // namespace tunebench
