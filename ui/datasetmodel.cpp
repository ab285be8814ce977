#include "ui/datasetmodel.h"

#include "core/data/dataset.h"

#include <QFont>

#include <algorithm>

namespace tunebench {

namespace {

QString join(const std::vector<std::string> &items, const QString &sep)
{
  QStringList out;
  for (const std::string &s : items)
    out << QString::fromStdString(s);
  return out.join(sep);
}

} // namespace

// ---------------------------------------------------------------------------------------------
// DatasetModel

DatasetModel::DatasetModel(QObject *parent) : QAbstractTableModel(parent) {}

void DatasetModel::setDataset(std::shared_ptr<const Dataset> dataset)
{
  beginResetModel();
  m_dataset = std::move(dataset);
  m_edited.reset();
  m_original.clear();
  m_headers = {tr("line")};
  if (m_dataset) {
    switch (m_dataset->kind) {
    case TaskKind::TokenTagging: m_headers << tr("tokens") << tr("tags") << tr("split"); break;
    case TaskKind::Instruction: m_headers << tr("instruction") << tr("input") << tr("output") << tr("split"); break;
    case TaskKind::LanguageModel: m_headers << tr("text") << tr("split"); break;
    default: m_headers << tr("text") << tr("label") << tr("split"); break;
    }
  }
  endResetModel();
}

int DatasetModel::rowCount(const QModelIndex &parent) const
{
  return parent.isValid() || !m_dataset ? 0 : static_cast<int>(m_dataset->size());
}

int DatasetModel::columnCount(const QModelIndex &parent) const
{
  return parent.isValid() ? 0 : static_cast<int>(m_headers.size());
}

int DatasetModel::labelColumn() const
{
  if (!m_dataset || m_dataset->kind == TaskKind::LanguageModel || m_dataset->kind == TaskKind::Instruction)
    return -1;
  return 2; // labels, or tags for tagging
}

int DatasetModel::splitColumn() const { return static_cast<int>(m_headers.size()) - 1; }

std::vector<std::string> DatasetModel::values(int row) const
{
  const Example &e = m_dataset->examples[static_cast<std::size_t>(row)];
  return m_dataset->kind == TaskKind::TokenTagging ? e.tags : e.labels;
}

void DatasetModel::setValues(int row, const std::vector<std::string> &values)
{
  if (!m_dataset || row < 0 || row >= rowCount())
    return;
  if (!m_edited) {
    m_edited = std::make_shared<Dataset>(*m_dataset);
    m_dataset = m_edited;
  }
  if (!m_original.count(row))
    m_original[row] = this->values(row);
  Example &e = m_edited->examples[static_cast<std::size_t>(row)];
  (m_edited->kind == TaskKind::TokenTagging ? e.tags : e.labels) = values;
  for (const std::string &v : values) // a new label joins the label set
    if (!v.empty() && std::find(m_edited->labels.begin(), m_edited->labels.end(), v) == m_edited->labels.end()) {
      m_edited->labels.push_back(v);
      std::sort(m_edited->labels.begin(), m_edited->labels.end());
    }
  if (m_original[row] == values)
    m_original.erase(row);
  Q_EMIT dataChanged(index(row, 0), index(row, columnCount() - 1));
}

int DatasetModel::changedRows() const { return static_cast<int>(m_original.size()); }

Qt::ItemFlags DatasetModel::flags(const QModelIndex &index) const
{
  Qt::ItemFlags f = QAbstractTableModel::flags(index);
  if (m_dataset && index.column() == labelColumn() && m_dataset->kind != TaskKind::TokenTagging)
    f |= Qt::ItemIsEditable;
  return f;
}

bool DatasetModel::setData(const QModelIndex &index, const QVariant &value, int role)
{
  if (role != Qt::EditRole || !(flags(index) & Qt::ItemIsEditable))
    return false;
  std::vector<std::string> labels;
  for (const QString &l : value.toString().split(QLatin1Char(','), Qt::SkipEmptyParts))
    labels.push_back(l.trimmed().toStdString());
  if (labels.empty() || (m_dataset->kind == TaskKind::SingleLabel && labels.size() != 1) || labels == values(index.row()))
    return false;
  Q_EMIT editRequested(index.row(), labels);
  return true;
}

QVariant DatasetModel::data(const QModelIndex &index, int role) const
{
  if (m_dataset && index.isValid() && m_original.count(index.row())) {
    if (role == Qt::FontRole) {
      QFont bold;
      bold.setBold(true);
      return bold;
    }
    if (role == Qt::ToolTipRole && index.column() == labelColumn()) {
      QStringList was;
      for (const std::string &v : m_original.at(index.row()))
        was << QString::fromStdString(v);
      return tr("Changed (was: %1)").arg(was.join(QLatin1Char(' ')));
    }
  }
  if (role == Qt::EditRole)
    role = Qt::DisplayRole;
  if (!m_dataset || !index.isValid() || (role != Qt::DisplayRole && role != Qt::ToolTipRole))
    return {};
  const Example &e = m_dataset->examples[static_cast<std::size_t>(index.row())];
  const int c = index.column();
  if (c == 0)
    return e.line;
  if (c == splitColumn())
    return QString::fromStdString(e.augmentation.empty() ? e.split : e.split + " (" + e.augmentation + ")");
  switch (m_dataset->kind) {
  case TaskKind::TokenTagging: return join(c == 1 ? e.tokens : e.tags, QStringLiteral(" "));
  case TaskKind::Instruction:
    return QString::fromStdString(c == 1 ? e.instruction : c == 2 ? e.input : e.output);
  case TaskKind::LanguageModel: return QString::fromStdString(e.text);
  default:
    if (c == 1)
      return QString::fromStdString(e.textPair.empty() ? e.text : e.text + " ‖ " + e.textPair);
    return join(e.labels, QStringLiteral(", "));
  }
}

QVariant DatasetModel::headerData(int section, Qt::Orientation orientation, int role) const
{
  if (role != Qt::DisplayRole)
    return {};
  if (orientation == Qt::Vertical)
    return section + 1;
  return m_headers.value(section);
}

// ---------------------------------------------------------------------------------------------
// DatasetFilter

DatasetFilter::DatasetFilter(QObject *parent) : QSortFilterProxyModel(parent) {}

void DatasetFilter::setFilters(const QString &text, const QString &label, const QString &split)
{
  m_text = text;
  m_label = label;
  m_split = split;
  invalidateFilter();
}

bool DatasetFilter::filterAcceptsRow(int row, const QModelIndex &parent) const
{
  const auto *m = qobject_cast<const DatasetModel *>(sourceModel());
  if (!m || !m->dataset())
    return true;
  const Example &e = m->dataset()->examples[static_cast<std::size_t>(row)];
  if (!m_split.isEmpty() && QString::fromStdString(e.split) != m_split)
    return false;
  if (!m_label.isEmpty()) {
    const auto &set = m->dataset()->kind == TaskKind::TokenTagging ? e.tags : e.labels;
    if (std::find(set.begin(), set.end(), m_label.toStdString()) == set.end())
      return false;
  }
  if (!m_text.isEmpty()) {
    for (int c = 1; c < m->columnCount(); ++c)
      if (m->data(m->index(row, c, parent)).toString().contains(m_text, Qt::CaseInsensitive))
        return true;
    return false;
  }
  return true;
}


} // namespace tunebench
