#include "core/runtime/runtime.h"
#include "ui/environmentview.h"
#include "ui/mainwindow.h"

#include <QtTest/QtTest>
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
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
