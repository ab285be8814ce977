#include "ui/estimatepanel.h"

#include "core/config/experiment.h"
#include "core/runtime/gemmprobe.h"
#include "core/train/planning.h"
#include "ui/background.h"
#include "ui/charttheme.h"
#include "ui/plotview.h"

#include <QChart>
#include <QChartView>
#include <QLabel>
#include <QLineSeries>
#include <QLocale>
#include <QTimer>
#include <QVBoxLayout>
#include <QValueAxis>

#include <cmath>
#include <memory>

namespace tunebench {

namespace {

struct Outcome
{
  QString error;
  QStringList problems;
  RunPlan plan;
};

// The plan in words: model, trainable share, data, memory, time, warnings and the remedies (each
// remedy's overrides appended to `remedies`, its link names its index there).
QString planHtml(const RunPlan &p, std::vector<std::vector<std::pair<std::string, std::string>>> &remedies)
{
  const double share =
      p.parameters > 0 ? 100.0 * static_cast<double>(p.trainable) / static_cast<double>(p.parameters) : 0;
  QString html =
      QObject::tr(
          "<b>Model</b> %1<br><b>Trainable</b> %2 (%3%)<br><b>Data</b> ≈%4 rows → %5 steps (%6 per epoch)"
          "<br><b>Memory per step</b> ≈%7 of %8 (weights %9, activations %10)<br><b>Time</b> ≈%11 (%12 per "
          "step)")
          .arg(QString::fromStdString(p.model).toHtmlEscaped())
          .arg(QLocale().toString(static_cast<qlonglong>(p.trainable)))
          .arg(share, 0, 'f', share < 1 ? 3 : 1)
          .arg(p.rows)
          .arg(p.totalSteps)
          .arg(p.stepsPerEpoch)
          .arg(QString::fromStdString(formatBytes(p.estimate.totalBytes)),
               QString::fromStdString(formatBytes(p.machineBytes)),
               QString::fromStdString(formatBytes(p.estimate.weightBytes)),
               QString::fromStdString(formatBytes(p.estimate.activationBytes)))
          .arg(formatDuration(p.totalSeconds), formatDuration(p.secondsPerStep));
  if (p.processes > 1)
    html += QObject::tr(
                "<br><b>%1 processes</b>: the memory above is each one's (≈%2 in all); a step all-reduces "
                "%3 of gradients")
                .arg(p.processes)
                .arg(QString::fromStdString(formatBytes(p.estimate.totalBytes * p.processes)),
                     QString::fromStdString(formatBytes(p.allReducedBytes)));
  if (p.cacheBytes > 0)
    html += QObject::tr("<br><b>Frozen-layer cache</b> at most %1 (every row at the max length)")
                .arg(QString::fromStdString(formatBytes(p.cacheBytes)));
  for (const std::string &w : p.warnings)
    html += QStringLiteral("<p style='color:#c0392b'><b>%1</b></p>")
                .arg(QString::fromStdString(w).toHtmlEscaped());
  remedies.clear();
  if (!p.remedies.empty()) {
    html += QObject::tr("<p>Remedies:</p><ul>");
    for (const PlanRemedy &r : p.remedies) {
      QString item = QString::fromStdString(r.text).toHtmlEscaped();
      if (!r.overrides.empty()) {
        item += QObject::tr(": ≈%1 <a href='remedy:%2'>Apply</a>")
                    .arg(QString::fromStdString(formatBytes(r.bytesAfter)))
                    .arg(remedies.size());
        remedies.push_back(r.overrides);
      }
      html += QStringLiteral("<li>%1</li>").arg(item);
    }
    html += QStringLiteral("</ul>");
  }
  return html;
}

// The schedule's preview: the learning rate over the planned steps.
void drawSchedule(QChart *c, const RunPlan &p)
{
  c->removeAllSeries();
  for (QAbstractAxis *a : c->axes())
    c->removeAxis(a);
  if (!p.learningRates.empty()) {
    auto *series = new QLineSeries;
    double most = 0;
    for (std::size_t i = 0; i < p.learningRates.size(); ++i) {
      const double step = p.learningRates.size() > 1
                              ? static_cast<double>(i) * static_cast<double>(p.totalSteps - 1) /
                                    static_cast<double>(p.learningRates.size() - 1)
                              : 0.0;
      series->append(step, p.learningRates[i]);
      most = std::max(most, p.learningRates[i]);
    }
    c->addSeries(series);
    auto *x = new QValueAxis;
    x->setRange(0, std::max<double>(1, static_cast<double>(p.totalSteps)));
    x->setLabelFormat(QStringLiteral("%d"));
    x->setTickCount(5);
    auto *y = new QValueAxis;
    y->setRange(0, most * 1.1);
    y->setLabelFormat(QStringLiteral("%.0e"));
    y->setTickCount(3);
    c->addAxis(x, Qt::AlignBottom);
    c->addAxis(y, Qt::AlignLeft);
    series->attachAxis(x);
    series->attachAxis(y);
  }
}

} // namespace

QString formatDuration(double seconds)
{
  if (seconds < 10)
    return QObject::tr("%1 s").arg(seconds, 0, 'f', 1);
  if (seconds < 90)
    return QObject::tr("%1 s").arg(seconds, 0, 'f', 0);
  if (seconds < 5400)
    return QObject::tr("%1 min").arg(seconds / 60, 0, 'f', 0);
  return QObject::tr("%1 h").arg(seconds / 3600, 0, 'f', 1);
}

EstimatePanel::EstimatePanel(QWidget *parent) : QWidget(parent)
{
  setObjectName(QStringLiteral("EstimatePanel"));
  auto *layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  m_text = new QLabel(tr("Estimates appear here as you edit."), this);
  m_text->setWordWrap(true);
  m_text->setTextFormat(Qt::RichText);
  m_text->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  m_text->setTextInteractionFlags(Qt::LinksAccessibleByMouse | Qt::LinksAccessibleByKeyboard);
  connect(m_text, &QLabel::linkActivated, this, [this](const QString &link) {
    if (link.startsWith(QLatin1String("remedy:")))
      applyRemedy(link.mid(7).toInt());
  });
  m_chart = themedChart();
  m_chart->setTitle(tr("Learning rate"));
  m_chart->legend()->hide();
  auto *view = new PlotView(m_chart, this);
  view->setMinimumHeight(120);
  layout->addWidget(m_text);
  layout->addWidget(view, 1);
  m_timer = new QTimer(this);
  m_timer->setSingleShot(true);
  m_timer->setInterval(400);
  connect(m_timer, &QTimer::timeout, this, &EstimatePanel::start);
}

EstimatePanel::~EstimatePanel()
{
  m_thread.stopAndWait();
}

void EstimatePanel::request(std::shared_ptr<const ConfigResult> parsed)
{
  m_parsed = std::move(parsed);
  m_timer->start();
}

void EstimatePanel::start()
{
  if (m_thread.running()) {
    m_dirty = true; // plan again when this one is done
    return;
  }
  if (!m_parsed)
    return;
  runInBackground(
      this, m_thread,
      [parsed = m_parsed] {
        auto out = std::make_shared<Outcome>();
        try {
          const ConfigResult &r = *parsed;
          for (const ConfigProblem &p : r.problems)
            if (p.message.find("no such") == std::string::npos)
              out->problems << QString::fromStdString(p.field + ": " + p.message);
          if (out->problems.isEmpty()) {
            // This machine's speed, measured once: a third of the GEMM peak is what training reaches.
            static const double flops = [] {
              const bool bf16 = true;
              return measureGemm(bf16, 512, 0.2).gflops * 1e9 / 3.0;
            }();
            out->plan = planRun(r.config, flops);
          }
        } catch (const std::exception &e) {
          out->error = QString::fromUtf8(e.what());
        }
        return out;
      },
      [this](const std::shared_ptr<Outcome> &out) {
        auto *self = this;
        const RunPlan &p = out->plan;
        if (!out->error.isEmpty() || !out->problems.isEmpty()) {
          self->m_totalSeconds = std::nan("");
          self->m_text->setText(
              tr("<i>No estimate:</i> %1")
                  .arg((out->error.isEmpty() ? out->problems.join(QStringLiteral("; ")) : out->error)
                           .toHtmlEscaped()));
        } else {
          self->m_remedies.clear();
          self->m_totalSeconds = p.totalSeconds;
          self->m_text->setText(planHtml(p, self->m_remedies));
        }
        // The schedule's preview.
        drawSchedule(self->m_chart, p);
        Q_EMIT self->updated();
        if (self->m_dirty) {
          self->m_dirty = false;
          self->m_timer->start();
        }
      });
}

void EstimatePanel::applyRemedy(int i)
{
  if (i < 0 || i >= remedyCount())
    return;
  QList<QPair<QString, QString>> overrides;
  for (const auto &[key, value] : m_remedies[static_cast<std::size_t>(i)])
    overrides.append({QString::fromStdString(key), QString::fromStdString(value)});
  Q_EMIT remedyChosen(overrides);
}

} // namespace tunebench
