// The experiment form's data sections (offscreen): splits and folds, cleaning, augmentation and
// the multi-task list edit the YAML key by key, show their problems beside the field, and a plan
// sweeps them.
#include "core/config/experiment.h"
#include "core/experiments/plan.h"
#include "core/runs/runstore.h"
#include "support/guitest.h"
#include "ui/experimentform.h"
#include "ui/experimentview.h"
#include "ui/mainwindow.h"
#include "ui/planpanel.h"
#include "ui/tasklisteditor.h"

#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QtTest/QtTest>

using namespace tunebench;

class TestFormSections : public QObject
{
  Q_OBJECT

  QTemporaryDir m_root;

private Q_SLOTS:
  void initTestCase()
  {
    tunebench::testing::isolateSettings(QStringLiteral("tst_formsections"));
    QVERIFY2(tunebench::testing::useFetchedAssets(), "USE-Lite is missing: run packaging/fetch-assets.sh");
  }

  // Splits, folds, cleaning and augmentation have form sections: edits reach the YAML, a wrong
  // value shows its problem beside its field, and a plan can sweep them.
  void formSections()
  {
    MainWindow window(m_root.filePath(QStringLiteral("form")));
    ExperimentView *e = window.experiment();
    ExperimentForm *form = e->form();
    for (const char *path :
         {"data.split.train", "data.split.folds", "data.cleaning.lowercase", "data.cleaning.unicode",
          "data.augmentation.synonym", "data.augmentation.paraphrase.model"})
      QVERIFY2(form->editor(QString::fromLatin1(path)), path);
    form->setField(QStringLiteral("data.cleaning.lowercase"), QStringLiteral("true"));
    form->setField(QStringLiteral("data.augmentation.per_row"), QStringLiteral("2"));
    const auto flat = flattenYaml(e->yaml().toStdString());
    QCOMPARE(QString::fromStdString(flat.at("data.cleaning.lowercase")), QStringLiteral("true"));
    QCOMPARE(QString::fromStdString(flat.at("data.augmentation.per_row")), QStringLiteral("2"));
    form->setField(QStringLiteral("data.split.train"), QStringLiteral("1.5"));
    QVERIFY2(form->problem(QStringLiteral("data.split.train")).contains(QLatin1String("1")),
             qPrintable(form->problem(QStringLiteral("data.split.train"))));
    form->setField(QStringLiteral("data.split.train"), QStringLiteral("0.8"));
    QVERIFY(form->problem(QStringLiteral("data.split.train")).isEmpty());

    PlanPanel *panel = e->planPanel();
    panel->setKind(PlanPanel::Grid);
    panel->seeds()->setValue(1);
    panel->fields()->setPlainText(
        QStringLiteral("data.augmentation.per_row=0,1,2\ndata.cleaning.lowercase=true,false"));
    QVERIFY2(panel->summary()->text().startsWith(QLatin1String("6 runs")),
             qPrintable(panel->summary()->text()));
    ExperimentSource source;
    source.yaml = e->yaml().toStdString();
    source.baseDir = window.workspaceDir().toStdString();
    const ExperimentPlan plan =
        panel->plan(source, m_root.filePath(QStringLiteral("form-plan")).toStdString());
    QCOMPARE(plan.runs.size(), std::size_t(6));
    QCOMPARE(plan.runs[5].config.data.augmentPerRow, 2);
    QVERIFY(!plan.runs[5].config.data.cleanLowercase);

    // The multi-task list: the preset's two auxiliary tasks in the table; a weight edited in a
    // cell reaches the YAML (paths as written); a task added without a data file is a problem
    // beside the field until it is removed again.
    e->loadPreset(QStringLiteral("multitask-sentiment-pos-use-lite"));
    QApplication::processEvents();
    e->validate(window.workspaceDir());
    QTest::qWait(300); // the form follows the YAML (debounced)
    auto *tasks = qobject_cast<TaskListEditor *>(form->editor(QStringLiteral("multitask.tasks")));
    QVERIFY(tasks);
    QCOMPARE(tasks->table()->rowCount(), 2);
    QCOMPARE(tasks->table()->item(0, 0)->text(), QStringLiteral("pos"));
    tasks->table()->item(1, 6)->setText(QStringLiteral("0.25"));
    auto parsed = e->parsed(window.workspaceDir());
    QCOMPARE(parsed->config.multitask.tasks.size(), std::size_t(2));
    QCOMPARE(parsed->config.multitask.tasks[1].weight, 0.25);
    QCOMPARE(parsed->config.multitask.tasks[0].tagScheme, std::string("plain"));
    QVERIFY(
        QString::fromStdString(parsed->config.multitask.tasks[0].path).startsWith(QLatin1String("$ASSETS/")));
    QTest::mouseClick(tasks->addButton(), Qt::LeftButton);
    QVERIFY2(
        form->problem(QStringLiteral("multitask.tasks")).contains(QLatin1String("needs a name and a path")),
        qPrintable(form->problem(QStringLiteral("multitask.tasks"))));
    QCOMPARE(tasks->table()->rowCount(), 3);
    tasks->table()->setCurrentCell(2, 0);
    QCOMPARE(tasks->table()->currentRow(), 2);
    QTest::mouseClick(tasks->removeButton(), Qt::LeftButton);
    QCOMPARE(tasks->table()->rowCount(), 2);
    QVERIFY2(form->problem(QStringLiteral("multitask.tasks")).isEmpty(),
             qPrintable(form->problem(QStringLiteral("multitask.tasks")) + QLatin1Char('\n') + e->yaml()));
    QCOMPARE(e->parsed(window.workspaceDir())->config.multitask.tasks.size(), std::size_t(2));
  }
};

QTEST_MAIN(TestFormSections)
#include "tst_formsections.moc"
