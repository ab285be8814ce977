#include "ui/experimentview.h"

#include "core/config/experiment.h"
#include "core/train/quickcheck.h"
#include "ui/background.h"
#include "ui/estimatepanel.h"
#include "ui/experimentform.h"
#include "ui/planpanel.h"

#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QTabWidget>
#include <QTextBlock>
#include <QTimer>
#include <QVBoxLayout>


namespace tunebench {

ExperimentView::ExperimentView(QWidget *parent) : QWidget(parent)
{
  setObjectName(QStringLiteral("ExperimentView"));
  auto *layout = new QVBoxLayout(this);
  layout->addLayout(createPresetBar());
  layout->addWidget(createEditors(), 3);
  m_hint = new QLabel(tr("Problems (double-click to jump to the line):"), this);
  layout->addWidget(m_hint);
  m_problems = new QListWidget(this);
  m_problems->setObjectName(QStringLiteral("ConfigProblems"));
  m_problems->setMaximumHeight(80);
  layout->addWidget(m_problems);
  m_planPanel = new PlanPanel(this);
  layout->addWidget(m_planPanel);
  connect(m_estimate, &EstimatePanel::updated, m_planPanel,
          [this] { m_planPanel->setRunEstimate(m_estimate->totalSeconds()); });
  connect(m_planPanel, &PlanPanel::fieldRequested, this,
          [this](const QString &key) { m_planPanel->addField(key, m_form->fieldValue(key)); });
  connect(m_problems, &QListWidget::itemDoubleClicked, this, [this](QListWidgetItem *item) {
    const int line = item->data(Qt::UserRole).toInt();
    if (line <= 0)
      return;
    QTextCursor c(m_editor->document()->findBlockByNumber(line - 1));
    m_editor->setTextCursor(c);
    m_editor->setFocus();
  });
  layout->addLayout(createButtons());
  setRunning(false);
  if (m_presets->count() > 0)
    loadPreset(m_presets->findText(QStringLiteral("sentiment-use-lite")) >= 0
                   ? QStringLiteral("sentiment-use-lite")
                   : m_presets->itemText(0));
}

// The presets, Open… and Save As….
QHBoxLayout *ExperimentView::createPresetBar()
{
  auto *top = new QHBoxLayout;
  m_presets = new QComboBox(this);
  for (const QString &f : QDir(QStringLiteral(":/presets")).entryList({QStringLiteral("*.yaml")}))
    m_presets->addItem(QFileInfo(f).completeBaseName());
  auto *load = new QPushButton(tr("Open…"), this);
  auto *save = new QPushButton(tr("Save As…"), this);
  top->addWidget(new QLabel(tr("Preset:"), this));
  top->addWidget(m_presets, 1);
  top->addWidget(load);
  top->addWidget(save);
  connect(m_presets, &QComboBox::currentTextChanged, this, &ExperimentView::loadPreset);
  connect(load, &QPushButton::clicked, this, [this] {
    const QString file =
        QFileDialog::getOpenFileName(this, tr("Open Experiment"), QString(), tr("YAML (*.yaml *.yml)"));
    QFile f(file);
    if (!file.isEmpty() && f.open(QIODevice::ReadOnly))
      setYaml(QString::fromUtf8(f.readAll()));
  });
  connect(save, &QPushButton::clicked, this, [this] {
    const QString file =
        QFileDialog::getSaveFileName(this, tr("Save Experiment"), QString(), tr("YAML (*.yaml)"));
    QFile f(file);
    if (!file.isEmpty() && f.open(QIODevice::WriteOnly))
      f.write(yaml().toUtf8());
  });
  return top;
}

// The form and the YAML (each follows the other), and the estimate beside them.
QSplitter *ExperimentView::createEditors()
{
  m_editor = new QPlainTextEdit(this);
  m_editor->setObjectName(QStringLiteral("ExperimentYaml"));
  m_editor->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  m_editor->setLineWrapMode(QPlainTextEdit::NoWrap);
  auto *split = new QSplitter(Qt::Horizontal, this);
  m_editors = new QTabWidget(split);
  m_editors->setObjectName(QStringLiteral("ExperimentEditors"));
  m_form = new ExperimentForm(m_editors);
  m_editors->addTab(m_form, tr("&Form"));
  m_editors->addTab(m_editor, tr("&YAML"));
  split->addWidget(m_editors);
  m_estimate = new EstimatePanel(split);
  m_estimate->setMinimumWidth(280);
  split->addWidget(m_estimate);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  split->setSizes({760, 320});
  connect(m_estimate, &EstimatePanel::remedyChosen, this, [this](const QList<QPair<QString, QString>> &overrides) {
    for (const auto &[key, value] : overrides)
      setOverride(key, value);
  });
  m_formTimer = new QTimer(this);
  m_formTimer->setSingleShot(true);
  m_formTimer->setInterval(150);
  auto refresh = [this] { // the form, the problems list and the estimate follow the YAML
    const auto p = parsed(m_baseDir);
    m_form->showConfig(yaml(), *p, m_baseDir);
    showProblems(*p);
    m_estimate->request(p);
  };
  connect(m_formTimer, &QTimer::timeout, this, refresh);
  connect(m_editor, &QPlainTextEdit::textChanged, m_formTimer, qOverload<>(&QTimer::start));
  connect(m_form, &ExperimentForm::edited, this, [this, refresh](const QString &path, const QString &value) {
    setOverride(path, value);
    m_formTimer->stop();
    refresh(); // the field's problem at once
  });
  return split;
}

// Quick check, Start, Pause, Stop.
QHBoxLayout *ExperimentView::createButtons()
{
  auto *buttons = new QHBoxLayout;
  m_start = new QPushButton(tr("&Start"), this);
  m_pause = new QPushButton(tr("&Pause"), this);
  m_pause->setCheckable(true);
  m_stop = new QPushButton(tr("S&top"), this);
  m_start->setDefault(true);
  m_quick = new QPushButton(tr("&Quick check"), this);
  m_quick->setToolTip(tr("Before a long run: does one batch over-fit (the pipeline learns), and does a short run "
                         "on a small subset finish? Nothing is added to the history."));
  buttons->addWidget(m_quick);
  buttons->addStretch(1);
  buttons->addWidget(m_start);
  buttons->addWidget(m_pause);
  buttons->addWidget(m_stop);
  connect(m_start, &QPushButton::clicked, this, &ExperimentView::startRequested);
  connect(m_pause, &QPushButton::toggled, this, [this](bool on) {
    m_pause->setText(on ? tr("&Resume") : tr("&Pause"));
    Q_EMIT pauseRequested(on);
  });
  connect(m_stop, &QPushButton::clicked, this, &ExperimentView::stopRequested);
  connect(m_quick, &QPushButton::clicked, this, &ExperimentView::quickCheck);
  return buttons;
}

ExperimentView::~ExperimentView()
{
  m_quickThread.stopAndWait();
}

void ExperimentView::quickCheck()
{
  const auto experiment = parsed(m_baseDir);
  if (!experiment->ok()) {
    const QStringList problems = validate(m_baseDir);
    Q_EMIT quickChecked(false, problems.join(QLatin1Char('\n')));
    return;
  }
  m_quick->setEnabled(false);
  m_start->setEnabled(false);
  m_quick->setText(tr("Checking…"));
  m_problems->clear();
  m_problems->addItem(tr("Quick check: over-fitting one batch, then a short run on a subset…"));
  const std::filesystem::path scratch =
      std::filesystem::temp_directory_path() /
      ("tunebench-quickcheck-" + std::to_string(QCoreApplication::applicationPid()));
  struct Outcome
  {
    bool ok = false;
    QStringList lines;
  };
  runInBackground(
      this, m_quickThread,
      [config = experiment->config, scratch] {
        auto out = std::make_shared<Outcome>();
        try {
          const QuickCheckResult r = tunebench::quickCheck(config, scratch);
          out->ok = r.ok;
          for (const std::string &l : r.lines)
            out->lines << QString::fromStdString(l);
        } catch (const std::exception &e) {
          out->lines << QString::fromUtf8(e.what());
        }
        return out;
      },
      [this](const std::shared_ptr<Outcome> &out) {
        m_quick->setEnabled(true);
        m_quick->setText(tr("&Quick check"));
        m_start->setEnabled(!m_stop->isEnabled());
        m_problems->clear();
        m_problems->addItem(out->ok ? tr("Quick check passed.") : tr("Quick check FAILED:"));
        m_problems->addItems(out->lines);
        Q_EMIT quickChecked(out->ok, out->lines.join(QLatin1Char('\n')));
      });
}

QString ExperimentView::yaml() const { return m_editor->toPlainText(); }

void ExperimentView::setBaseDir(const QString &dir)
{
  m_baseDir = dir;
  const auto p = parsed(m_baseDir);
  m_estimate->request(p);
  m_form->showConfig(yaml(), *p, m_baseDir);
}
void ExperimentView::setYaml(const QString &yaml) { m_editor->setPlainText(yaml); }

void ExperimentView::loadPreset(const QString &name)
{
  QFile f(QStringLiteral(":/presets/%1.yaml").arg(name));
  if (f.open(QIODevice::ReadOnly))
    setYaml(QString::fromUtf8(f.readAll()));
  const int i = m_presets->findText(name);
  if (i >= 0 && m_presets->currentIndex() != i)
    m_presets->setCurrentIndex(i);
}

std::shared_ptr<const ConfigResult> ExperimentView::parsed(const QString &baseDir) const
{
  const QString text = yaml();
  if (!m_parsed || text != m_parsedYaml || baseDir != m_parsedBase) {
    m_parsed = std::make_shared<const ConfigResult>(
        parseExperimentConfig(text.toStdString(), baseDir.toStdString()));
    m_parsedYaml = text;
    m_parsedBase = baseDir;
    ++m_parses;
  }
  return m_parsed;
}

QStringList ExperimentView::validate(const QString &baseDir)
{
  return showProblems(*parsed(baseDir));
}

QStringList ExperimentView::showProblems(const ConfigResult &r)
{
  m_problems->clear();
  QStringList out;
  for (const ConfigProblem &p : r.problems) {
    const QString text = p.line > 0 ? tr("line %1, column %2: %3: %4")
                                          .arg(p.line)
                                          .arg(p.column)
                                          .arg(QString::fromStdString(p.field), QString::fromStdString(p.message))
                                    : QStringLiteral("%1: %2").arg(QString::fromStdString(p.field), QString::fromStdString(p.message));
    auto *item = new QListWidgetItem(text, m_problems);
    item->setData(Qt::UserRole, p.line);
    out << text;
  }
  if (out.isEmpty())
    m_problems->addItem(tr("No problems: ready to start."));
  return out;
}

void ExperimentView::setRunning(bool running, bool paused)
{
  m_start->setEnabled(!running);
  m_pause->setEnabled(running);
  m_stop->setEnabled(running);
  m_pause->blockSignals(true);
  m_pause->setChecked(paused);
  m_pause->setText(paused ? tr("&Resume") : tr("&Pause"));
  m_pause->blockSignals(false);
  m_editor->setReadOnly(running);
  m_quick->setEnabled(!running && !m_quickThread.running());
  m_form->setEnabled(!running);
  m_planPanel->setEnabled(!running);
}

void ExperimentView::setOverride(const QString &dottedKey, const QString &value)
{
  try {
    setYaml(QString::fromStdString(withOverride(yaml().toStdString(), dottedKey.toStdString(), value.toStdString())));
  } catch (const std::exception &e) { // the text is not YAML: say so, change nothing
    m_problems->clear();
    m_problems->addItem(tr("The YAML cannot be read, so the form cannot change it: %1").arg(QString::fromUtf8(e.what())));
  }
}

} // namespace tunebench
