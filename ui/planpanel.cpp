#include "ui/planpanel.h"

#include "core/config/experiment.h"
#include "core/util/error.h"
#include "ui/estimatepanel.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

namespace tunebench {

namespace {

// The strategies with the learning rates and settings of the README's strategy table.
struct StrategyDefault
{
  const char *name, *rate, *settings;
};
const StrategyDefault kStrategies[] = {
    {"full", "1e-4", ""},
    {"partial", "1e-4", "strategy.freeze_embeddings=true strategy.freeze_bottom_layers=1"},
    {"linear_probe", "3e-3", ""},
    {"bitfit", "1e-3", ""},
    {"lora", "1e-3", "strategy.lora.r=8 strategy.lora.alpha=16"},
    {"adapters", "1e-3", "strategy.adapters.reduction=16"},
    {"ia3", "3e-3", ""},
    {"prefix", "1e-2", "strategy.prefix.tokens=20"},
    {"prompt", "1e-2", "strategy.prompt.tokens=20"},
};

QSpinBox *spin(QWidget *parent, int lo, int hi, int value, const QString &prefix)
{
  auto *s = new QSpinBox(parent);
  s->setRange(lo, hi);
  s->setValue(value);
  s->setPrefix(prefix);
  return s;
}

} // namespace

PlanPanel::PlanPanel(QWidget *parent)
  : QWidget(parent)
{
  setObjectName(QStringLiteral("PlanPanel"));
  m_kind = new QComboBox(this);
  m_kind->setObjectName(QStringLiteral("RunAs"));
  m_kind->addItems({tr("Single run"), tr("k-fold cross-validation"), tr("Repeated seeds"), tr("Grid sweep"),
                    tr("Random sweep"), tr("Compare strategies")});
  m_kind->setToolTip(tr("Run the experiment once, or as a plan of runs recorded under one parent in History "
                        "(group by parent for mean ± std and the 95% interval)"));
  m_folds = spin(this, 2, 20, 5, tr("folds: "));
  m_seeds = spin(this, 1, 50, 3, tr("seeds: "));
  m_seeds->setToolTip(tr("Every point (strategy) repeated with seed, seed+1, …"));
  m_samples = spin(this, 1, 1000, 8, tr("points: "));
  m_samples->setToolTip(tr("Random points sampled from the ranges"));
  m_workers = spin(this, 1, 16, 1, tr("at once: "));
  m_workers->setObjectName(QStringLiteral("PlanWorkers"));
  m_workers->setToolTip(tr("Runs trained at the same time, each a tunebench-cli process with the cores split "
                           "between them (tunebench-cli cv/sweep --workers). Their steps go to History as "
                           "they happen; the Monitor shows the queue, not their curves."));

  auto *fieldsPage = new QWidget(this);
  m_fields = new QPlainTextEdit(fieldsPage);
  m_fields->setObjectName(QStringLiteral("SweepFields"));
  m_fields->setPlaceholderText(tr("one field a line: training.learning_rate=3e-5,1e-4 (grid) or "
                                  "training.learning_rate=1e-5:1e-3:log (random)"));
  m_fields->setMaximumHeight(64);
  m_fieldKey = new QComboBox(fieldsPage);
  m_fieldKey->setEditable(true);
  for (const ConfigFieldInfo &f : configFields())
    if (f.kind == "number" || f.kind == "integer" || f.kind == "choice" || f.kind == "boolean")
      m_fieldKey->addItem(QString::fromStdString(f.path));
  m_fieldKey->setCurrentText(QStringLiteral("training.learning_rate"));
  auto *add = new QPushButton(tr("Add field"), fieldsPage);
  add->setToolTip(tr("Adds a line with the field's value in the form, to turn into values or a range"));
  auto *fieldsLayout = new QHBoxLayout(fieldsPage);
  fieldsLayout->setContentsMargins(0, 0, 0, 0);
  fieldsLayout->addWidget(m_fields, 3);
  auto *pick = new QVBoxLayout;
  pick->addWidget(m_fieldKey);
  pick->addWidget(add);
  fieldsLayout->addLayout(pick, 1);

  m_pages = new QStackedWidget(this);
  m_pages->addWidget(new QWidget(this));    // single
  m_pages->addWidget(new QWidget(this));    // cross-validation: the folds box alone
  m_pages->addWidget(new QWidget(this));    // seeds
  m_pages->addWidget(fieldsPage);           // grid
  m_pages->addWidget(createStrategyPage()); // strategies (index 4; random shares the fields page)
  m_summary = new QLabel(this);
  m_summary->setObjectName(QStringLiteral("PlanSummary"));

  auto *row = new QHBoxLayout;
  row->setContentsMargins(0, 0, 0, 0);
  row->addWidget(new QLabel(tr("Run as:"), this));
  for (QWidget *w :
       {static_cast<QWidget *>(m_kind), static_cast<QWidget *>(m_folds), static_cast<QWidget *>(m_seeds),
        static_cast<QWidget *>(m_samples), static_cast<QWidget *>(m_workers)})
    row->addWidget(w);
  row->addWidget(m_summary, 1);
  auto *layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(row);
  layout->addWidget(m_pages);

  connect(m_kind, &QComboBox::currentIndexChanged, this, [this] {
    const Kind k = kind();
    m_folds->setVisible(k == CrossValidation);
    m_seeds->setVisible(k == Seeds || k == Grid || k == Random || k == Strategies);
    m_samples->setVisible(k == Random);
    m_workers->setVisible(k != Single);
    m_pages->setVisible(k == Grid || k == Random || k == Strategies);
    m_pages->setCurrentIndex(k == Strategies ? 4 : k == Random ? 3 : k);
    updateSummary();
  });
  for (QSpinBox *s : {m_folds, m_seeds, m_samples, m_workers})
    connect(s, &QSpinBox::valueChanged, this, &PlanPanel::updateSummary);
  connect(m_fields, &QPlainTextEdit::textChanged, this, &PlanPanel::updateSummary);
  connect(m_strategies, &QTableWidget::itemChanged, this, &PlanPanel::updateSummary);
  connect(add, &QPushButton::clicked, this,
          [this] { Q_EMIT fieldRequested(m_fieldKey->currentText().trimmed()); });
  setKind(Single);
  Q_EMIT m_kind->currentIndexChanged(0);
}

QWidget *PlanPanel::createStrategyPage()
{
  m_strategies = new QTableWidget(static_cast<int>(std::size(kStrategies)), 3, this);
  m_strategies->setObjectName(QStringLiteral("PlanStrategies"));
  m_strategies->setHorizontalHeaderLabels({tr("strategy"), tr("learning rate"), tr("other settings")});
  m_strategies->verticalHeader()->hide();
  m_strategies->horizontalHeader()->setStretchLastSection(true);
  m_strategies->setMaximumHeight(150);
  m_strategies->setToolTip(
      tr("Tick the strategies to compare; each runs with its own learning rate and settings "
         "(key=value, space-separated) over the seeds"));
  for (int r = 0; r < m_strategies->rowCount(); ++r) {
    const StrategyDefault &d = kStrategies[r];
    auto *name = new QTableWidgetItem(QString::fromLatin1(d.name));
    name->setFlags(Qt::ItemIsUserCheckable | Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    const bool on = std::string(d.name) == "full" || std::string(d.name) == "lora";
    name->setCheckState(on ? Qt::Checked : Qt::Unchecked);
    m_strategies->setItem(r, 0, name);
    m_strategies->setItem(r, 1, new QTableWidgetItem(QString::fromLatin1(d.rate)));
    m_strategies->setItem(r, 2, new QTableWidgetItem(QString::fromLatin1(d.settings)));
  }
  m_strategies->resizeColumnsToContents();
  return m_strategies;
}

PlanPanel::Kind PlanPanel::kind() const
{
  return static_cast<Kind>(m_kind->currentIndex());
}

void PlanPanel::setKind(Kind kind)
{
  m_kind->setCurrentIndex(kind);
}

void PlanPanel::addField(const QString &key, const QString &value)
{
  if (key.isEmpty())
    return;
  QString text = m_fields->toPlainText();
  if (!text.isEmpty() && !text.endsWith(QLatin1Char('\n')))
    text += QLatin1Char('\n');
  m_fields->setPlainText(text + key + QLatin1Char('=') + value);
}

SweepSpec PlanPanel::sweepSpec() const
{
  SweepSpec spec;
  spec.seeds = m_seeds->value();
  const Kind k = kind();
  if (k == Grid || k == Random)
    for (const QString &line : m_fields->toPlainText().split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
      const std::string l = line.trimmed().toStdString();
      if (l.empty())
        continue;
      // key=lo:hi[:log] is a range (random sweep); key=a,b,c values (a grid, also in a random sweep)
      const bool range = k == Random && l.find(':') != std::string::npos;
      (range ? spec.ranges : spec.grid).push_back(l);
    }
  if (k == Random) {
    spec.random = m_samples->value();
    if (spec.ranges.empty())
      throw Error("random sweep: give at least one range, key=lo:hi or key=lo:hi:log");
  }
  if (k == Grid && spec.grid.empty())
    throw Error("grid sweep: give at least one field, key=a,b,c");
  if (k == Strategies) {
    for (int r = 0; r < m_strategies->rowCount(); ++r) {
      if (m_strategies->item(r, 0)->checkState() != Qt::Checked)
        continue;
      std::vector<std::string> point = {"strategy.name=" + m_strategies->item(r, 0)->text().toStdString(),
                                        "training.learning_rate=" +
                                            m_strategies->item(r, 1)->text().trimmed().toStdString()};
      for (const QString &s : m_strategies->item(r, 2)->text().split(QLatin1Char(' '), Qt::SkipEmptyParts))
        point.push_back(s.toStdString());
      spec.points.push_back(point);
    }
    if (spec.points.empty())
      throw Error("compare strategies: tick at least one strategy");
  }
  return spec;
}

std::size_t PlanPanel::runCount() const
{
  switch (kind()) {
  case Single:
    return 1;
  case CrossValidation:
    return static_cast<std::size_t>(m_folds->value());
  default: {
    const SweepSpec spec = sweepSpec();
    return sweepPoints(spec).size() * static_cast<std::size_t>(spec.seeds);
  }
  }
}

ExperimentPlan PlanPanel::plan(const ExperimentSource &source, const std::filesystem::path &root) const
{
  if (kind() == CrossValidation)
    return planCrossValidation(source, m_folds->value(), root);
  if (kind() == Single)
    throw Error("a single run is not a plan");
  return planSweep(source, sweepSpec(), root);
}

void PlanPanel::setRunEstimate(double seconds)
{
  m_runSeconds = seconds;
  updateSummary();
}

void PlanPanel::updateSummary()
{
  try {
    const std::size_t n = runCount();
    const int atOnce = kind() == Single ? 1 : m_workers->value();
    QString text = n == 1       ? tr("1 run")
                   : atOnce > 1 ? tr("%1 runs, %2 at once").arg(n).arg(atOnce)
                                : tr("%1 runs, one at a time").arg(n);
    if (std::isfinite(m_runSeconds) && m_runSeconds > 0 && atOnce == 1)
      text += tr(" · about %1").arg(formatDuration(m_runSeconds * static_cast<double>(n)));
    m_summary->setText(text);
    m_summary->setToolTip(atOnce == 1
                              ? tr("The estimate of one run (beside the form) times the number of runs")
                              : tr("Runs at once share the cores: no time estimate"));
  } catch (const Error &e) {
    m_summary->setText(QString::fromUtf8(e.what()));
  }
  Q_EMIT changed();
}

} // namespace tunebench
