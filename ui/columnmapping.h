#pragma once

#include <QDialog>
#include <QMap>
#include <QString>

#include <memory>

class QCheckBox;
class QComboBox;
class QFormLayout;
class QLabel;
class QTableWidget;

namespace tunebench {

struct Table;

// Import: which column of a data file plays which part for the task (text, label, tokens, tags,
// instruction/input/output, split), guessed from the usual names and shown beside a preview of
// the first rows. The file is read once when the dialog opens; a file that cannot be read shows
// why (file, line) and offers nothing to accept.
class ColumnMappingDialog final : public QDialog
{
  Q_OBJECT

public:
  ColumnMappingDialog(const QString &file, const QString &kind, QWidget *parent = nullptr);
  ~ColumnMappingDialog() override;

  QString kind() const;
  QMap<QString, QString> columns() const; // role -> column name (roles left unset are absent)
  bool useInExperiment() const;
  QString error() const { return m_error; }
  // The roles a task reads (text, text_pair, label, split …).
  static QStringList roles(const QString &kind);
  // Sets a role's column (as picking it in the dialog does); false when there is no such column.
  bool setColumn(const QString &role, const QString &column);

private:
  void showRoles();

  std::unique_ptr<Table> m_table;
  QString m_error;
  QComboBox *m_kind = nullptr;
  QFormLayout *m_roles = nullptr;
  QMap<QString, QComboBox *> m_boxes;
  QTableWidget *m_preview = nullptr;
  QCheckBox *m_useInExperiment = nullptr;
  QLabel *m_status = nullptr;
};

} // namespace tunebench

namespace tunebench {
struct ColumnMapping;
// The dialog's role -> column map as the core's mapping.
ColumnMapping toColumnMapping(const QMap<QString, QString> &roles);
} // namespace tunebench
