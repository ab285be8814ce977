#include "ui/experimentform.h"

#include "core/config/experiment.h"
#include "core/models/modelfolder.h"
#include "core/runs/runstore.h"
#include "core/runtime/paths.h"
#include "core/util/error.h"
#include "ui/background.h"
#include "ui/formgroups.h"
#include "ui/tasklisteditor.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QGridLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QScrollArea>
#include <QSettings>
#include <QVBoxLayout>

#include <map>

namespace tunebench {
namespace {

const QString kChooseFolder = QStringLiteral("\x01choose");

// Rows shown only for some values of another field.
struct Condition
{
  const char *controller;
  QStringList values;
};

const std::map<QString, Condition> &conditions()
{
  static const std::map<QString, Condition> c = [] {
    std::map<QString, Condition> m;
    auto when = [&m](const QStringList &paths, const char *controller, const QStringList &values) {
      for (const QString &p : paths)
        m[p] = {controller, values};
    };
    when({"strategy.freeze_embeddings", "strategy.freeze_bottom_layers", "strategy.freeze_layers",
          "strategy.layer_decay"},
         "strategy.name", {"partial"});
    when({"strategy.cache_frozen"}, "strategy.name", {"partial", "linear_probe"});
    when({"strategy.lora.r", "strategy.lora.alpha", "strategy.lora.dropout", "strategy.lora.targets",
          "strategy.lora.rslora", "strategy.lora.bias"},
         "strategy.name", {"lora"});
    when({"strategy.prefix.tokens", "strategy.prefix.reparameterize", "strategy.prefix.hidden"}, "strategy.name",
         {"prefix"});
    when({"strategy.prompt.tokens", "strategy.prompt.init_text"}, "strategy.name", {"prompt"});
    when({"strategy.adapters.kind", "strategy.adapters.reduction", "strategy.adapters.activation"}, "strategy.name",
         {"adapters"});
    when({"training.optimizer.beta1", "training.optimizer.beta2", "training.optimizer.eps"},
         "training.optimizer.name", {"adamw", "adam"});
    when({"training.optimizer.momentum", "training.optimizer.nesterov"}, "training.optimizer.name", {"sgd"});
    when({"training.scheduler.cycles"}, "training.scheduler.name", {"cosine_restarts"});
    when({"training.scheduler.power"}, "training.scheduler.name", {"polynomial"});
    when({"training.scheduler.plateau_factor", "training.scheduler.plateau_patience"}, "training.scheduler.name",
         {"plateau"});
    when({"training.scheduler.warmup_ratio", "training.scheduler.warmup_steps"}, "training.scheduler.name",
         {"constant_warmup", "linear", "cosine", "cosine_restarts", "polynomial", "inverse_sqrt"});
    when({"task.noise_density"}, "task.kind", {"masked_lm", "span_corruption"});
    when({"task.mean_span"}, "task.kind", {"span_corruption"});
    when({"task.template", "evaluation.generate", "evaluation.max_new_tokens"}, "task.kind",
         {"instruction", "seq2seq"});
    when({"task.pooling", "task.head_dropout"}, "task.kind", {"single_label", "multi_label", "token_tagging"});
    when({"data.tag_scheme"}, "task.kind", {"token_tagging"});
    return m;
  }();
  return c;
}

QString noteFor(const QString &name)
{
  static const std::map<QString, QString> notes = {
    {"full", QObject::tr("Every weight trains.")},
    {"partial", QObject::tr("The bottom layers stay frozen; lower layers may learn more slowly (layer decay).")},
    {"linear_probe", QObject::tr("Only the head trains: the encoder is frozen.")},
    {"bitfit", QObject::tr("Only the bias terms (and the head) train.")},
    {"lora", QObject::tr("Low-rank updates B·A beside the target maps train; the base weights stay frozen.")},
    {"adapters", QObject::tr("Small bottleneck layers inside every block train; the rest is frozen.")},
    {"ia3", QObject::tr("Learned scaling vectors on keys, values and the feed-forward activation train.")},
    {"prefix", QObject::tr("Trainable key/value prefixes in front of every attention layer; the model is frozen.")},
    {"prompt", QObject::tr("A trainable soft prompt in front of the input; the model is frozen.")},
  };
  const auto it = notes.find(name);
  return it == notes.end() ? QString() : it->second;
}

QString humanCount(double n)
{
  if (n >= 1e9)
    return QStringLiteral("%1B").arg(n / 1e9, 0, 'f', 2);
  if (n >= 1e6)
    return QStringLiteral("%1M").arg(n / 1e6, 0, 'f', 1);
  return QStringLiteral("%1k").arg(n / 1e3, 0, 'f', 1);
}

} // namespace

struct ExperimentForm::Row
{
  QString path;
  QString kind;
  QWidget *editor = nullptr;
  QWidget *field = nullptr; // editor + problem
  QLabel *problem = nullptr;
  QLabel *label = nullptr;
};

ExperimentForm::ExperimentForm(QWidget *parent) : QWidget(parent)
{
  setObjectName(QStringLiteral("ExperimentForm"));
  auto *outer = new QVBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);
  auto *scroll = new QScrollArea(this);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  auto *page = new QWidget(scroll);
  auto *grid = new QGridLayout(page);
  scroll->setWidget(page);
  outer->addWidget(scroll);

  createModelPicker();
  m_strategyNote = new QLabel(this);
  m_strategyNote->setWordWrap(true);
  m_strategyNote->setObjectName(QStringLiteral("StrategyNote"));

  auto column = [&](const std::vector<FormGroup> &groups, int col) {
    auto *box = new QVBoxLayout;
    for (const FormGroup &g : groups) {
      auto *group = new QGroupBox(g.title, page);
      // A grid, not a QFormLayout: Qt 6.4's QFormLayout writes out of bounds when rows are hidden
      // beside word-wrapped labels.
      auto *form = new QGridLayout(group);
      form->setColumnStretch(1, 1);
      for (const QString &p : g.paths) {
        makeEditor(p, form);
        if (p == QLatin1String("strategy.name"))
          form->addWidget(m_strategyNote, form->rowCount(), 1);
        if (p == QLatin1String("model.path"))
          form->addWidget(m_modelInfo, form->rowCount(), 1);
      }
      box->addWidget(group);
    }
    box->addStretch(1);
    grid->addLayout(box, 0, col);
  };
  column(formGroups(0), 0);
  column(formGroups(1), 1);
  grid->setColumnStretch(0, 1);
  grid->setColumnStretch(1, 1);
}

// The model picker (the built-in model, the fetched ones, recent folders, a folder on disk) and
// the description under it.
void ExperimentForm::createModelPicker()
{
  m_models = new QComboBox(this);
  m_models->setObjectName(QStringLiteral("ModelPicker"));
  m_models->addItem(tr("Universal Sentence Encoder Lite (built in)"),
                    QStringLiteral("$ASSETS/models/use-lite"));
  const QDir models(QString::fromStdString((assetsDir() / "models").string()));
  for (const QString &d : models.entryList(QDir::Dirs | QDir::NoDotAndDotDot))
    if (d != QLatin1String("use-lite"))
      m_models->addItem(d, QStringLiteral("$ASSETS/models/%1").arg(d));
  for (const QString &recent : QSettings().value(QStringLiteral("form/recentModels")).toStringList())
    if (m_models->findData(recent) < 0)
      m_models->addItem(QDir::toNativeSeparators(recent), recent);
  m_models->addItem(tr("Hugging Face folder on disk…"), kChooseFolder);
  m_modelInfo = new QLabel(this);
  m_modelInfo->setObjectName(QStringLiteral("ModelInfo"));
  m_modelInfo->setWordWrap(true);
  connect(m_models, &QComboBox::activated, this, [this](int i) {
    if (m_models->itemData(i).toString() == kChooseFolder)
      chooseModelFolder();
    else
      commit(QStringLiteral("model.path"));
  });
}

ExperimentForm::~ExperimentForm() = default;

QWidget *ExperimentForm::makeEditor(const QString &path, QGridLayout *form)
{
  const ConfigFieldInfo *info = configField(path.toStdString());
  if (!info)
    return nullptr;
  m_owned.push_back(std::make_unique<Row>());
  Row *row = m_owned.back().get();
  row->path = path;
  row->kind = QString::fromStdString(info->kind);
  row->field = new QWidget(form->parentWidget());
  auto *v = new QVBoxLayout(row->field);
  v->setContentsMargins(0, 0, 0, 0);
  v->setSpacing(1);
  QString tip = QString::fromStdString(info->help);
  if (!info->range().empty())
    tip += tr("\nValid: %1").arg(QString::fromStdString(info->range()));
  tip += QStringLiteral("\n(%1)").arg(path);
  if (path == QLatin1String("model.path")) {
    row->kind = QStringLiteral("model");
    row->editor = m_models;
  } else if (info->kind == "choice") {
    auto *box = new QComboBox(row->field);
    for (const std::string &c : info->choices)
      box->addItem(c.empty() ? tr("(detect / none)") : QString::fromStdString(c), QString::fromStdString(c));
    connect(box, &QComboBox::activated, this, [this, path] { commit(path); });
    row->editor = box;
  } else if (info->kind == "tasks") {
    auto *tasks = new TaskListEditor(row->field);
    connect(tasks, &TaskListEditor::edited, this, [this, path] { commit(path); });
    row->editor = tasks;
  } else if (info->kind == "boolean") {
    auto *check = new QCheckBox(row->field);
    connect(check, &QCheckBox::clicked, this, [this, path] { commit(path); });
    row->editor = check;
  } else {
    auto *line = new QLineEdit(row->field);
    if (!info->range().empty() && info->kind != "boolean")
      line->setPlaceholderText(QString::fromStdString(info->range()));
    connect(line, &QLineEdit::editingFinished, this, [this, path] { commit(path); });
    row->editor = line;
  }
  row->editor->setObjectName(QStringLiteral("field:%1").arg(path));
  row->editor->setToolTip(tip);
  row->problem = new QLabel(row->field);
  row->problem->setObjectName(QStringLiteral("problem:%1").arg(path));
  row->problem->setWordWrap(true);
  row->problem->setStyleSheet(QStringLiteral("color: #c0392b;"));
  row->problem->hide();
  v->addWidget(row->editor);
  v->addWidget(row->problem);
  QString label = QString::fromStdString(info->path);
  label = label.section(QLatin1Char('.'), -1).replace(QLatin1Char('_'), QLatin1Char(' '));
  if (path == QLatin1String("strategy.name") || path == QLatin1String("training.optimizer.name") ||
      path == QLatin1String("training.scheduler.name"))
    label = path.section(QLatin1Char('.'), -2, -2);
  else if (path == QLatin1String("model.path"))
    label = tr("model");
  else if (path == QLatin1String("data.path"))
    label = tr("data file");
  label[0] = label[0].toUpper();
  row->label = new QLabel(label + QLatin1Char(':'), form->parentWidget());
  row->label->setToolTip(tip);
  const int at = form->rowCount();
  form->addWidget(row->label, at, 0, Qt::AlignLeft | Qt::AlignTop);
  form->addWidget(row->field, at, 1);
  m_rows.insert(path, row);
  return row->editor;
}

QWidget *ExperimentForm::editor(const QString &path) const
{
  Row *row = m_rows.value(path);
  return row ? row->editor : nullptr;
}

bool ExperimentForm::fieldVisible(const QString &path) const
{
  const auto it = conditions().find(path);
  return it == conditions().end() || it->second.values.contains(value(QString::fromLatin1(it->second.controller)));
}

QString ExperimentForm::problem(const QString &path) const
{
  Row *row = m_rows.value(path);
  return row && !row->problem->isHidden() ? row->problem->text() : QString();
}

QString ExperimentForm::value(const QString &path) const { return m_values.value(path); }

void ExperimentForm::showConfig(const QString &yaml, const ConfigResult &r, const QString &baseDir)
{
  m_baseDir = baseDir;
  std::map<std::string, std::string> values, written;
  try {
    written = flattenYaml(yaml.toStdString());
    values = flattenYaml(r.config.toYaml());
  } catch (const Error &) {
    return; // not YAML: the problems list says where; keep the form as it was
  }
  for (const auto &[k, v] : written)
    values[k] = v; // what the user wrote, even when it is wrong
  const QMap<QString, QString> before = m_values;
  m_values.clear();
  for (const auto &[k, v] : values) {
    QString shown = QString::fromStdString(v);
    bool isNumber = false;
    const double d = shown.toDouble(&isNumber);
    if (isNumber && !written.count(k) && shown.size() > 12) // a default, printed with 17 digits
      shown = QString::number(d, 'g', 10);
    m_values.insert(QString::fromStdString(k), shown);
  }
  QMap<QString, QString> problems;
  for (const ConfigProblem &p : r.problems)
    problems[QString::fromStdString(p.field)] += (problems.contains(QString::fromStdString(p.field)) ? QStringLiteral("\n") : QString()) +
                                                 QString::fromStdString(p.message);
  m_showing = true;
  for (Row *row : std::as_const(m_rows)) {
    const QString v = m_values.value(row->path);
    if (row->kind == QLatin1String("model")) {
      selectModel(v);
      describeModel(v);
    } else if (auto *box = qobject_cast<QComboBox *>(row->editor)) {
      const int i = box->findData(v);
      if (i >= 0)
        box->setCurrentIndex(i);
    } else if (auto *check = qobject_cast<QCheckBox *>(row->editor)) {
      check->setChecked(v == QLatin1String("true"));
    } else if (auto *tasks = qobject_cast<TaskListEditor *>(row->editor)) {
      if (!problems.contains(row->path)) // a wrong list is read partly: the table keeps the rows as typed
        tasks->setTasks(r.config.multitask.tasks);
    } else if (auto *line = qobject_cast<QLineEdit *>(row->editor)) {
      QString shown = v;
      if (row->kind == QLatin1String("list") && shown.startsWith(QLatin1Char('[')))
        shown = shown.mid(1, shown.size() - 2);
      // A field being typed in keeps its text unless the YAML changed under it.
      if (!line->hasFocus() || before.value(row->path) != v)
        line->setText(shown);
    }
    const QString p = problems.value(row->path);
    row->problem->setText(p);
    row->problem->setVisible(!p.isEmpty());
    const QString style = p.isEmpty() || row->kind == QLatin1String("model") ? QString()
                                                                             : QStringLiteral("border: 1px solid #c0392b;");
    if (row->editor->styleSheet() != style) // re-polishing every field on each keystroke is not free
      row->editor->setStyleSheet(style);
  }
  m_strategyNote->setText(noteFor(m_values.value(QStringLiteral("strategy.name"))));
  updateVisibility();
  m_showing = false;
}

void ExperimentForm::updateVisibility()
{
  for (Row *row : std::as_const(m_rows)) {
    const bool visible = fieldVisible(row->path);
    row->label->setVisible(visible);
    row->field->setVisible(visible);
  }
}

void ExperimentForm::setField(const QString &path, const QString &value)
{
  Row *row = m_rows.value(path);
  if (!row)
    return;
  if (row->kind == QLatin1String("model")) {
    selectModel(value);
  } else if (auto *box = qobject_cast<QComboBox *>(row->editor)) {
    if (const int i = box->findData(value); i >= 0)
      box->setCurrentIndex(i);
  } else if (auto *check = qobject_cast<QCheckBox *>(row->editor)) {
    check->setChecked(value == QLatin1String("true"));
  } else if (auto *line = qobject_cast<QLineEdit *>(row->editor)) {
    line->setText(value);
  }
  commit(path);
}

void ExperimentForm::commit(const QString &path)
{
  Row *row = m_rows.value(path);
  if (!row || m_showing)
    return;
  QString text;
  if (auto *box = qobject_cast<QComboBox *>(row->editor))
    text = box->currentData().toString();
  else if (auto *check = qobject_cast<QCheckBox *>(row->editor))
    text = check->isChecked() ? QStringLiteral("true") : QStringLiteral("false");
  else if (auto *line = qobject_cast<QLineEdit *>(row->editor))
    text = line->text().trimmed();
  else if (auto *tasks = qobject_cast<TaskListEditor *>(row->editor))
    text = tasks->yamlValue();
  QString shown = text;
  if (row->kind == QLatin1String("list"))
    shown = text.isEmpty() ? QStringLiteral("[]") : QStringLiteral("[%1]").arg(text);
  if (shown == m_values.value(path))
    return; // nothing changed
  m_values[path] = shown;
  QString yamlValue = shown;
  if (row->kind == QLatin1String("text") || row->kind == QLatin1String("model") ||
      (row->kind == QLatin1String("choice") && text.isEmpty())) {
    QString escaped = text;
    escaped.replace(QLatin1Char('\\'), QStringLiteral("\\\\")).replace(QLatin1Char('"'), QStringLiteral("\\\""));
    yamlValue = QStringLiteral("\"%1\"").arg(escaped);
  }
  if (row->kind == QLatin1String("model"))
    describeModel(text);
  if (path == QLatin1String("strategy.name"))
    m_strategyNote->setText(noteFor(text));
  updateVisibility();
  Q_EMIT edited(path, yamlValue);
}

void ExperimentForm::selectModel(const QString &path)
{
  if (m_models->findData(path) < 0) // a folder not listed yet: before "Hugging Face folder on disk…"
    m_models->insertItem(m_models->count() - 1, QDir::toNativeSeparators(path), path);
  m_models->setCurrentIndex(m_models->findData(path));
}

void ExperimentForm::chooseModelFolder()
{
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Choose a Hugging Face model folder"));
  if (dir.isEmpty()) {
    const int i = m_models->findData(m_values.value(QStringLiteral("model.path")));
    m_models->setCurrentIndex(std::max(0, i));
    return;
  }
  QSettings settings;
  QStringList recent = settings.value(QStringLiteral("form/recentModels")).toStringList();
  recent.removeAll(dir);
  recent.prepend(dir);
  settings.setValue(QStringLiteral("form/recentModels"), recent.mid(0, 8));
  setField(QStringLiteral("model.path"), dir);
}

void ExperimentForm::describeModel(const QString &path)
{
  if (path == m_describedModel)
    return;
  m_describedModel = path;
  m_modelInfo->setText(tr("Reading the model folder…"));
  m_modelInfo->setStyleSheet(QString());
  ExperimentConfig c;
  c.baseDir = m_baseDir.toStdString();
  const std::filesystem::path folder = c.resolve(path.toStdString());
  struct Described
  {
    QString text;
    bool error = false;
  };
  // Reading a folder can mean reading every tensor of a .bin: on a worker thread.
  runInBackground(
      this, m_describeThread,
      [folder] {
        auto out = std::make_shared<Described>();
        try {
          const ModelFolderInfo info = inspectModelFolder(folder);
          const TransformerShape &s = info.shape;
          out->text =
              QObject::tr("%1 · %2 layers × %3 hidden · %4 heads · %5 parameters")
                  .arg(QString::fromStdString(info.family))
                  .arg(s.decoderLayers > 0 ? QStringLiteral("%1+%2").arg(s.numLayers).arg(s.decoderLayers)
                                           : QString::number(s.numLayers))
                  .arg(s.hiddenSize)
                  .arg(s.numHeads)
                  .arg(humanCount(static_cast<double>(info.checkpointNumbers)));
          if (!info.architectures.empty())
            out->text += QStringLiteral(" · ") + QString::fromStdString(info.architectures.front());
          out->text += QObject::tr(" · vocabulary %1").arg(QLocale().toString(info.tokenizerVocabulary));
        } catch (const std::exception &e) {
          out->text = QString::fromUtf8(e.what());
          out->error = true;
        }
        return out;
      },
      [this, path](const std::shared_ptr<Described> &d) {
        if (path != m_describedModel)
          return; // another model was chosen meanwhile
        m_modelInfo->setText(d->text);
        m_modelInfo->setStyleSheet(d->error ? QStringLiteral("color: #c0392b;") : QString());
      });
}

} // namespace tunebench
