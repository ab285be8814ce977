#include "core/runs/runstore.h"
#include "core/runtime/runtime.h"
#include "support/guitest.h"
#include "ui/assetspanel.h"
#include "ui/environmentview.h"
#include "ui/experimentview.h"
#include "ui/historyview.h"
#include "ui/mainwindow.h"
#include "ui/monitorview.h"
#include "ui/plotview.h"
#include "ui/rungroupspanel.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QImage>
#include <QLabel>
#include <QMenu>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QTabWidget>
#include <QTableWidget>
#include <QTreeWidget>
#include <QtTest/QtTest>

using namespace tunebench;

class TestMainWindow : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void initTestCase() { tunebench::testing::isolateSettings(QStringLiteral("tst_mainwindow")); }

  // The Start tab offers fetch-assets while the assets folder lacks the default experiment's model
  // and data, hides the offer once they are there, and shows the script's failure when it fails.
  void startTabOffersTheAssets()
  {
    QTemporaryDir root;
    const QByteArray saved = qgetenv("TUNEBENCH_ASSETS");
    const QString assets = root.filePath(QStringLiteral("assets"));
    qputenv("TUNEBENCH_ASSETS", assets.toUtf8());
    {
      MainWindow window(root.filePath(QStringLiteral("workspace")));
      window.show();
      QVERIFY(QTest::qWaitForWindowExposed(&window));
      auto *panel = window.findChild<AssetsPanel *>();
      QVERIFY(panel);
      QVERIFY(panel->isVisible());
      auto *message = panel->findChild<QLabel *>();
      QVERIFY(message->text().contains(assets));
      QVERIFY(panel->fetchButton()->isEnabled());

      QVERIFY(QDir().mkpath(assets + QStringLiteral("/models/use-lite")));
      QVERIFY(QDir().mkpath(assets + QStringLiteral("/data/sentiment")));
      QFile(assets + QStringLiteral("/models/use-lite/model.json")).open(QIODevice::WriteOnly);
      QVERIFY(!panel->refresh()); // the data file is still missing
      QFile(assets + QStringLiteral("/data/sentiment/pang-lee-sentences.csv")).open(QIODevice::WriteOnly);
      QVERIFY(panel->refresh());
      QVERIFY(!panel->isVisible());

      // A folder that cannot be made (below a plain file): the script fails and says so.
      const QString blocked = root.filePath(QStringLiteral("file/assets"));
      QFile(root.filePath(QStringLiteral("file"))).open(QIODevice::WriteOnly);
      qputenv("TUNEBENCH_ASSETS", blocked.toUtf8());
      QVERIFY(!panel->refresh());
      QVERIFY(panel->isVisible());
      panel->fetchButton()->click();
      QVERIFY(!panel->fetchButton()->isEnabled());
      QTRY_VERIFY_WITH_TIMEOUT(panel->fetchButton()->isEnabled(), 30000);
      QVERIFY2(message->text().contains(QLatin1String("Fetching failed")), qPrintable(message->text()));
      QVERIFY(panel->findChild<QPlainTextEdit *>()->toPlainText().contains(blocked));
    }
    qputenv("TUNEBENCH_ASSETS", saved);
  }

  // History → Group by: the listed runs grouped by a config key, each test metric as mean ± std
  // and the 95% interval of the mean: mean ± t(0.975, n − 1)·sd/√n, t = 4.3027 (n = 3), 12.7062 (n = 2).
  void historyGroupsRuns()
  {
    QTemporaryDir root;
    const QString workspace = root.filePath(QStringLiteral("workspace"));
    {
      RunStore store(workspace.toStdString());
      const std::string lora = "name: r\nstrategy: {name: lora}\n",
                        full = "name: r\nstrategy: {name: full}\n";
      int i = 0;
      for (double acc : {0.80, 0.82, 0.81, 0.78, 0.79}) {
        const std::int64_t id = store.createRun(
            "r", (workspace + QStringLiteral("/runs/%1").arg(i)).toStdString(), i < 3 ? lora : full);
        store.setSummary(id, "test", "accuracy", acc);
        store.setStatus(id, RunStatus::Finished, "done", 1);
        ++i;
      }
      store.flush();
    }
    MainWindow window(workspace);
    HistoryView *history = window.history();
    history->refresh();
    QCOMPARE(history->runs()->rowCount(), 5);
    QVERIFY(history->groups()->table()->isHidden()); // (none)
    history->groups()->keyBox()->setCurrentText(QStringLiteral("strategy.name"));
    QTableWidget *t = history->groups()->table();
    QVERIFY(!t->isHidden());
    QCOMPARE(t->rowCount(), 2);
    QCOMPARE(t->horizontalHeaderItem(2)->text(), QStringLiteral("test.accuracy"));
    const int lora = t->item(0, 0)->text() == QLatin1String("lora") ? 0 : 1; // the newest run's group first
    QCOMPARE(t->item(lora, 0)->text(), QStringLiteral("lora"));
    QCOMPARE(t->item(1 - lora, 0)->text(), QStringLiteral("full"));
    QCOMPARE(t->item(lora, 1)->text(), QStringLiteral("3 (3,2,1)"));
    QCOMPARE(t->item(lora, 2)->text(), QStringLiteral("0.8100 ± 0.0100  [0.7852, 0.8348]"));
    QCOMPARE(t->item(1 - lora, 2)->text(),
             QStringLiteral("0.7850 ± 0.0071  [0.7215, 0.8485]")); // t(0.975, 1) = 12.7062
    history->groups()->keyBox()->setCurrentText(QStringLiteral("(none)"));
    QVERIFY(t->isHidden());
  }

  void opensOnTheWorkspace()
  {
    QTemporaryDir root;
    const QString workspace = root.filePath(QStringLiteral("new/workspace"));
    MainWindow window(workspace);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(QFileInfo(workspace).isDir()); // created on first start
    QCOMPARE(window.workspaceDir(), QDir(workspace).absolutePath());
    QVERIFY(window.windowTitle().contains(QLatin1String("workspace")));
    QVERIFY(window.tabs()->count() >= 1);
  }

  // File → Examples: each case study becomes a workspace of its own with its experiments copied
  // in, the first one loaded; a user's edits to a copied file survive opening the example again.
  void examplesOpenAsWorkspaces()
  {
    QTemporaryDir root;
    MainWindow window(root.filePath(QStringLiteral("workspace")));
    const QString examples = root.filePath(QStringLiteral("examples"));
    const auto list = MainWindow::exampleList();
    QCOMPARE(list.size(), std::size_t(3));
    QMenu *menu = nullptr;
    for (QMenu *m : window.findChildren<QMenu *>())
      if (m->title().remove(QLatin1Char('&')) == QLatin1String("Examples"))
        menu = m;
    QVERIFY(menu);
    QCOMPARE(menu->actions().size(), 3);
    for (const auto &[name, title] : list) {
      const QString dir = window.openExample(name, examples);
      QCOMPARE(dir, examples + QLatin1Char('/') + name);
      QCOMPARE(window.workspaceDir(), dir);
      const QStringList files = QDir(dir).entryList({QStringLiteral("*.yaml")}, QDir::Files, QDir::Name);
      QVERIFY2(files.size() >= 2, qPrintable(name));
      QFile first(dir + QLatin1Char('/') + files.front());
      QVERIFY(first.open(QIODevice::ReadOnly));
      QCOMPARE(window.experiment()->yaml(), QString::fromUtf8(first.readAll()));
      QCOMPARE(window.tabs()->currentWidget(), static_cast<QWidget *>(window.experiment()));
    }
    const QString edited = examples + QStringLiteral("/sentiment-full-vs-lora/2-lora.yaml");
    QFile f(edited);
    QVERIFY(f.open(QIODevice::Append));
    f.write("# my note\n");
    f.close();
    window.openExample(QStringLiteral("sentiment-full-vs-lora"), examples);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QVERIFY(f.readAll().endsWith("# my note\n"));
  }

  void showsTheEnvironment()
  {
    QTemporaryDir root;
    MainWindow window(root.path());
    auto *view = window.findChild<EnvironmentView *>();
    QVERIFY(view);
    const RuntimeInfo info = runtimeInfo();
    const auto blas = view->tree()->findItems(QStringLiteral("BLAS"), Qt::MatchExactly, 0);
    QCOMPARE(blas.size(), 1);
    QVERIFY(blas.front()->text(1).startsWith(QString::fromStdString(info.blas.name)));
    const auto qt = view->tree()->findItems(QStringLiteral("Qt"), Qt::MatchExactly, 0);
    QCOMPARE(qt.size(), 1);
    QCOMPARE(qt.front()->text(1), QString::fromLatin1(qVersion()));
  }

  void unusableWorkspaceIsRefused()
  {
    QTemporaryDir root;
    MainWindow window(root.path());
    QFile blocker(root.filePath(QStringLiteral("file")));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    QVERIFY(!window.openWorkspace(root.filePath(QStringLiteral("file/sub"))));
    QCOMPARE(window.workspaceDir(), QDir(root.path()).absolutePath()); // unchanged
  }

  void layoutIsRemembered()
  {
    QTemporaryDir root;
    {
      MainWindow window(root.path());
      window.resize(900, 640);
      window.show();
      QVERIFY(QTest::qWaitForWindowExposed(&window));
      window.close();
    }
    MainWindow again(root.path());
    QCOMPARE(again.size(), QSize(900, 640));
  }

  // A dark desktop palette gives dark charts (and the light one light charts), in every view.
  void chartsFollowThePalette()
  {
    const QPalette light = QApplication::palette();
    QPalette dark(QColor(40, 40, 44));
    QApplication::setPalette(dark);
    QTemporaryDir root;
    {
      MainWindow window(root.filePath(QStringLiteral("dark")));
      const auto views = window.findChildren<QChartView *>();
      QVERIFY(views.size() >= 5);
      for (QChartView *v : views)
        QCOMPARE(v->chart()->theme(), QChart::ChartThemeDark);
    }
    QApplication::setPalette(light);
    MainWindow window(root.filePath(QStringLiteral("light")));
    for (QChartView *v : window.findChildren<QChartView *>())
      QCOMPARE(v->chart()->theme(), QChart::ChartThemeLight);
  }

  // Every chart is a PlotView (right-click: PNG, SVG, CSV), and what it saves is what it shows: a
  // monitor fed 9,000 steps keeps at most 4,000 points per series with the newest last; the CSV
  // holds those points, the SVG draws them as one polyline, the PNG is the view's pixels.
  void chartsExportWhatTheyShow()
  {
    QTemporaryDir root;
    MainWindow window(root.filePath(QStringLiteral("plots")));
    const auto views = window.findChildren<QChartView *>();
    QVERIFY(views.size() >= 5);
    for (QChartView *v : views)
      QVERIFY2(qobject_cast<PlotView *>(v), qPrintable(v->chart()->title()));

    MonitorView *monitor = window.monitor();
    monitor->reset(QStringLiteral("t"), QStringLiteral("accuracy"), 100);
    for (int batch = 0; batch < 9; ++batch) {
      std::vector<StepEvent> steps;
      for (int i = 1; i <= 1000; ++i) {
        StepEvent e;
        e.step = batch * 1000 + i;
        e.totalSteps = 9000;
        e.loss = 1.0 / static_cast<double>(e.step);
        e.learningRate = 1e-4;
        e.gradNorm = 0.5;
        steps.push_back(e);
      }
      monitor->addSteps(steps);
    }
    QVERIFY(monitor->trainPoints() <= MonitorView::kMaxPoints);
    QVERIFY(monitor->trainPoints() >= MonitorView::kMaxPoints / 2);
    QCOMPARE(monitor->lastTrainPoint().x(), 9000.0);

    PlotView *loss = nullptr;
    for (PlotView *v : monitor->findChildren<PlotView *>())
      if (v->chart()->title() == QLatin1String("Loss"))
        loss = v;
    QVERIFY(loss);
    QCOMPARE(loss->exportActions().size(), 3);
    loss->resize(640, 400);
    const QString csv = root.filePath(QStringLiteral("loss.csv")),
                  svg = root.filePath(QStringLiteral("loss.svg")),
                  png = root.filePath(QStringLiteral("loss.png"));
    QVERIFY(loss->saveCsv(csv) && loss->saveSvg(svg) && loss->savePng(png));
    QFile csvFile(csv);
    QVERIFY(csvFile.open(QIODevice::ReadOnly));
    const QStringList rows =
        QString::fromUtf8(csvFile.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(rows.front(), QStringLiteral("series,x,y"));
    const QStringList trainRows = rows.filter(QRegularExpression(QStringLiteral("^train \\(smoothed\\),")));
    QCOMPARE(trainRows.size(), monitor->trainPoints());
    QCOMPARE(trainRows.back().section(QLatin1Char(','), 1, 1).toDouble(), 9000.0);
    QFile svgFile(svg);
    QVERIFY(svgFile.open(QIODevice::ReadOnly));
    const QString drawing = QString::fromUtf8(svgFile.readAll());
    QVERIFY(drawing.startsWith(QLatin1String("<?xml")) &&
            drawing.trimmed().endsWith(QLatin1String("</svg>")));
    const QRegularExpressionMatch line =
        QRegularExpression(QStringLiteral("<polyline points='([^']*)'")).match(drawing);
    QVERIFY(line.hasMatch());
    QCOMPARE(line.captured(1).split(QLatin1Char(' '), Qt::SkipEmptyParts).size(), monitor->trainPoints());
    QVERIFY(drawing.contains(QLatin1String("train (smoothed)")));
    const QImage image(png);
    QCOMPARE(image.size(), loss->size() * loss->devicePixelRatio());
  }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
