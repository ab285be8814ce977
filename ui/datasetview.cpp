#include "ui/datasetview.h"

#include "core/config/experiment.h"
#include "core/data/datareport.h"
#include "core/data/dataset.h"
#include "core/data/mapping.h"
#include "core/data/readers.h"
#include "core/data/statistics.h"
#include "core/runtime/paths.h"
#include "core/tokenize/tokenizer.h"
#include "core/tokenize/tokenizerloader.h"
#include "core/train/dataprep.h"
#include "ui/background.h"
#include "ui/charttheme.h"
#include "ui/columnmapping.h"
#include "ui/datacharts.h"
#include "ui/labelling.h"
#include "ui/plotview.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFont>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QRegularExpression>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QToolButton>
#include <QUndoStack>
#include <QVBoxLayout>

#include <algorithm>

namespace tunebench {

namespace {


// Paths under the assets or workspace folder shown as $ASSETS/… and $WORKSPACE/… (as configs
// write them), and read back.
QString displayPath(const QString &file)
{
  for (const auto &[name, dir] : {std::pair{QStringLiteral("$ASSETS"), QString::fromStdString(assetsDir().string())},
                                  std::pair{QStringLiteral("$WORKSPACE"), QString::fromStdString(defaultWorkspaceDir().string())}})
    if (!dir.isEmpty() && file.startsWith(dir + QLatin1Char('/')))
      return name + file.mid(dir.size());
  return file;
}

QString realPath(const QString &shown)
{
  for (const auto &[name, dir] : {std::pair{QStringLiteral("$ASSETS/"), QString::fromStdString(assetsDir().string())},
                                  std::pair{QStringLiteral("$WORKSPACE/"), QString::fromStdString(defaultWorkspaceDir().string())}})
    if (shown.startsWith(name))
      return dir + QLatin1Char('/') + shown.mid(name.size());
  return shown;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// DatasetView

struct DatasetView::Loaded
{
  QString error;
  std::shared_ptr<Dataset> dataset;
  std::vector<DataIssue> issues;
  DatasetStatistics statistics;
  int maxLength = 0;
};

DatasetView::DatasetView(QWidget *parent) : QWidget(parent)
{
  setObjectName(QStringLiteral("DatasetView"));
  auto *layout = new QVBoxLayout(this);
  layout->addLayout(createOpenBar());
  layout->addLayout(createFilterBar());
  m_summary = new QLabel(tr("Open a data file, or the Experiment tab's data."), this);
  m_summary->setWordWrap(true);
  layout->addWidget(m_summary);
  auto *split = new QSplitter(Qt::Horizontal, this);
  createTable(split);
  QSplitter *side = createSide(split);
  split->addWidget(m_table);
  split->addWidget(side);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);
}

// The file, its task, Open, Import… and the experiment's data.
QHBoxLayout *DatasetView::createOpenBar()
{
  auto *bar = new QHBoxLayout;
  m_path = new QLineEdit(this);
  m_path->setPlaceholderText(tr("A CSV, JSON, JSON Lines, CoNLL or text file"));
  auto *browse = new QPushButton(tr("&Import…"), this);
  browse->setObjectName(QStringLiteral("ImportDataButton"));
  browse->setToolTip(tr("Choose a data file and map its columns"));
  m_kind = new QComboBox(this);
  m_kind->addItems({QStringLiteral("single_label"), QStringLiteral("multi_label"), QStringLiteral("token_tagging"),
                    QStringLiteral("instruction"), QStringLiteral("causal_lm")});
  m_open = new QPushButton(tr("&Open"), this);
  m_open->setObjectName(QStringLiteral("OpenDataButton"));
  auto *fromExperiment = new QPushButton(tr("The experiment's data"), this);
  bar->addWidget(m_path, 1);
  bar->addWidget(browse);
  bar->addWidget(m_kind);
  bar->addWidget(m_open);
  bar->addWidget(fromExperiment);
  connect(browse, &QPushButton::clicked, this, &DatasetView::import);
  connect(m_open, &QPushButton::clicked, this, [this] { open(m_path->text(), m_kind->currentText()); });
  connect(fromExperiment, &QPushButton::clicked, this, &DatasetView::experimentDataRequested);
  return bar;
}

// Search, label and split filters, undo/redo of label edits, saving a new version.
QHBoxLayout *DatasetView::createFilterBar()
{
  auto *filters = new QHBoxLayout;
  m_search = new QLineEdit(this);
  m_search->setPlaceholderText(tr("Search the text"));
  m_search->setClearButtonEnabled(true);
  m_labels = new QComboBox(this);
  m_splits = new QComboBox(this);
  filters->addWidget(m_search, 1);
  filters->addWidget(new QLabel(tr("Label:"), this));
  filters->addWidget(m_labels);
  filters->addWidget(new QLabel(tr("Split:"), this));
  filters->addWidget(m_splits);
  m_undo = new QUndoStack(this);
  QAction *undo = m_undo->createUndoAction(this, tr("Undo"));
  QAction *redo = m_undo->createRedoAction(this, tr("Redo"));
  undo->setShortcut(QKeySequence::Undo);
  redo->setShortcut(QKeySequence::Redo);
  for (QAction *a : {undo, redo}) {
    a->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    addAction(a);
    auto *button = new QToolButton(this);
    button->setDefaultAction(a);
    filters->addWidget(button);
  }
  m_saveVersion = new QPushButton(tr("Save as new version"), this);
  m_saveVersion->setToolTip(tr("Write the corrected labels as a new dataset version (the original file is kept)"));
  m_saveVersion->setEnabled(false);
  filters->addWidget(m_saveVersion);
  connect(m_undo, &QUndoStack::cleanChanged, this, [this](bool clean) { m_saveVersion->setEnabled(!clean); });
  connect(m_saveVersion, &QPushButton::clicked, this, &DatasetView::saveVersion);
  auto refilter = [this] {
    setFilters(m_search->text(), m_labels->currentIndex() > 0 ? m_labels->currentText() : QString(),
               m_splits->currentIndex() > 0 ? m_splits->currentText() : QString());
  };
  connect(m_search, &QLineEdit::textChanged, this, refilter);
  connect(m_labels, &QComboBox::currentIndexChanged, this, refilter);
  connect(m_splits, &QComboBox::currentIndexChanged, this, refilter);
  return filters;
}

// The rows: sortable, labels edited in place (tags in a dialog).
void DatasetView::createTable(QSplitter *split)
{
  m_model = new DatasetModel(this);
  m_filter = new DatasetFilter(this);
  m_filter->setSourceModel(m_model);
  m_table = new QTableView(split);
  m_table->setObjectName(QStringLiteral("DatasetTable"));
  m_table->setModel(m_filter);
  m_table->setItemDelegateForColumn(2, new LabelDelegate(m_table));
  m_table->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
  connect(m_model, &DatasetModel::editRequested, this, &DatasetView::editValues);
  connect(m_table, &QTableView::doubleClicked, this, [this](const QModelIndex &at) {
    const QModelIndex source = m_filter->mapToSource(at);
    const Dataset *d = m_model->dataset();
    if (!d || d->kind != TaskKind::TokenTagging || source.column() != m_model->labelColumn())
      return;
    const Example &e = d->examples[static_cast<std::size_t>(source.row())];
    TagEditorDialog dialog(e.tokens, e.tags, d->labels, this);
    if (dialog.exec() == QDialog::Accepted)
      editValues(source.row(), dialog.tags());
  });
  m_table->setSortingEnabled(true);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setWordWrap(false);
  m_table->horizontalHeader()->setStretchLastSection(true);
  m_table->sortByColumn(0, Qt::AscendingOrder);
  m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
}

// The charts, the validation report and the augmentation preview.
QSplitter *DatasetView::createSide(QSplitter *split)
{
  auto *side = new QSplitter(Qt::Vertical, split);
  m_labelChart = themedChart();
  m_labelChart->setTitle(tr("Labels"));
  m_labelChart->legend()->hide();
  m_lengthChart = themedChart();
  m_lengthChart->setTitle(tr("Token lengths"));
  m_lengthChart->legend()->setAlignment(Qt::AlignBottom);
  for (QChart *c : {m_labelChart, m_lengthChart}) {
    auto *view = new PlotView(c, side);
    view->setMinimumHeight(120);
  }
  auto *bottom = new QTabWidget(side);
  m_report = new QListWidget(bottom);
  m_report->setObjectName(QStringLiteral("DataReport"));
  m_report->setToolTip(tr("Double-click an entry to show its row"));
  auto *augmentPage = new QWidget(bottom);
  auto *augmentLayout = new QVBoxLayout(augmentPage);
  m_augment = new QPushButton(tr("Preview augmentation of the rows shown"), augmentPage);
  m_augmentation = new QTableWidget(0, 3, augmentPage);
  m_augmentation->setObjectName(QStringLiteral("AugmentationPreview"));
  m_augmentation->setHorizontalHeaderLabels({tr("operation"), tr("original"), tr("augmented")});
  m_augmentation->horizontalHeader()->setStretchLastSection(true);
  m_augmentation->verticalHeader()->setVisible(false);
  m_augmentation->setEditTriggers(QAbstractItemView::NoEditTriggers);
  augmentLayout->setContentsMargins(0, 0, 0, 0);
  augmentLayout->addWidget(m_augment);
  augmentLayout->addWidget(m_augmentation, 1);
  bottom->addTab(m_report, tr("Validation report"));
  bottom->addTab(augmentPage, tr("Augmentation preview"));
  connect(m_augment, &QPushButton::clicked, this, [this] { previewAugmentation(); });
  side->setStretchFactor(0, 2);
  side->setStretchFactor(1, 2);
  side->setStretchFactor(2, 1);
  side->setSizes({260, 260, 160});
  connect(m_report, &QListWidget::itemDoubleClicked, this, [this](QListWidgetItem *item) { jumpToIssue(m_report->row(item)); });
  return side;
}

void DatasetView::import()
{
  const QString file = QFileDialog::getOpenFileName(this, tr("Import Data"), realPath(m_path->text()),
                                                    tr("Data (*.csv *.tsv *.json *.jsonl *.conll *.txt);;All files (*)"));
  if (file.isEmpty())
    return;
  ColumnMappingDialog dialog(file, m_kind->currentText(), this);
  if (dialog.exec() != QDialog::Accepted)
    return;
  open(file, dialog.kind(), {}, 128, dialog.columns());
  if (dialog.useInExperiment())
    Q_EMIT useInExperiment(file, dialog.kind(), dialog.columns());
}

void DatasetView::editValues(int row, const std::vector<std::string> &values)
{
  if (!m_model->dataset() || row < 0 || row >= m_model->rowCount() || values == m_model->values(row))
    return;
  m_undo->push(new LabelEdit(m_model, row, m_model->values(row), values));
}

QString DatasetView::saveVersion()
{
  if (!m_model->dataset())
    return {};
  const QFileInfo original(m_openedFile);
  QString stem = original.completeBaseName();
  stem.remove(QRegularExpression(QStringLiteral("-v\\d+$"))); // name-v2 → name-v3, not name-v2-v2
  const QString dir = m_versionsDir.isEmpty() ? original.absolutePath() : m_versionsDir;
  QString error;
  const QString path = saveDatasetVersion(*m_model->dataset(), dir, stem, &error);
  if (path.isEmpty()) {
    m_summary->setText(tr("<b>Cannot save the version:</b> %1").arg(error.toHtmlEscaped()));
    return {};
  }
  m_undo->setClean();
  m_summary->setText(tr("Saved %1 changed row(s) as <b>%2</b> (the original file is unchanged).")
                         .arg(m_model->changedRows())
                         .arg(displayPath(path).toHtmlEscaped()));
  Q_EMIT versionSaved(path);
  return path;
}

DatasetView::~DatasetView()
{
  m_thread.stopAndWait();
}

void DatasetView::load(const QString &file, const QString &kindName, const QString &summary,
                       const QString &modelDir, int maxLength, std::function<Dataset(DataReport &)> read)
{
  if (m_loading)
    return; // one load at a time
  m_loading = true;
  m_path->setText(displayPath(file));
  m_kind->setCurrentText(kindName);
  m_summary->setText(summary);
  m_open->setEnabled(false);
  m_openedFile = realPath(file);
  runInBackground(
      this, m_thread,
      [read = std::move(read), modelDir, maxLength] {
        auto l = std::make_shared<Loaded>();
        l->maxLength = maxLength;
        try {
          DataReport report;
          l->dataset = std::make_shared<Dataset>(read(report));
          l->issues = report.issues();
          std::unique_ptr<Tokenizer> tokenizer;
          if (!modelDir.isEmpty()) {
            try {
              tokenizer = loadTokenizer(modelDir.toStdString());
            } catch (const std::exception &) {
              // no token lengths without a tokenizer
            }
          }
          l->statistics = computeStatistics(*l->dataset, tokenizer.get(), maxLength);
        } catch (const std::exception &e) {
          l->error = QString::fromUtf8(e.what());
        }
        return l;
      },
      [this](const std::shared_ptr<Loaded> &l) { show(*l); });
}

void DatasetView::open(const QString &file, const QString &kindName, const QString &modelDir, int maxLength,
                       const QMap<QString, QString> &columns)
{
  const std::string path = realPath(file).toStdString();
  const TaskKind kind = parseTaskKind(kindName.toStdString()).value_or(TaskKind::SingleLabel);
  m_experiment.reset();
  load(file, kindName, tr("Reading %1…").arg(file.toHtmlEscaped()), modelDir, maxLength,
       [path, kind, columns](DataReport &report) {
         const Table table = readTable(path, report);
         MappingOptions options;
         options.kind = kind;
         options.columns = guessMapping(table, options.kind);
         if (!columns.isEmpty()) {
           const std::string separator = options.columns.labelSeparator;
           options.columns = toColumnMapping(columns);
           options.columns.labelSeparator = separator;
         }
         return toDataset(table, options, report);
       });
}

void DatasetView::openExperiment(const ExperimentConfig &config, const QString &kindName)
{
  const QString file = QString::fromStdString(config.resolve(config.data.path).string());
  m_experiment = config;
  load(file, kindName, tr("Preparing %1 as the experiment's run does…").arg(file.toHtmlEscaped()),
       QString::fromStdString(config.resolve(config.model.path).string()), config.model.maxLength,
       [config](DataReport &report) {
         LoadedDataset d = loadDataset(config, report);
         const std::pair<const std::vector<int> *, const char *> splits[] = {
             {&d.split.train, "train"}, {&d.split.validation, "validation"}, {&d.split.test, "test"}};
         for (const auto &[rows, name] : splits)
           for (int r : *rows)
             d.dataset.examples[static_cast<std::size_t>(r)].split = name;
         return std::move(d.dataset);
       });
}

// Filters: every label (or tag) and split present.
void DatasetView::showFilters(const Loaded &l)
{
  m_labels->blockSignals(true);
  m_splits->blockSignals(true);
  m_labels->clear();
  m_labels->addItem(tr("(any)"));
  for (const auto &[label, count] : l.statistics.labelCounts)
    m_labels->addItem(QString::fromStdString(label));
  m_splits->clear();
  m_splits->addItem(tr("(any)"));
  QStringList splits;
  for (const Example &e : l.dataset->examples)
    if (!e.split.empty() && !splits.contains(QString::fromStdString(e.split)))
      splits << QString::fromStdString(e.split);
  m_splits->addItems(splits);
  m_labels->blockSignals(false);
  m_splits->blockSignals(false);
  setFilters(m_search->text(), {}, {});
}

// The validation report: errors first; each entry remembers its line.
void DatasetView::showReport(const Loaded &l)
{
  m_report->clear();
  m_issueLines.clear();
  std::vector<DataIssue> issues = l.issues;
  std::stable_sort(issues.begin(), issues.end(), [](const DataIssue &a, const DataIssue &b) {
    return a.severity == DataIssue::Severity::Error && b.severity != DataIssue::Severity::Error;
  });
  for (const DataIssue &i : issues) {
    auto *item = new QListWidgetItem(QString::fromStdString(i.toString()), m_report);
    item->setForeground(palette().color(i.severity == DataIssue::Severity::Error ? QPalette::Text : QPalette::PlaceholderText));
    m_issueLines.push_back(i.line);
  }
}

void DatasetView::show(const Loaded &l)
{
  m_loading = false;
  m_open->setEnabled(true);
  if (!l.error.isEmpty()) {
    m_summary->setText(tr("<b>Cannot open the data:</b> %1").arg(l.error.toHtmlEscaped()));
    Q_EMIT loaded(false);
    return;
  }
  m_dataset = l.dataset;
  m_model->setDataset(l.dataset);
  m_undo->clear();
  m_table->resizeColumnToContents(0);
  m_table->setColumnWidth(1, std::max(200, m_table->width() / 2));
  showFilters(l);
  showReport(l);
  drawLabelCounts(m_labelChart, l.statistics.labelCounts);
  drawTokenLengths(m_lengthChart, l.statistics, l.maxLength);
  const std::vector<int> &lengths = l.statistics.tokenLengths;
  m_summary->setText(tr("<b>%1</b>: %2 rows, %3 labels; %4 errors, %5 warnings%6")
                         .arg(m_path->text().section(QLatin1Char('/'), -1).toHtmlEscaped())
                         .arg(l.dataset->size())
                         .arg(l.statistics.labelCounts.size())
                         .arg(std::count_if(l.issues.begin(), l.issues.end(),
                                            [](const DataIssue &i) { return i.severity == DataIssue::Severity::Error; }))
                         .arg(std::count_if(l.issues.begin(), l.issues.end(),
                                            [](const DataIssue &i) { return i.severity == DataIssue::Severity::Warning; }))
                         .arg(lengths.empty() ? QString()
                                              : tr("; tokens p50 %1, p95 %2, max %3").arg(l.statistics.p50).arg(l.statistics.p95)
                                                    .arg(l.statistics.maxLength)));
  Q_EMIT loaded(true);
}

void DatasetView::setFilters(const QString &text, const QString &label, const QString &split)
{
  m_filter->setFilters(text, label, split);
}

bool DatasetView::jumpToIssue(int issueIndex)
{
  if (issueIndex < 0 || issueIndex >= static_cast<int>(m_issueLines.size()) || !m_model->dataset())
    return false;
  const int line = m_issueLines[static_cast<std::size_t>(issueIndex)];
  // The row that starts at that line, or the last one before it (rows with errors are left out).
  const auto &examples = m_model->dataset()->examples;
  int best = -1;
  for (int r = 0; r < static_cast<int>(examples.size()); ++r)
    if (examples[static_cast<std::size_t>(r)].line <= line)
      best = r;
  if (best < 0 || line <= 0)
    return false;
  setFilters({}, {}, {});
  const QModelIndex at = m_filter->mapFromSource(m_model->index(best, 0));
  m_table->selectRow(at.row());
  m_table->scrollTo(at, QAbstractItemView::PositionAtCenter);
  return true;
}

} // namespace tunebench
