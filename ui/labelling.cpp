#include "ui/labelling.h"

#include "core/data/dataset.h"
#include "core/data/writers.h"
#include "ui/datasetview.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFile>
#include <QHeaderView>
#include <QLabel>
#include <QSaveFile>
#include <QTableWidget>
#include <QVBoxLayout>

namespace tunebench {

LabelEdit::LabelEdit(DatasetModel *model, int row, std::vector<std::string> before, std::vector<std::string> after)
  : m_model(model), m_row(row), m_before(std::move(before)), m_after(std::move(after))
{
  QStringList text;
  for (const std::string &s : m_after)
    text << QString::fromStdString(s);
  setText(QObject::tr("row %1 → %2").arg(row + 1).arg(text.join(QLatin1Char(' ')).left(40)));
}

void LabelEdit::undo() { m_model->setValues(m_row, m_before); }
void LabelEdit::redo() { m_model->setValues(m_row, m_after); }

QWidget *LabelDelegate::createEditor(QWidget *parent, const QStyleOptionViewItem &, const QModelIndex &index) const
{
  auto *box = new QComboBox(parent);
  box->setEditable(true); // a new label may be typed
  const auto *source = qobject_cast<const DatasetModel *>(index.model());
  if (!source)
    if (const auto *proxy = qobject_cast<const QAbstractProxyModel *>(index.model()))
      source = qobject_cast<const DatasetModel *>(proxy->sourceModel());
  if (source && source->dataset())
    for (const std::string &l : source->dataset()->labels)
      box->addItem(QString::fromStdString(l));
  return box;
}

void LabelDelegate::setEditorData(QWidget *editor, const QModelIndex &index) const
{
  static_cast<QComboBox *>(editor)->setCurrentText(index.data(Qt::EditRole).toString());
}

void LabelDelegate::setModelData(QWidget *editor, QAbstractItemModel *model, const QModelIndex &index) const
{
  model->setData(index, static_cast<QComboBox *>(editor)->currentText(), Qt::EditRole);
}

TagEditorDialog::TagEditorDialog(const std::vector<std::string> &tokens, const std::vector<std::string> &tags,
                                 const std::vector<std::string> &tagSet, QWidget *parent)
  : QDialog(parent)
{
  setObjectName(QStringLiteral("TagEditor"));
  setWindowTitle(tr("Correct the tags"));
  auto *layout = new QVBoxLayout(this);
  layout->addWidget(new QLabel(tr("Each token's tag (undo with Ctrl+Z in the table afterwards):"), this));
  m_table = new QTableWidget(static_cast<int>(tokens.size()), 2, this);
  m_table->setHorizontalHeaderLabels({tr("token"), tr("tag")});
  m_table->horizontalHeader()->setStretchLastSection(true);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    auto *token = new QTableWidgetItem(QString::fromStdString(tokens[i]));
    token->setFlags(token->flags() & ~Qt::ItemIsEditable);
    m_table->setItem(static_cast<int>(i), 0, token);
    auto *box = new QComboBox(m_table);
    box->setEditable(true);
    for (const std::string &t : tagSet)
      box->addItem(QString::fromStdString(t));
    box->setCurrentText(i < tags.size() ? QString::fromStdString(tags[i]) : QString());
    m_table->setCellWidget(static_cast<int>(i), 1, box);
  }
  m_table->resizeColumnToContents(0);
  layout->addWidget(m_table, 1);
  auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  layout->addWidget(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  resize(420, 480);
}

std::vector<std::string> TagEditorDialog::tags() const
{
  std::vector<std::string> out;
  for (int r = 0; r < m_table->rowCount(); ++r)
    out.push_back(static_cast<QComboBox *>(m_table->cellWidget(r, 1))->currentText().trimmed().toStdString());
  return out;
}

QString saveDatasetVersion(const Dataset &dataset, const QString &dir, const QString &stem, QString *error)
{
  if (!QDir().mkpath(dir)) {
    *error = QObject::tr("%1: cannot create the folder").arg(dir);
    return {};
  }
  QString path;
  for (int n = 2;; ++n) {
    path = QDir(dir).filePath(QStringLiteral("%1-v%2.jsonl").arg(stem).arg(n));
    if (!QFile::exists(path))
      break;
  }
  QSaveFile out(path);
  const std::string text = toJsonLines(dataset);
  if (!out.open(QIODevice::WriteOnly) || out.write(text.data(), static_cast<qint64>(text.size())) < 0 || !out.commit()) {
    *error = QObject::tr("%1: %2").arg(path, out.errorString());
    return {};
  }
  return path;
}

} // namespace tunebench
