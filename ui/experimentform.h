#pragma once

#include "ui/background.h"

#include <QMap>
#include <QString>
#include <QWidget>

#include <memory>
#include <vector>

class QComboBox;
class QGridLayout;
class QLabel;
class QPushButton;

namespace tunebench {

struct ConfigResult;

// The experiment as a form: the model picker (the embedded default, fetched models, any Hugging
// Face folder chosen on disk, with its architecture and size), the task, the strategy showing only
// its own fields, and the hyper-parameters in groups (optimizer, schedule, batch, regularisation,
// precision, evaluation and early stopping). Every field has a tooltip with its meaning and valid
// range, and shows its problem beside it. The YAML stays the single source of truth: the form
// shows it (showConfig) and reports each edit as a key and a YAML value (edited).
class ExperimentForm final : public QWidget
{
  Q_OBJECT

public:
  explicit ExperimentForm(QWidget *parent = nullptr);
  ~ExperimentForm() override;

  // Shows the experiment's values (what the YAML says, defaults where it is silent) and its
  // problems beside their fields. Paths are relative to baseDir.
  // `parsed`: the experiment as ExperimentView parsed it from `yaml` (relative paths from baseDir).
  void showConfig(const QString &yaml, const ConfigResult &parsed, const QString &baseDir);

  QWidget *editor(const QString &path) const;  // the field's editor (nullptr when not in the form)
  bool fieldVisible(const QString &path) const; // the row applies (strategy/optimizer/schedule)
  QString problem(const QString &path) const;   // the problem shown beside it ("" when none)
  QComboBox *modelBox() const { return m_models; }
  QLabel *modelInfo() const { return m_modelInfo; }
  QLabel *strategyNote() const { return m_strategyNote; }

  // Sets a field as a user would (the editor's text, the combo's value, "true"/"false") and
  // reports it as an edit.
  void setField(const QString &path, const QString &value);
  // The field's value as shown (what the YAML says, the default where it is silent).
  QString fieldValue(const QString &path) const { return value(path); }

Q_SIGNALS:
  void edited(const QString &path, const QString &yamlValue);

private:
  void createModelPicker();
  struct Row;
  void addGroup(const QString &title, const QStringList &paths);
  QWidget *makeEditor(const QString &path, QGridLayout *form);
  void commit(const QString &path);
  void updateVisibility();
  void chooseModelFolder();
  void selectModel(const QString &path); // listed first when it is not yet
  void describeModel(const QString &path); // on a worker thread; the label follows
  QString value(const QString &path) const;

  std::vector<std::unique_ptr<Row>> m_owned;
  QMap<QString, Row *> m_rows;
  QMap<QString, QString> m_values; // what the YAML says (flattened), defaults filled in
  QComboBox *m_models = nullptr;
  QLabel *m_modelInfo = nullptr, *m_strategyNote = nullptr;
  QString m_baseDir, m_describedModel;
  bool m_showing = false;
  BackgroundSlot m_describeThread;
};

} // namespace tunebench
