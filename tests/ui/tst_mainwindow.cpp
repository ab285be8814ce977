#include "core/runtime/runtime.h"
#include "ui/environmentview.h"
#include "ui/experimentview.h"
#include "ui/mainwindow.h"

#include <QtTest/QtTest>
#include <QChart>
#include <QChartView>
#include <QMenu>
#include <QTabWidget>
#include <QTreeWidget>

using namespace tunebench;

class TestMainWindow : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void initTestCase()
  {
    QStandardPaths::setTestModeEnabled(true); // QSettings go to a test location
    QCoreApplication::setOrganizationName(QStringLiteral("tunebench-test"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_mainwindow"));
    QSettings().clear();
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
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
