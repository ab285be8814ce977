#include "ui/evaluationview.h"

#include "core/eval/analysis.h"
#include "core/eval/metrics.h"
#include "core/runs/runstore.h"
#include "core/train/trainedrun.h"
#include "core/train/trainer.h"
#include "ui/background.h"
#include "ui/calibrationpanel.h"
#include "ui/exportdialog.h"
#include "ui/generationcontrols.h"
#include "ui/heatmap.h"
#include "ui/tablecsv.h"

#include <QComboBox>
#include <QDir>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QPointer>
#include <QPushButton>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QTextEdit>
#include <QThread>
#include <QVBoxLayout>

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>

namespace tunebench {

// ---------------------------------------------------------------------------------------------
// EvaluationView

struct EvaluationView::Result
{
  QString error;
  std::string kind;
  std::vector<std::string> labels;
  TrainedRun::Detailed detailed;
  std::optional<TrainedRun::Detailed> validation; // single-label: what calibration is fitted on
  std::vector<TrainedRun::Prediction> predictions;
  std::shared_ptr<TrainedRun> run;
};

namespace {

QTableWidget *table(const QStringList &headers, QWidget *parent, const QString &name)
{
  auto *t = new QTableWidget(0, static_cast<int>(headers.size()), parent);
  t->setObjectName(name);
  t->setHorizontalHeaderLabels(headers);
  t->setEditTriggers(QAbstractItemView::NoEditTriggers);
  t->setSelectionBehavior(QAbstractItemView::SelectRows);
  t->verticalHeader()->setVisible(false);
  t->horizontalHeader()->setStretchLastSection(true);
  t->setSortingEnabled(true);
  addCsvExport(t);
  return t;
}

QTableWidgetItem *number(double v, int decimals = 3)
{
  auto *item = new QTableWidgetItem;
  item->setData(Qt::DisplayRole, QString::number(v, 'f', decimals).toDouble());
  item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return item;
}

void fillScores(QTableWidget *t, const std::vector<ClassScore> &scores)
{
  t->setSortingEnabled(false);
  t->setRowCount(static_cast<int>(scores.size()));
  for (int i = 0; i < static_cast<int>(scores.size()); ++i) {
    const ClassScore &s = scores[static_cast<std::size_t>(i)];
    t->setItem(i, 0, new QTableWidgetItem(QString::fromStdString(s.label)));
    t->setItem(i, 1, number(s.precision));
    t->setItem(i, 2, number(s.recall));
    t->setItem(i, 3, number(s.f1));
    t->setItem(i, 4, number(s.support, 0));
  }
  t->setSortingEnabled(true);
  t->resizeColumnsToContents();
}

QString joinWords(const std::vector<std::string> &words)
{
  QStringList out;
  for (const std::string &w : words)
    out << QString::fromStdString(w);
  return out.join(QLatin1Char(' '));
}

} // namespace

EvaluationView::EvaluationView(QWidget *parent) : QWidget(parent)
{
  setObjectName(QStringLiteral("EvaluationView"));
  auto *layout = new QVBoxLayout(this);
  auto *bar = new QHBoxLayout;
  m_runs = new QComboBox(this);
  m_runs->setObjectName(QStringLiteral("EvaluationRuns"));
  m_runs->setMinimumContentsLength(40);
  m_runs->setToolTip(tr("Finished runs of this workspace; the best checkpoint is evaluated"));
  m_split = new QComboBox(this);
  m_split->addItems({QStringLiteral("test"), QStringLiteral("validation"), QStringLiteral("train")});
  m_evaluate = new QPushButton(tr("&Evaluate"), this);
  m_evaluate->setObjectName(QStringLiteral("EvaluateButton"));
  auto *refresh = new QPushButton(tr("Refresh"), this);
  auto *exportButton = new QPushButton(tr("E&xport…"), this);
  exportButton->setObjectName(QStringLiteral("EvaluationExport"));
  exportButton->setToolTip(
      tr("The chosen run's model in a format other tools read, checked before it is written"));
  bar->addWidget(new QLabel(tr("Run:"), this));
  bar->addWidget(m_runs, 1);
  bar->addWidget(new QLabel(tr("Split:"), this));
  bar->addWidget(m_split);
  bar->addWidget(m_evaluate);
  bar->addWidget(exportButton);
  bar->addWidget(refresh);
  layout->addLayout(bar);
  m_summary = new QLabel(tr("Choose a finished run and evaluate it."), this);
  m_summary->setWordWrap(true);
  m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(m_summary);

  auto *split = new QSplitter(Qt::Vertical, this);
  createViews(split);
  auto *playground = new QWidget(split);
  auto *pl = new QVBoxLayout(playground);
  auto *row = new QHBoxLayout;
  m_text = new QLineEdit(playground);
  m_text->setObjectName(QStringLiteral("PlaygroundText"));
  m_text->setPlaceholderText(tr("Playground: type a text and press Enter (class probabilities, tags, or a generation)"));
  m_predict = new QPushButton(tr("&Predict"), playground);
  row->addWidget(m_text, 1);
  row->addWidget(m_predict);
  m_output = new QTextEdit(playground);
  m_output->setObjectName(QStringLiteral("PlaygroundOutput"));
  m_output->setReadOnly(true);
  m_generation = new GenerationControls(playground);
  m_generation->hide(); // until a language-model run is evaluated
  pl->addLayout(row);
  pl->addWidget(m_generation);
  pl->addWidget(m_output);
  split->addWidget(m_views);
  split->addWidget(playground);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  layout->addWidget(split, 1);

  connect(refresh, &QPushButton::clicked, this, &EvaluationView::refreshRuns);
  connect(exportButton, &QPushButton::clicked, this, [this] {
    if (m_runs->currentIndex() < 0)
      return;
    auto *dialog = new ExportDialog(m_runs->currentData().toString(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
  });
  connect(m_evaluate, &QPushButton::clicked, this, [this] {
    if (m_runs->currentIndex() >= 0)
      evaluate(m_runs->currentData().toString(), m_split->currentText());
  });
  auto go = [this] {
    if (!m_text->text().trimmed().isEmpty())
      predict(m_text->text());
  };
  connect(m_predict, &QPushButton::clicked, this, go);
  connect(m_text, &QLineEdit::returnPressed, this, go);
}

// The tabs over the evaluation: confusion and per class, mistakes, entities, generations, calibration.
void EvaluationView::createViews(QWidget *parent)
{
  m_views = new QTabWidget(parent);
  m_heatMap = new HeatMap(m_views);
  m_perClass = table({tr("label"), tr("precision"), tr("recall"), tr("F1"), tr("support")}, m_views,
                     QStringLiteral("PerClassTable"));
  m_mistakes = table({tr("confidence"), tr("true"), tr("predicted"), tr("text")}, m_views,
                     QStringLiteral("MistakesTable"));
  m_entities = table({tr("entity type"), tr("precision"), tr("recall"), tr("F1"), tr("support")}, m_views,
                     QStringLiteral("EntitiesTable"));
  auto *matrixPage = new QWidget(m_views);
  auto *matrixLayout = new QHBoxLayout(matrixPage);
  matrixLayout->addWidget(m_heatMap, 3);
  matrixLayout->addWidget(m_perClass, 2);
  m_views->addTab(matrixPage, tr("Confusion and per class"));
  m_views->addTab(m_mistakes, tr("Mistakes"));
  m_views->addTab(m_entities, tr("Entities"));
  m_generations =
      table({tr("prompt"), tr("generated"), tr("reference")}, m_views, QStringLiteral("GenerationsTable"));
  m_generations->setWordWrap(true);
  m_generations->setSortingEnabled(false); // in the split's order
  m_views->addTab(m_generations, tr("Generations"));
  m_calibration = new CalibrationPanel(m_views);
  m_views->addTab(m_calibration, tr("Calibration"));
}

EvaluationView::~EvaluationView()
{
  m_thread.stopAndWait();
}

void EvaluationView::setWorkspace(const QString &workspace, RunStore *store)
{
  m_workspace = workspace;
  m_store = store;
  refreshRuns();
}

void EvaluationView::refreshRuns()
{
  const QString current = m_runs->currentData().toString();
  m_runs->clear();
  if (!m_store)
    return;
  try {
    for (const RunRecord &r : m_store->list()) {
      if (!completed(parseRunStatus(r.status).value_or(RunStatus::Failed)))
        continue;
      const QString folder = QString::fromStdString(r.folder);
      if (!QDir(folder).exists(QStringLiteral("best")))
        continue;
      m_runs->addItem(tr("#%1  %2  (%3)").arg(r.id).arg(QString::fromStdString(r.name), QString::fromStdString(r.created)),
                      folder);
    }
  } catch (const std::exception &e) {
    m_summary->setText(tr("The run history cannot be read: %1").arg(QString::fromUtf8(e.what())));
  }
  const int at = m_runs->findData(current);
  if (at >= 0)
    m_runs->setCurrentIndex(at);
}

void EvaluationView::setBusy(bool busy)
{
  m_busy = busy;
  m_evaluate->setEnabled(!busy);
  m_predict->setEnabled(!busy);
}

void EvaluationView::runInWorker(std::function<std::shared_ptr<Result>()> work, std::function<void(const Result &)> done)
{
  if (m_busy)
    return;
  setBusy(true);
  runInBackground(
      this, m_thread,
      [work = std::move(work)] {
        try {
          return work();
        } catch (const std::exception &e) {
          auto r = std::make_shared<Result>();
          r->error = QString::fromUtf8(e.what());
          return r;
        }
      },
      [this, done = std::move(done)](const std::shared_ptr<Result> &r) {
        setBusy(false);
        done(*r);
      });
}

void EvaluationView::evaluate(const QString &runDir, const QString &split)
{
  m_summary->setText(tr("Evaluating %1 on its %2 split…").arg(runDir.toHtmlEscaped(), split));
  std::shared_ptr<TrainedRun> run = runDir == m_runDir ? m_run : nullptr;
  runInWorker(
      [run, runDir, split]() mutable {
        auto r = std::make_shared<Result>();
        if (!run)
          run = std::shared_ptr<TrainedRun>(TrainedRun::open(runDir.toStdString()).release());
        r->run = run;
        r->kind = run->config().task.kind;
        r->labels = run->labels();
        r->detailed = run->evaluateDetailed(split.toStdString());
        if (r->kind == "single_label")
          r->validation =
              split == QLatin1String("validation") ? r->detailed : run->evaluateDetailed("validation");
        return r;
      },
      [this, runDir](const Result &r) {
        if (!r.error.isEmpty()) {
          m_summary->setText(tr("<b>Cannot evaluate</b> %1: %2").arg(runDir.toHtmlEscaped(), r.error.toHtmlEscaped()));
          Q_EMIT evaluated(false);
          return;
        }
        m_run = r.run;
        m_runDir = runDir;
        m_generation->setVisible(m_run->config().isLanguageModelling() && !m_run->config().isDenoising());
        show(r);
        Q_EMIT evaluated(true);
      });
}

void EvaluationView::predict(const QString &text)
{
  if (!m_run) {
    m_output->setPlainText(tr("Evaluate a run first: the playground uses its best checkpoint."));
    Q_EMIT predicted(false);
    return;
  }
  std::shared_ptr<TrainedRun> run = m_run;
  const TrainedRun::Decoding decoding =
      m_generation->isHidden() ? TrainedRun::Decoding() : m_generation->decoding();
  runInWorker(
      [run, text, decoding] {
        auto r = std::make_shared<Result>();
        r->kind = run->config().task.kind;
        r->labels = run->labels();
        r->predictions = run->predict({text.toStdString()}, decoding);
        return r;
      },
      [this](const Result &r) {
        if (!r.error.isEmpty() || r.predictions.empty()) {
          m_output->setPlainText(tr("Cannot predict: %1").arg(r.error));
          Q_EMIT predicted(false);
          return;
        }
        const TrainedRun::Prediction &p = r.predictions.front();
        QString html;
        if (!p.probabilities.empty()) { // classification: a bar per label, the most likely first
          std::vector<std::size_t> order(p.probabilities.size());
          for (std::size_t i = 0; i < order.size(); ++i)
            order[i] = i;
          std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p.probabilities[a] > p.probabilities[b]; });
          html += QStringLiteral("<table>");
          for (std::size_t k : order) {
            const double v = p.probabilities[k];
            html += QStringLiteral("<tr><td><b>%1</b>&nbsp;</td><td align=right>%2&nbsp;</td><td>"
                                   "<table cellspacing=0 cellpadding=0><tr><td bgcolor='%3' width=%4 height=10></td>"
                                   "</tr></table></td></tr>")
                        .arg(QString::fromStdString(r.labels[k]).toHtmlEscaped())
                        .arg(v, 0, 'f', 3)
                        .arg(palette().color(QPalette::Highlight).name())
                        .arg(std::max(1, static_cast<int>(v * 240)));
          }
          html += QStringLiteral("</table>");
        } else if (r.kind == "token_tagging") { // every word with its tag; entities highlighted
          const QStringList words = QString::fromStdString(p.text).split(QLatin1Char(' '), Qt::SkipEmptyParts);
          for (int i = 0; i < words.size() && i < static_cast<int>(p.labels.size()); ++i) {
            const QString tag = QString::fromStdString(p.labels[static_cast<std::size_t>(i)]);
            const bool entity = tag.size() > 2 && tag[1] == QLatin1Char('-');
            html += QStringLiteral("<span style='%1'>%2<sub>%3</sub></span> ")
                        .arg(entity ? QStringLiteral("background:%1").arg(palette().color(QPalette::Highlight).lighter(160).name())
                                    : QString(),
                             words[i].toHtmlEscaped(), tag.toHtmlEscaped());
          }
        } else { // generation, fill-in, labels
          html = QStringLiteral("<p>%1</p>").arg(QString::fromStdString(
              std::accumulate(p.labels.begin(), p.labels.end(), std::string(),
                              [](std::string a, const std::string &b) { return a.empty() ? b : a + " | " + b; })).toHtmlEscaped());
        }
        m_output->setHtml(html);
        Q_EMIT predicted(true);
      });
}

void EvaluationView::show(const Result &r)
{
  const TrainedRun::Detailed &d = r.detailed;
  QStringList parts;
  for (const auto &[k, v] : d.event.metrics)
    parts << QStringLiteral("%1 %2").arg(QString::fromStdString(k)).arg(v, 0, 'f', 4);
  m_summary->setText(tr("<b>%1</b> on its %2 split (%3 examples): %4")
                         .arg(m_runDir.section(QLatin1Char('/'), -1).toHtmlEscaped(), QString::fromStdString(d.event.split))
                         .arg(d.rows.size())
                         .arg(parts.join(QStringLiteral(" · "))));
  QStringList labels;
  for (const std::string &l : r.labels)
    labels << QString::fromStdString(l);
  m_heatMap->setMatrix({}, {});
  m_perClass->setRowCount(0);
  m_mistakes->setRowCount(0);
  m_entities->setRowCount(0);
  m_generations->setRowCount(static_cast<int>(d.generations.size()));
  for (std::size_t i = 0; i < d.generations.size(); ++i) {
    const auto &g = d.generations[i];
    int column = 0;
    for (const std::string *cell : {&g.prompt, &g.generated, &g.reference})
      m_generations->setItem(static_cast<int>(i), column++, new QTableWidgetItem(QString::fromStdString(*cell).trimmed()));
  }
  m_generations->resizeRowsToContents();
  m_mistakes->setSortingEnabled(false);
  if (r.kind == "single_label") {
    const ErrorAnalysis a = analyseErrors(d.truth, d.probabilities);
    const ClassificationMetrics m = classificationMetrics(d.truth, a.predicted, r.labels);
    m_heatMap->setMatrix(m.confusion, labels);
    fillScores(m_perClass, m.perClass);
    m_mistakes->horizontalHeaderItem(0)->setText(tr("confidence"));
    m_mistakes->setRowCount(static_cast<int>(a.mistakes.size()));
    for (int k = 0; k < static_cast<int>(a.mistakes.size()); ++k) {
      const ClassMistake &w = a.mistakes[static_cast<std::size_t>(k)];
      m_mistakes->setItem(k, 0, number(w.confidence));
      m_mistakes->setItem(k, 1, new QTableWidgetItem(labels.value(w.truth)));
      m_mistakes->setItem(k, 2, new QTableWidgetItem(labels.value(w.predicted)));
      m_mistakes->setItem(k, 3, new QTableWidgetItem(QString::fromStdString(d.texts[w.index])));
    }
  } else if (r.kind == "token_tagging") {
    // Per tag over every word; sentences with the most wrong tags as mistakes; entities by type.
    const TagErrorAnalysis a = analyseTagErrors(d.truthTags, d.predictedTags, r.labels);
    const ClassificationMetrics m = classificationMetrics(a.truth, a.predicted, r.labels);
    m_heatMap->setMatrix(m.confusion, labels);
    fillScores(m_perClass, m.perClass);
    m_mistakes->setRowCount(static_cast<int>(a.mistakes.size()));
    for (int k = 0; k < static_cast<int>(a.mistakes.size()); ++k) {
      const std::size_t s = a.mistakes[static_cast<std::size_t>(k)].sentence;
      m_mistakes->setItem(k, 0, number(a.mistakes[static_cast<std::size_t>(k)].wrongTags, 0));
      m_mistakes->setItem(k, 1, new QTableWidgetItem(joinWords(d.truthTags[s])));
      m_mistakes->setItem(k, 2, new QTableWidgetItem(joinWords(d.predictedTags[s])));
      m_mistakes->setItem(k, 3, new QTableWidgetItem(QString::fromStdString(d.texts[s])));
    }
    m_mistakes->horizontalHeaderItem(0)->setText(tr("wrong tags"));
    if (d.event.metrics.count("entity_f1"))
      fillScores(m_entities, entityMetrics(d.truthTags, d.predictedTags).perType);
  }
  m_mistakes->setSortingEnabled(true);
  if (r.validation)
    m_calibration->setRun(m_runDir, r.labels, {r.validation->probabilities, r.validation->truth},
                          {d.probabilities, d.truth}, QString::fromStdString(d.event.split));
  else
    m_calibration->clear(tr("Calibration applies to single-label classification runs."));
  m_views->setTabEnabled(2, m_entities->rowCount() > 0);
  m_views->setTabEnabled(3, m_generations->rowCount() > 0);
  if (m_generations->rowCount() > 0)
    m_views->setCurrentWidget(m_generations);
}

} // namespace tunebench
