// Plans of many runs from the workbench (offscreen, through its widgets): "Run as" 3-fold
// cross-validation from the Experiment tab gives a parent and 3 children in History with mean ± std
// of the folds; a 2 × 2 grid gives 4 runs; a queued run skipped from the Monitor's queue is left out
// and the plan goes on; malformed sweep fields stop Start with the field named.
#include "core/config/experiment.h"
#include "core/eval/groupcomparison.h"
#include "core/runs/runstore.h"
#include "support/cli.h"
#include "support/guitest.h"
#include "ui/curvesview.h"
#include "ui/ensembledialog.h"
#include "ui/experimentview.h"
#include "ui/historyview.h"
#include "ui/mainwindow.h"
#include "ui/monitorview.h"
#include "ui/parallelcoordinates.h"
#include "ui/planpanel.h"
#include "ui/planqueue.h"
#include "ui/plotview.h"
#include "ui/rungroupspanel.h"
#include "ui/sweepview.h"
#include "ui/tablecsv.h"
#include "ui/trainingsession.h"

#include <QChart>
#include <QCheckBox>
#include <QComboBox>
#include <QImage>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QValueAxis>
#include <QtTest/QtTest>

#include <cmath>

using namespace tunebench;

class TestPlans : public QObject
{
  Q_OBJECT

  QTemporaryDir m_root;

  // With TUNEBENCH_SCREENSHOTS=DIR, the views as the test leaves them saved there (the README's
  // screenshots of plans, grouped history and sweep views: docs/make-screenshots.sh).
  static void shot(QWidget *w, const char *name)
  {
    const QString dir = qEnvironmentVariable("TUNEBENCH_SCREENSHOTS");
    if (dir.isEmpty())
      return;
    QApplication::processEvents();
    QVERIFY(w->grab().save(dir + QLatin1Char('/') + QLatin1String(name) + QStringLiteral(".png")));
  }

  // A small experiment (240 rows, one epoch) in a fresh workspace.
  static void shrink(MainWindow &window)
  {
    ExperimentView *e = window.experiment();
    window.tabs()->setCurrentWidget(e);
    e->setOverride(QStringLiteral("data.subset_rows"), QStringLiteral("240"));
    e->setOverride(QStringLiteral("training.epochs"), QStringLiteral("1"));
    e->setOverride(QStringLiteral("training.batch_size"), QStringLiteral("16"));
    e->setOverride(QStringLiteral("training.learning_rate"), QStringLiteral("1e-3"));
    e->setOverride(QStringLiteral("evaluation.every_steps"), QStringLiteral("4"));
    e->setOverride(QStringLiteral("evaluation.early_stopping.patience"), QStringLiteral("0"));
  }

  // Picks "Run as" with the keyboard, as a user does.
  static void runAs(PlanPanel *panel, PlanPanel::Kind kind)
  {
    QComboBox *box = panel->kindBox();
    box->setFocus();
    while (box->currentIndex() != kind)
      QTest::keyClick(box, box->currentIndex() < kind ? Qt::Key_Down : Qt::Key_Up);
  }

  static void setSpin(QSpinBox *spin, int value)
  {
    spin->setFocus();
    spin->selectAll();
    QTest::keyClicks(spin, QString::number(value));
    QTest::keyClick(spin, Qt::Key_Return);
    QCOMPARE(spin->value(), value);
  }

  // Start pressed; the plan runs to its end.
  static void runPlan(MainWindow &window, const QString &expected = QStringLiteral("finished"))
  {
    QSignalSpy finished(window.session(), &TrainingSession::finished);
    QTest::mouseClick(window.experiment()->startButton(), Qt::LeftButton);
    QVERIFY(window.session()->planRunning());
    QVERIFY(window.monitor()->planQueue()->isVisible());
    QVERIFY(finished.wait(300000));
    QCOMPARE(finished.back().at(0).toString(), expected);
  }

  // The runs of the workspace's history whose parent is `parent`, in id order.
  static std::vector<RunRecord> children(MainWindow &window, std::int64_t parent)
  {
    std::vector<RunRecord> out;
    for (const RunRecord &r : window.store()->list({}))
      if (r.parent == parent)
        out.push_back(r);
    std::sort(out.begin(), out.end(), [](const RunRecord &a, const RunRecord &b) { return a.id < b.id; });
    return out;
  }

  static RunRecord parentRun(MainWindow &window)
  {
    for (const RunRecord &r : window.store()->list({}))
      if (r.parent == 0)
        return r;
    return {};
  }

private Q_SLOTS:
  void initTestCase()
  {
    tunebench::testing::isolateSettings(QStringLiteral("tst_plans"));
    QVERIFY2(tunebench::testing::useFetchedAssets(), "USE-Lite is missing: run packaging/fetch-assets.sh");
  }

  // 3-fold cross-validation from the Experiment tab: the summary counts 3 runs before the start;
  // History then holds the parent and 3 children; grouped by parent, the row's test accuracy is the
  // folds' mean ± std and 95% interval (as core computes them from the children's summaries).
  void crossValidationFromTheExperimentTab()
  {
    MainWindow window(m_root.filePath(QStringLiteral("cv")));
    window.show();
    shrink(window);
    PlanPanel *panel = window.experiment()->planPanel();
    runAs(panel, PlanPanel::CrossValidation);
    QVERIFY(panel->folds()->isVisible());
    setSpin(panel->folds(), 3);
    QVERIFY2(panel->summary()->text().startsWith(QLatin1String("3 runs")),
             qPrintable(panel->summary()->text()));
    runPlan(window);
    PlanQueue *queue = window.monitor()->planQueue();
    QCOMPARE(queue->table()->rowCount(), 3);
    for (int i = 0; i < 3; ++i)
      QCOMPARE(queue->status(i), QStringLiteral("finished"));

    const RunRecord parent = parentRun(window);
    QVERIFY(parent.name.ends_with("-cv"));
    QCOMPARE(QString::fromStdString(parent.status), QStringLiteral("finished"));
    const std::vector<RunRecord> folds = children(window, parent.id);
    QCOMPARE(folds.size(), std::size_t(3));
    std::vector<double> accuracy;
    for (const RunRecord &f : folds)
      accuracy.push_back(f.summary.at("test.accuracy"));
    const MetricSummary expected = summarizeValues(accuracy);
    QVERIFY(std::abs(parent.summary.at("test.accuracy") - expected.mean) < 1e-12);

    window.history()->refresh();
    RunGroupsPanel *groups = window.history()->groups();
    groups->setKey(QStringLiteral("parent"));
    QTableWidget *table = groups->table();
    QCOMPARE(table->rowCount(), 1);
    const int testColumns = table->columnCount();
    groups->allMetrics()->setChecked(true); // best, last, validation … too
    QVERIFY(table->columnCount() > testColumns);
    groups->allMetrics()->setChecked(false);
    QCOMPARE(table->columnCount(), testColumns);
    int column = -1;
    for (int c = 0; c < table->columnCount(); ++c)
      if (table->horizontalHeaderItem(c)->text() == QLatin1String("test.accuracy"))
        column = c;
    QVERIFY(column >= 0);
    QVERIFY(table->item(0, 1)->text().startsWith(QLatin1String("3 (")));
    const QString cell = QStringLiteral("%1 ± %2  [%3, %4]")
                             .arg(expected.mean, 0, 'f', 4)
                             .arg(expected.std, 0, 'f', 4)
                             .arg(expected.low, 0, 'f', 4)
                             .arg(expected.high, 0, 'f', 4);
    QCOMPARE(table->item(0, column)->text(), cell);
  }

  // Two folds at once ("at once: 2"): both show as running in the queue together, each trained by
  // a tunebench-cli process of its own; Pause holds both (no step logged while paused), Resume lets
  // them go on; both end finished under the plan's row in History.
  void foldsAtOnce()
  {
    MainWindow window(m_root.filePath(QStringLiteral("atonce")));
    window.show();
    shrink(window);
    window.experiment()->setOverride(QStringLiteral("training.epochs"), QStringLiteral("4"));
    PlanPanel *panel = window.experiment()->planPanel();
    runAs(panel, PlanPanel::CrossValidation);
    setSpin(panel->folds(), 2);
    QVERIFY(panel->workers()->isVisible());
    setSpin(panel->workers(), 2);
    QVERIFY2(panel->summary()->text().startsWith(QLatin1String("2 runs, 2 at once")),
             qPrintable(panel->summary()->text()));
    QSignalSpy finished(window.session(), &TrainingSession::finished);
    QTest::mouseClick(window.experiment()->startButton(), Qt::LeftButton);
    PlanQueue *queue = window.monitor()->planQueue();
    QTRY_VERIFY_WITH_TIMEOUT(
        queue->status(0) == QLatin1String("running") && queue->status(1) == QLatin1String("running"), 120000);
    shot(&window, "plan-at-once");
    const auto stepsOf = [&](const char *fold) {
      QFile f(window.session()->runDir() + QLatin1Char('/') + QLatin1String(fold) +
              QStringLiteral("/events.jsonl"));
      return f.open(QIODevice::ReadOnly) ? f.readAll().count("\"type\":\"step\"") : 0;
    };
    const auto steps = [&] { return stepsOf("fold-1") + stepsOf("fold-2"); };
    QTRY_VERIFY_WITH_TIMEOUT(stepsOf("fold-1") > 0 && stepsOf("fold-2") > 0, 120000); // both training
    window.session()->setPaused(true);
    QTest::qWait(500);
    const qsizetype held = steps();
    QTest::qWait(2000);
    QCOMPARE(steps(), held);
    QVERIFY(!finished.count());
    window.session()->setPaused(false);
    QTRY_VERIFY_WITH_TIMEOUT(steps() > held, 60000);
    QVERIFY(finished.wait(300000));
    QCOMPARE(finished.back().at(0).toString(), QStringLiteral("finished"));
    QCOMPARE(queue->status(0), QStringLiteral("finished"));
    QCOMPARE(queue->status(1), QStringLiteral("finished"));
    const RunRecord parent = parentRun(window);
    const std::vector<RunRecord> folds = children(window, parent.id);
    QCOMPARE(folds.size(), std::size_t(2));
    for (const RunRecord &f : folds) {
      QCOMPARE(QString::fromStdString(f.status), QStringLiteral("finished"));
      QVERIFY(f.summary.count("test.accuracy"));
    }
    QVERIFY(QFile::exists(
        QString::fromStdString((std::filesystem::path(parent.folder) / "workers" / "fold-2.log").string())));
  }

  // A 2 × 2 grid typed into the sweep fields: 4 runs, each with its point's settings.
  void gridSweep()
  {
    MainWindow window(m_root.filePath(QStringLiteral("grid")));
    window.resize(1280, 860);
    window.show();
    shrink(window);
    PlanPanel *panel = window.experiment()->planPanel();
    runAs(panel, PlanPanel::Grid);
    setSpin(panel->seeds(), 1);
    panel->fields()->setFocus();
    QTest::keyClicks(panel->fields(), QStringLiteral("training.learning_rate=1e-3,3e-3"));
    QVERIFY2(panel->summary()->text().startsWith(QLatin1String("2 runs")),
             qPrintable(panel->summary()->text()));
    QTest::keyClick(panel->fields(), Qt::Key_Return);
    QTest::keyClicks(panel->fields(), QStringLiteral("training.batch_size=8,16"));
    QVERIFY2(panel->summary()->text().startsWith(QLatin1String("4 runs")),
             qPrintable(panel->summary()->text()));
    runPlan(window);
    const RunRecord parent = parentRun(window);
    QVERIFY(parent.name.ends_with("-sweep"));
    const std::vector<RunRecord> points = children(window, parent.id);
    QCOMPARE(points.size(), std::size_t(4));
    const auto rates = window.store()->configValues("training.learning_rate");
    const auto batches = window.store()->configValues("training.batch_size");
    std::set<std::pair<double, int>> seen;
    for (const RunRecord &r : points) {
      QCOMPARE(QString::fromStdString(r.status), QStringLiteral("finished"));
      seen.insert({QString::fromStdString(rates.at(r.id)).toDouble(),
                   QString::fromStdString(batches.at(r.id)).toInt()});
    }
    QCOMPARE(seen.size(), std::size_t(4));
    QVERIFY(seen.count({0.003, 8}) && seen.count({0.001, 16}));

    // The sweep views of the plan: parallel coordinates with 4 lines over the two swept keys and
    // the metric; a brush on the learning rate's lower half keeps 2; scatter and importance follow.
    window.history()->refresh();
    window.history()->showSweep({parent.id});
    SweepView *view = window.history()->sweepView();
    QVERIFY(view && view->isVisible());
    ParallelCoordinates *pc = view->coordinates();
    QCOMPARE(pc->lineCount(), 4);
    QCOMPARE(pc->axisCount(), 3);
    QCOMPARE(QString::fromStdString(pc->table().keys[1].name), QStringLiteral("training.learning_rate"));
    QCOMPARE(pc->visibleLines(), 4);
    view->resize(900, 560);
    QApplication::processEvents();
    // drag along the learning rate's axis (the middle one) over its lower half
    const QPoint top(pc->width() / 2, 44 + (pc->height() - 84) / 2 + 5),
        bottom(pc->width() / 2, pc->height() - 38);
    QTest::mousePress(pc, Qt::LeftButton, {}, bottom);
    QMouseEvent move(QEvent::MouseMove, QPointF(top), pc->mapToGlobal(QPointF(top)), Qt::NoButton,
                     Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(pc, &move);
    QTest::mouseRelease(pc, Qt::LeftButton, {}, top);
    QCOMPARE(pc->visibleLines(), 2);
    shot(view, "sweep-parallel-coordinates");
    QCOMPARE(pc->csv().count(QStringLiteral(",0\n")), 2); // the two runs brushed out
    QCOMPARE(pc->svg().count(QStringLiteral("<polyline")), 4);
    const QString png = m_root.filePath(QStringLiteral("pc.png"));
    QVERIFY(pc->savePng(png));
    QCOMPARE(QImage(png).width(), pc->width());
    QCOMPARE(view->scatter()->series().size(), 1);
    QCOMPARE(view->importances().size(), std::size_t(2));
    for (double eta : view->importances())
      QVERIFY(eta >= 0 && eta <= 1);
    view->tabs()->setCurrentIndex(1);
    shot(view, "sweep-scatter");
    view->tabs()->setCurrentIndex(2);
    shot(view, "sweep-importance");

    // A chart and its data exported: the History curves as PNG and CSV; the config comparison
    // with "differences only" (the swept keys) and without (every key).
    window.history()->compare({points[0].id, points[1].id});
    QTableWidget *diff = window.history()->diff();
    auto configRows = [diff] {
      QStringList keys;
      for (int r = 0; r < diff->rowCount(); ++r)
        keys << diff->verticalHeaderItem(r)->text();
      return keys;
    };
    QVERIFY(!configRows().contains(QStringLiteral("model.path")));
    window.history()->diffOnly()->setChecked(false);
    QVERIFY(configRows().contains(QStringLiteral("model.path")));
    window.history()->diffOnly()->setChecked(true);
    QVERIFY(!configRows().contains(QStringLiteral("model.path")));
    PlotView *plot = window.history()->curves()->view();
    const QString chartPng = m_root.filePath(QStringLiteral("curves.png"));
    const QString chartCsv = m_root.filePath(QStringLiteral("curves.csv"));
    QVERIFY(plot->savePng(chartPng) && !QImage(chartPng).isNull());
    QVERIFY(plot->saveCsv(chartCsv));
    QFile csv(chartCsv);
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(csv.readAll());
    QVERIFY2(text.startsWith(QLatin1String("series,x,y")) &&
                 text.contains(QStringLiteral("run %1,").arg(points[1].id)),
             qPrintable(text.left(200)));
  }

  // Repeated seeds: the second run skipped from the queue before it starts is left out, the plan
  // goes on, and the parent says how many were left out of its summary.
  void skipAQueuedRun()
  {
    MainWindow window(m_root.filePath(QStringLiteral("seeds")));
    window.show();
    shrink(window);
    PlanPanel *panel = window.experiment()->planPanel();
    runAs(panel, PlanPanel::Seeds);
    setSpin(panel->seeds(), 3);
    QVERIFY2(panel->summary()->text().startsWith(QLatin1String("3 runs")),
             qPrintable(panel->summary()->text()));
    QSignalSpy finished(window.session(), &TrainingSession::finished);
    QTest::mouseClick(window.experiment()->startButton(), Qt::LeftButton);
    PlanQueue *queue = window.monitor()->planQueue();
    queue->table()->selectRow(1);
    QTest::mouseClick(queue->skipButton(), Qt::LeftButton);
    window.tabs()->setCurrentWidget(window.history()); // the queue records the end on any tab
    QVERIFY(finished.wait(300000));
    QVERIFY2(queue->header()->text().contains(QLatin1String("plan finished")),
             qPrintable(queue->header()->text()));
    QCOMPARE(finished.back().at(0).toString(), QStringLiteral("finished"));
    QCOMPARE(queue->status(0), QStringLiteral("finished"));
    QCOMPARE(queue->status(1), QStringLiteral("skipped"));
    QCOMPARE(queue->status(2), QStringLiteral("finished"));
    const RunRecord parent = parentRun(window);
    QVERIFY2(parent.reason.find("1 of 3 run(s) skipped") != std::string::npos, parent.reason.c_str());
    QCOMPARE(children(window, parent.id).size(), std::size_t(2));
  }

  // "Compare strategies" (full and LoRA over 2 seeds) from the Experiment tab; in History grouped
  // by strategy, the two groups selected draw two mean curves with their bands (min–max, then the
  // 95% interval; by epoch and tokens too) and the significance lines equal the CLI's `runs compare
  // A1,A2 B1,B2`; two runs compared give the paired bootstrap on their test rows.
  void groupsCurvesAndSignificance()
  {
    const QString workspace = m_root.filePath(QStringLiteral("strategies"));
    MainWindow window(workspace);
    window.resize(1280, 860);
    window.show();
    shrink(window);
    PlanPanel *panel = window.experiment()->planPanel();
    runAs(panel, PlanPanel::Strategies);
    setSpin(panel->seeds(), 2);
    QVERIFY2(panel->summary()->text().startsWith(QLatin1String("4 runs")),
             qPrintable(panel->summary()->text()));
    QTRY_VERIFY_WITH_TIMEOUT(panel->summary()->text().contains(QLatin1String("about")), 30000);
    shot(&window, "experiment-plan");
    runPlan(window);
    shot(&window, "monitor-plan");

    HistoryView *history = window.history();
    window.tabs()->setCurrentWidget(history);
    history->refresh();
    history->groups()->setKey(QStringLiteral("strategy.name"));
    QTableWidget *table = history->groups()->table();
    QCOMPARE(table->rowCount(), 2);
    table->selectAll();
    CurvesView *curves = history->curves();
    QCOMPARE(curves->lineCount(), 2);
    QCOMPARE(curves->bandCount(), 2);
    curves->bandBox()->setCurrentIndex(1); // 95% CI
    QCOMPARE(curves->bandCount(), 2);
    curves->axisBox()->setCurrentIndex(2); // tokens
    QCOMPARE(curves->lineCount(), 2);
    curves->axisBox()->setCurrentIndex(1); // epochs: one epoch ends at 1
    const auto *x = qobject_cast<QValueAxis *>(curves->chart()->axes(Qt::Horizontal).front());
    QVERIFY(x && x->max() <= 1.0 + 1e-9 && x->max() > 0.5);

    const auto groups = history->groups()->selectedGroups();
    QCOMPARE(groups.size(), std::size_t(2));
    auto ids = [](std::vector<std::int64_t> v) {
      std::sort(v.begin(), v.end());
      QStringList out;
      for (std::int64_t id : v)
        out << QString::number(id);
      return out.join(QLatin1Char(','));
    };
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("TUNEBENCH_WORKSPACE"), workspace);
    const QString cliPath = qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli");
    const auto cli = tunebench::testing::runCli(
        cliPath,
        {QStringLiteral("runs"), QStringLiteral("compare"), ids(groups[0].runs), ids(groups[1].runs)}, env);
    QCOMPARE(cli.exitCode, 0);
    const QStringList shown = history->significance()->text().split(QLatin1Char('\n'));
    QVERIFY2(shown.size() == 3,
             qPrintable(history->significance()->text())); // the heading, accuracy, macro-F1
    for (const QString &line : shown.mid(1))
      QVERIFY2(cli.out.contains(QStringLiteral("  ") + line + QLatin1Char('\n')),
               qPrintable(line + "\n---\n" + cli.out));
    const auto json =
        tunebench::testing::runCli(cliPath,
                                   {QStringLiteral("runs"), QStringLiteral("compare"), ids(groups[0].runs),
                                    ids(groups[1].runs), QStringLiteral("--json")},
                                   env)
            .json();
    const double p =
        json[QLatin1String("significance")][QLatin1String("metrics")][0][QLatin1String("p")].toDouble();
    QVERIFY2(shown[1].contains(QStringLiteral("p = %1 (paired t-test)").arg(QString::number(p, 'g', 3))),
             qPrintable(shown[1] + QStringLiteral(" vs p = ") + QString::number(p)));

    curves->axisBox()->setCurrentIndex(0);
    shot(&window, "history-group-curves");

    // Two runs: the paired bootstrap and McNemar's test on their (shared) test rows.
    history->compare({groups[0].runs.front(), groups[1].runs.front()});
    const QString two = history->significance()->text();
    QVERIFY2(two.contains(QLatin1String("test rows")) && two.contains(QLatin1String("McNemar")),
             qPrintable(two));
    QCOMPARE(curves->lineCount(), 2);

    // The two runs as an ensemble: each member's test accuracy as History has it, then the
    // ensemble's; the table exports as CSV.
    EnsembleDialog *ensemble = history->ensemble({groups[0].runs.front(), groups[1].runs.front()});
    QSignalSpy done(ensemble, &EnsembleDialog::done);
    QVERIFY(done.wait(120000));
    QVERIFY2(done.back().at(0).toBool(), qPrintable(ensemble->status()->text()));
    QTableWidget *members = ensemble->table();
    QCOMPARE(members->rowCount(), 3);
    QVERIFY(members->item(2, 0)->text().startsWith(QLatin1String("ensemble")));
    int accuracyColumn = -1;
    for (int c = 0; c < members->columnCount(); ++c)
      if (members->horizontalHeaderItem(c)->text() == QLatin1String("test accuracy"))
        accuracyColumn = c;
    QVERIFY(accuracyColumn > 0);
    const double memberAccuracy = window.store()->run(groups[0].runs.front()).summary.at("test.accuracy");
    QCOMPARE(members->item(0, accuracyColumn)->text(), QString::number(memberAccuracy, 'f', 4));
    shot(ensemble, "history-ensemble");
    const QStringList csvLines = tableCsv(members).trimmed().split(QLatin1Char('\n'));
    QCOMPARE(csvLines.size(), 4);
    QVERIFY(csvLines[0].startsWith(QLatin1String("model,")));
  }

  // Malformed plans never start: the summary and the problems list name the option.
  void malformedPlans()
  {
    MainWindow window(m_root.filePath(QStringLiteral("bad")));
    PlanPanel *panel = window.experiment()->planPanel();
    panel->setKind(PlanPanel::Grid);
    QVERIFY(panel->summary()->text().contains(QLatin1String("give at least one field")));
    panel->fields()->setPlainText(QStringLiteral("training.learning_rate"));
    QVERIFY2(panel->summary()->text().contains(QLatin1String("expected key=a,b")),
             qPrintable(panel->summary()->text()));
    QVERIFY(!window.startExperiment().isEmpty());
    QVERIFY(!window.session()->running());
    QVERIFY(
        window.experiment()->problems()->item(0)->text().contains(QLatin1String("training.learning_rate")));
    panel->fields()->setPlainText(QStringLiteral("training.learning_rat=1e-3,1e-4"));
    QVERIFY(!window.startExperiment().isEmpty());
    QVERIFY2(window.experiment()->problems()->item(0)->text().contains(QLatin1String("did you mean")),
             qPrintable(window.experiment()->problems()->item(0)->text()));
    panel->setKind(PlanPanel::Strategies);
    for (int r = 0; r < panel->strategies()->rowCount(); ++r)
      panel->strategies()->item(r, 0)->setCheckState(Qt::Unchecked);
    QVERIFY(panel->summary()->text().contains(QLatin1String("tick at least one strategy")));
    panel->strategies()->item(4, 0)->setCheckState(Qt::Checked); // lora
    panel->setKind(PlanPanel::Random);
    panel->fields()->setPlainText(QStringLiteral("training.learning_rate=1e-5:1e-3:log"));
    panel->samples()->setValue(5);
    panel->seeds()->setValue(2);
    QVERIFY2(panel->summary()->text().startsWith(QLatin1String("10 runs")),
             qPrintable(panel->summary()->text()));
  }
};

QTEST_MAIN(TestPlans)
#include "tst_plans.moc"
