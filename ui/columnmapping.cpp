#include "ui/columnmapping.h"

#include "core/data/datareport.h"
#include "core/data/mapping.h"
#include "core/data/readers.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace tunebench {

namespace {

std::string ColumnMapping::*member(const QString &role)
{
  static const QMap<QString, std::string ColumnMapping::*> members = {
    {QStringLiteral("text"), &ColumnMapping::text},           {QStringLiteral("text_pair"), &ColumnMapping::textPair},
    {QStringLiteral("label"), &ColumnMapping::label},         {QStringLiteral("tokens"), &ColumnMapping::tokens},
    {QStringLiteral("tags"), &ColumnMapping::tags},           {QStringLiteral("instruction"), &ColumnMapping::instruction},
    {QStringLiteral("input"), &ColumnMapping::input},         {QStringLiteral("output"), &ColumnMapping::output},
    {QStringLiteral("messages"), &ColumnMapping::messages},   {QStringLiteral("split"), &ColumnMapping::split},
  };
  return members.value(role, nullptr);
}

} // namespace

QStringList ColumnMappingDialog::roles(const QString &kind)
{
  if (kind == QLatin1String("token_tagging"))
    return {QStringLiteral("tokens"), QStringLiteral("tags"), QStringLiteral("split")};
  if (kind == QLatin1String("instruction"))
    return {QStringLiteral("instruction"), QStringLiteral("input"), QStringLiteral("output"),
            QStringLiteral("messages"), QStringLiteral("split")};
  if (kind == QLatin1String("causal_lm"))
    return {QStringLiteral("text"), QStringLiteral("split")};
  return {QStringLiteral("text"), QStringLiteral("text_pair"), QStringLiteral("label"), QStringLiteral("split")};
}

ColumnMappingDialog::ColumnMappingDialog(const QString &file, const QString &kind, QWidget *parent)
  : QDialog(parent)
{
  setObjectName(QStringLiteral("ColumnMappingDialog"));
  setWindowTitle(tr("Import %1").arg(QFileInfo(file).fileName()));
  auto *layout = new QVBoxLayout(this);
  m_status = new QLabel(this);
  m_status->setWordWrap(true);
  layout->addWidget(m_status);
  try {
    DataReport report;
    m_table = std::make_unique<Table>(readTable(file.toStdString(), report));
    m_status->setText(tr("%1 rows, %2 columns. Choose which column plays which part:")
                          .arg(m_table->size())
                          .arg(m_table->columns.size()));
  } catch (const std::exception &e) {
    m_error = QString::fromUtf8(e.what());
    m_status->setText(tr("<b>Cannot read the file:</b> %1").arg(m_error.toHtmlEscaped()));
  }
  auto *group = new QGroupBox(tr("Columns"), this);
  m_roles = new QFormLayout(group);
  m_kind = new QComboBox(group);
  m_kind->addItems({QStringLiteral("single_label"), QStringLiteral("multi_label"), QStringLiteral("token_tagging"),
                    QStringLiteral("instruction"), QStringLiteral("causal_lm")});
  m_kind->setCurrentText(kind);
  m_roles->addRow(tr("Task:"), m_kind);
  layout->addWidget(group);
  m_preview = new QTableWidget(this);
  m_preview->setObjectName(QStringLiteral("ImportPreview"));
  m_preview->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_preview->horizontalHeader()->setStretchLastSection(true);
  if (m_table) {
    const int rows = static_cast<int>(std::min<std::size_t>(8, m_table->size()));
    m_preview->setColumnCount(static_cast<int>(m_table->columns.size()));
    m_preview->setRowCount(rows);
    QStringList headers;
    for (const std::string &c : m_table->columns)
      headers << QString::fromStdString(c);
    m_preview->setHorizontalHeaderLabels(headers);
    for (int r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < m_table->rows[static_cast<std::size_t>(r)].size() && c < m_table->columns.size(); ++c)
        m_preview->setItem(r, static_cast<int>(c),
                           new QTableWidgetItem(QString::fromStdString(m_table->rows[static_cast<std::size_t>(r)][c])));
    m_preview->resizeColumnsToContents();
    for (int c = 0; c < m_preview->columnCount(); ++c)
      m_preview->setColumnWidth(c, std::min(m_preview->columnWidth(c), 320));
    m_preview->horizontalHeader()->setStretchLastSection(false);
  }
  layout->addWidget(new QLabel(tr("The first rows:"), this));
  layout->addWidget(m_preview, 1);
  m_useInExperiment = new QCheckBox(tr("Use this file in the experiment (data.path, data.columns, task.kind)"), this);
  m_useInExperiment->setChecked(true);
  layout->addWidget(m_useInExperiment);
  auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  buttons->button(QDialogButtonBox::Ok)->setText(tr("Import"));
  buttons->button(QDialogButtonBox::Ok)->setEnabled(m_table != nullptr);
  layout->addWidget(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(m_kind, &QComboBox::currentTextChanged, this, &ColumnMappingDialog::showRoles);
  showRoles();
  resize(720, 520);
}

ColumnMappingDialog::~ColumnMappingDialog() = default;

void ColumnMappingDialog::showRoles()
{
  for (QComboBox *box : std::as_const(m_boxes))
    m_roles->removeRow(box);
  m_boxes.clear();
  if (!m_table)
    return;
  const ColumnMapping guess = guessMapping(*m_table, parseTaskKind(kind().toStdString()).value_or(TaskKind::SingleLabel));
  for (const QString &role : roles(kind())) {
    auto *box = new QComboBox(this);
    box->setObjectName(QStringLiteral("role:%1").arg(role));
    box->addItem(tr("(none)"), QString());
    for (const std::string &c : m_table->columns)
      box->addItem(QString::fromStdString(c), QString::fromStdString(c));
    if (auto m = member(role))
      box->setCurrentIndex(std::max(0, box->findData(QString::fromStdString(guess.*m))));
    m_roles->addRow(role + QLatin1Char(':'), box);
    m_boxes.insert(role, box);
  }
}

QString ColumnMappingDialog::kind() const { return m_kind->currentText(); }

QMap<QString, QString> ColumnMappingDialog::columns() const
{
  QMap<QString, QString> out;
  for (auto it = m_boxes.begin(); it != m_boxes.end(); ++it)
    if (!it.value()->currentData().toString().isEmpty())
      out.insert(it.key(), it.value()->currentData().toString());
  return out;
}

bool ColumnMappingDialog::setColumn(const QString &role, const QString &column)
{
  QComboBox *box = m_boxes.value(role);
  const int i = box ? box->findData(column) : -1;
  if (i < 0)
    return false;
  box->setCurrentIndex(i);
  return true;
}

bool ColumnMappingDialog::useInExperiment() const { return m_useInExperiment->isChecked(); }

} // namespace tunebench

namespace tunebench {

ColumnMapping toColumnMapping(const QMap<QString, QString> &roles)
{
  ColumnMapping m;
  for (auto it = roles.begin(); it != roles.end(); ++it)
    if (auto at = member(it.key()))
      m.*at = it.value().toStdString();
  return m;
}

} // namespace tunebench
