// bench_guilatency: does the workbench stay responsive while it trains? The main window starts the
// default experiment (a subset, on the worker thread) and a 4 ms timer on the GUI thread records
// how late each tick arrives — the event-loop latency a user feels — until the run ends. Then the
// redraw time of a chart holding 100,000 points, and (given a workspace with many runs, e.g. the
// 10,000 of bench_runstore) how long the History tab takes to list them. Prints the figures (goal:
// p99 ≤ 16 ms, max ≤ 50 ms).
// Then a plan of small runs (20 by default) queued from the Experiment tab as repeated seeds: the
// same latency while it runs, and how many children History holds at its end.
//   QT_QPA_PLATFORM=offscreen bench_guilatency [rows] [HISTORY_WORKSPACE|-] [PLAN_RUNS]
#include "core/runs/runstore.h"
#include "core/runtime/blascore.h"
#include "core/runtime/runtime.h"
#include "ui/experimentview.h"
#include "ui/historyview.h"
#include "ui/mainwindow.h"
#include "ui/planpanel.h"
#include "ui/trainingsession.h"

#include <QApplication>
#include <QChart>
#include <QChartView>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QLineSeries>
#include <QPixmap>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace {

double percentile(std::vector<double> v, double p)
{
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

struct Latency
{
  bool ok = false;
  QString status;
  std::vector<double> late; // ms each 4 ms tick arrived after it was due
};

// Starts (start() returns the problems) and records how late a 4 ms GUI-thread timer fires until
// the session reports the end.
template <typename Start> Latency measureWhile(tunebench::MainWindow &window, Start start)
{
  Latency out;
  QElapsedTimer clock;
  constexpr int kTickMs = 4;
  qint64 expected = 0;
  QTimer tick;
  tick.setTimerType(Qt::PreciseTimer);
  QObject::connect(&tick, &QTimer::timeout, [&] {
    const qint64 now = clock.nsecsElapsed();
    if (expected > 0)
      out.late.push_back(std::max<qint64>(0, now - expected) / 1e6);
    expected = now + kTickMs * 1000000LL;
  });
  QEventLoop loop;
  const auto connection = QObject::connect(window.session(), &tunebench::TrainingSession::finished, &loop,
                                           [&](const QString &s, const QString &) {
                                             out.status = s;
                                             tick.stop();
                                             loop.quit();
                                           });
  QTimer::singleShot(200, &loop, [&] {
    const QStringList problems = start();
    if (!problems.isEmpty()) {
      std::fprintf(stderr, "bench_guilatency: %s\n", qPrintable(problems.front()));
      loop.quit();
      return;
    }
    out.ok = true;
    clock.start();
    tick.start(kTickMs);
  });
  loop.exec();
  QObject::disconnect(connection);
  return out;
}

void report(const QString &what, const Latency &l)
{
  std::printf("event-loop latency %s, %zu ticks of 4 ms:\n", qPrintable(what), l.late.size());
  std::printf("  p50 %.2f ms, p99 %.2f ms, max %.2f ms  (goal p99 <= 16, max <= 50)\n",
              percentile(l.late, 0.5), percentile(l.late, 0.99),
              l.late.empty() ? 0.0 : *std::max_element(l.late.begin(), l.late.end()));
}

} // namespace

int main(int argc, char **argv)
{
  tunebench::reexecWithTunedRuntime(argv);
  QApplication app(argc, argv);
  tunebench::configureRuntime();
  const QString rows = argc > 1 ? QString::fromLatin1(argv[1]) : QStringLiteral("1600");
  QTemporaryDir workspace;
  tunebench::MainWindow window(workspace.path());
  window.resize(1280, 800);
  window.show();
  tunebench::ExperimentView *e = window.experiment();
  e->setOverride(QStringLiteral("data.subset_rows"), rows);
  e->setOverride(QStringLiteral("training.epochs"), QStringLiteral("1"));
  e->setOverride(QStringLiteral("evaluation.every_steps"), QStringLiteral("10"));
  e->setOverride(QStringLiteral("evaluation.early_stopping.patience"), QStringLiteral("0"));

  const Latency single = measureWhile(window, [&] { return window.startExperiment(); });
  if (!single.ok)
    return 1;
  report(QStringLiteral("while training (%1 rows, run %2)").arg(rows, single.status), single);

  // A plan of small runs queued from the Experiment tab: every child in History at the end.
  const int children = argc > 3 ? std::atoi(argv[3]) : 20;
  e->setOverride(QStringLiteral("data.subset_rows"), QStringLiteral("160"));
  e->setOverride(QStringLiteral("evaluation.every_steps"), QStringLiteral("5"));
  tunebench::PlanPanel *plan = e->planPanel();
  plan->setKind(tunebench::PlanPanel::Seeds);
  plan->seeds()->setValue(children);
  const Latency planned = measureWhile(window, [&] { return window.startExperiment(); });
  if (!planned.ok)
    return 1;
  int recorded = 0;
  for (const tunebench::RunRecord &r : window.store()->list({}))
    recorded += r.parent != 0 && r.status == "finished";
  report(QStringLiteral("while a plan of %1 runs (160 rows each) ran: %2, %3 finished children in History")
             .arg(children)
             .arg(planned.status)
             .arg(recorded),
         planned);

  // Redraw of one chart with 100k points (what a long run's loss curve would hold unbounded).
  auto *series = new QLineSeries;
  QList<QPointF> points;
  for (int i = 0; i < 100000; ++i)
    points.append(QPointF(i, 2.0 * std::exp(-i / 30000.0) + 0.05 * std::sin(i * 0.01)));
  series->replace(points);
  auto *chart = new QChart;
  chart->addSeries(series);
  chart->createDefaultAxes();
  QChartView view(chart);
  view.resize(800, 500);
  view.show();
  QApplication::processEvents();
  std::vector<double> redraw;
  for (int i = 0; i < 5; ++i) {
    QElapsedTimer t;
    t.start();
    const QPixmap p = view.grab();
    redraw.push_back(t.nsecsElapsed() / 1e6);
  }
  std::printf("redraw of a chart holding 100,000 points: median %.1f ms over 5 (the Monitor keeps at most 4,000 "
              "per series)\n",
              percentile(redraw, 0.5));
  if (argc > 2 && std::string(argv[2]) != "-") {
    tunebench::HistoryView history;
    history.resize(1200, 700);
    history.show();
    std::vector<double> listing;
    std::unique_ptr<tunebench::RunStore> store;
    for (int i = 0; i < 3; ++i) {
      QElapsedTimer t;
      t.start();
      store = std::make_unique<tunebench::RunStore>(argv[2]); // opened as the main window opens it
      history.setWorkspace(QString::fromLocal8Bit(argv[2]), store.get());
      QApplication::processEvents();
      listing.push_back(t.nsecsElapsed() / 1e6);
    }
    std::printf("History tab listing %d runs: median %.0f ms over 3 (table filled, first paint)\n",
                history.runs()->rowCount(), percentile(listing, 0.5));
  }
  return 0;
}
