#pragma once

#include <QDialog>
#include <QStringList>
#include <QStyledItemDelegate>
#include <QUndoCommand>

#include <string>
#include <vector>

class QTableWidget;

namespace tunebench {

class DatasetModel;
struct Dataset;

// One row's labels (classification) or tags (tagging) changed: undoable.
class LabelEdit final : public QUndoCommand
{
public:
  LabelEdit(DatasetModel *model, int row, std::vector<std::string> before, std::vector<std::string> after);
  void undo() override;
  void redo() override;

private:
  DatasetModel *m_model;
  int m_row;
  std::vector<std::string> m_before, m_after;
};

// The label cell's editor: the dataset's labels to pick from (or a new one typed in).
class LabelDelegate final : public QStyledItemDelegate
{
  Q_OBJECT

public:
  using QStyledItemDelegate::QStyledItemDelegate;
  QWidget *createEditor(QWidget *parent, const QStyleOptionViewItem &option, const QModelIndex &index) const override;
  void setEditorData(QWidget *editor, const QModelIndex &index) const override;
  void setModelData(QWidget *editor, QAbstractItemModel *model, const QModelIndex &index) const override;
};

// Tags corrected token by token: a row per token with its tag (the dataset's tags to pick from).
class TagEditorDialog final : public QDialog
{
  Q_OBJECT

public:
  TagEditorDialog(const std::vector<std::string> &tokens, const std::vector<std::string> &tags,
                  const std::vector<std::string> &tagSet, QWidget *parent = nullptr);
  std::vector<std::string> tags() const;
  QTableWidget *table() const { return m_table; }

private:
  QTableWidget *m_table = nullptr;
};

// Writes the dataset as a new version beside the others: DIR/STEM-vN.jsonl with the first free N
// (the original file is never touched). Returns the path, or "" with *error set.
QString saveDatasetVersion(const Dataset &dataset, const QString &dir, const QString &stem, QString *error);

} // namespace tunebench
