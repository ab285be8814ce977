// The workbench driven through its real widgets (offscreen): load the default experiment, choose
// LoRA and change r, start a short run, see points arrive on the charts, stop it, find it in the
// history, run a second one, compare the two and read the config diff, evaluate the finished one
// (confusion heat map, per-class table) and ask the playground about a sentence.
#include "core/config/experiment.h"
#include "core/data/dataset.h"
#include "core/runs/runstore.h"
#include "core/train/trainer.h"
#include "support/golden.h"
#include "ui/columnmapping.h"
#include "ui/datasetview.h"
#include "ui/estimatepanel.h"
#include "ui/evaluationview.h"
#include "ui/experimentform.h"
#include "ui/experimentview.h"
#include "ui/historyview.h"
#include "ui/labelling.h"
#include "ui/mainwindow.h"
#include "ui/monitorview.h"
#include "ui/trainingsession.h"

#include <QChart>
#include <QComboBox>
#include <QElapsedTimer>
#include <QFont>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTextEdit>
#include <QUndoStack>
#include <QtTest/QtTest>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace tunebench;

class TestWorkbench : public QObject
{
  Q_OBJECT

  QTemporaryDir m_root;

  // Types into a form field as a user does: select all, type, Return.
  static void type(ExperimentForm *form, const QString &path, const QString &text)
  {
    auto *line = qobject_cast<QLineEdit *>(form->editor(path));
    QVERIFY2(line, qPrintable(path));
    QVERIFY2(line->isVisible(), qPrintable(path));
    line->setFocus();
    line->selectAll();
    QTest::keyClicks(line, text);
    QTest::keyClick(line, Qt::Key_Return);
  }

  // Picks a value in a form combo box with the arrow keys, as a user does.
  static void choose(ExperimentForm *form, const QString &path, const QString &value)
  {
    auto *box = qobject_cast<QComboBox *>(form->editor(path));
    QVERIFY2(box, qPrintable(path));
    const int target = box->findData(value);
    QVERIFY2(target >= 0, qPrintable(value));
    box->setFocus();
    while (box->currentIndex() != target)
      QTest::keyClick(box, box->currentIndex() < target ? Qt::Key_Down : Qt::Key_Up);
  }

  static QString configValue(ExperimentView *e, const char *key)
  {
    const auto flat = flattenYaml(e->yaml().toStdString());
    const auto it = flat.find(key);
    return it == flat.end() ? QString() : QString::fromStdString(it->second);
  }

  // The small run: sizes through the YAML; the strategy and LoRA's r through the form's widgets.
  static void shrink(MainWindow &window, const QString &r)
  {
    ExperimentView *e = window.experiment();
    window.tabs()->setCurrentWidget(e);
    e->setOverride(QStringLiteral("data.subset_rows"), QStringLiteral("240"));
    e->setOverride(QStringLiteral("training.epochs"), QStringLiteral("1"));
    e->setOverride(QStringLiteral("training.batch_size"), QStringLiteral("16"));
    e->setOverride(QStringLiteral("training.learning_rate"), QStringLiteral("1e-3"));
    e->setOverride(QStringLiteral("evaluation.every_steps"), QStringLiteral("3"));
    e->setOverride(QStringLiteral("evaluation.early_stopping.patience"), QStringLiteral("0"));
    e->editors()->setCurrentWidget(e->form());
    QTest::qWait(300); // the form follows the YAML (debounced)
    choose(e->form(), QStringLiteral("strategy.name"), QStringLiteral("lora"));
    type(e->form(), QStringLiteral("strategy.lora.r"), r);
    QCOMPARE(configValue(e, "strategy.name"), QStringLiteral("lora"));
    QCOMPARE(configValue(e, "strategy.lora.r"), r);
  }

private Q_SLOTS:
  void initTestCase()
  {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("tunebench-test"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_workbench"));
    QSettings().clear();
    qputenv("TUNEBENCH_ASSETS", tunebench::testing::assetsDir().toUtf8());
    QVERIFY2(QFile::exists(tunebench::testing::assetPath(QStringLiteral("models/use-lite/model.json"))),
             "USE-Lite is missing: run packaging/fetch-assets.sh");
  }

  // The Data tab on the default experiment's data (4,000 sentences): the table, text and label
  // filters, the label and token-length charts; then a file with broken rows: the report lists
  // them and an entry jumps to its row.
  void dataTab()
  {
    MainWindow window(m_root.filePath(QStringLiteral("data-workspace")));
    window.show();
    DatasetView *data = window.data();
    QSignalSpy loaded(data, &DatasetView::loaded);
    QVERIFY(window.openExperimentData());
    QVERIFY(loaded.wait(60000));
    QVERIFY2(loaded.front().at(0).toBool(), qPrintable(data->summary()->text()));
    QCOMPARE(data->model()->rowCount(), 4000);
    QCOMPARE(data->labelChart()->series().size(), 1);
    QCOMPARE(data->lengthChart()->series().size(), 2); // the histogram and the max-length line
    data->setFilters(QStringLiteral("spiderman"), {}, {});
    QVERIFY(data->filter()->rowCount() >= 1);
    for (int r = 0; r < data->filter()->rowCount(); ++r)
      QVERIFY(data->filter()->index(r, 1).data().toString().contains(QLatin1String("spiderman"), Qt::CaseInsensitive));
    data->setFilters({}, QStringLiteral("positive"), {});
    QCOMPARE(data->filter()->rowCount(), 2000);
    data->setFilters({}, {}, {});

    // Labelling: correct a label in the table (what the cell's editor does), undo, redo, save as
    // a new version in the workspace; the version reads back with the correction and the
    // original file still has the old label.
    DatasetModel *model = data->model();
    const QString before = model->index(0, 2).data().toString();
    const QString after = before == QLatin1String("positive") ? QStringLiteral("negative") : QStringLiteral("positive");
    QVERIFY(model->flags(model->index(0, 2)) & Qt::ItemIsEditable);
    QVERIFY(model->setData(model->index(0, 2), after));
    QCOMPARE(model->index(0, 2).data().toString(), after);
    QCOMPARE(model->changedRows(), 1);
    QVERIFY(model->index(0, 2).data(Qt::FontRole).value<QFont>().bold());
    data->undoStack()->undo();
    QCOMPARE(model->index(0, 2).data().toString(), before);
    QCOMPARE(model->changedRows(), 0);
    data->undoStack()->redo();
    QCOMPARE(model->index(0, 2).data().toString(), after);
    const QString version = data->saveVersion();
    QVERIFY2(version.endsWith(QLatin1String("datasets/pang-lee-sentences-v2.jsonl")), qPrintable(version));
    data->open(version, QStringLiteral("single_label"));
    QVERIFY(loaded.wait(60000));
    QCOMPARE(data->model()->rowCount(), 4000);
    QCOMPARE(data->model()->index(0, 2).data().toString(), after);
    QCOMPARE(data->model()->changedRows(), 0);
    QVERIFY(window.openExperimentData());
    QVERIFY(loaded.wait(60000));
    QCOMPARE(data->model()->index(0, 2).data().toString(), before);

    // Import with the column-mapping dialog: columns with unusual names are mapped by hand, and
    // the experiment is pointed at the file with those columns.
    QFile odd(m_root.filePath(QStringLiteral("odd.csv")));
    QVERIFY(odd.open(QIODevice::WriteOnly));
    odd.write("id,body,verdict\n1,a fine film,good\n2,a dull film,bad\n3,a gem,good\n");
    odd.close();
    ColumnMappingDialog mapping(odd.fileName(), QStringLiteral("single_label"));
    QVERIFY(mapping.error().isEmpty());
    QVERIFY(mapping.setColumn(QStringLiteral("text"), QStringLiteral("body")));
    QVERIFY(mapping.setColumn(QStringLiteral("label"), QStringLiteral("verdict")));
    QVERIFY(!mapping.setColumn(QStringLiteral("label"), QStringLiteral("nope")));
    QCOMPARE(mapping.columns().value(QStringLiteral("text")), QStringLiteral("body"));
    data->open(odd.fileName(), mapping.kind(), {}, 128, mapping.columns());
    QVERIFY(loaded.wait(60000));
    QVERIFY(loaded.back().at(0).toBool());
    QCOMPARE(data->model()->rowCount(), 3);
    QCOMPARE(data->model()->index(1, 1).data().toString(), QStringLiteral("a dull film"));
    QCOMPARE(data->model()->index(1, 2).data().toString(), QStringLiteral("bad"));
    Q_EMIT data->useInExperiment(odd.fileName(), mapping.kind(), mapping.columns());
    const ConfigResult pointed = parseExperimentConfig(window.experiment()->yaml().toStdString(), window.workspaceDir().toStdString());
    QCOMPARE(QString::fromStdString(pointed.config.data.path), odd.fileName());
    QCOMPARE(pointed.config.data.columns.at("label"), std::string("verdict"));
    // Tags are corrected token by token in the tag editor, as one undoable edit of the row.
    QFile conll(m_root.filePath(QStringLiteral("ner.conll")));
    QVERIFY(conll.open(QIODevice::WriteOnly));
    conll.write("John\tB-PER\nlives\tO\nin\tO\nParis\tO\n\nAnna\tB-PER\nleft\tO\n\n");
    conll.close();
    data->open(conll.fileName(), QStringLiteral("token_tagging"));
    QVERIFY(loaded.wait(60000));
    QCOMPARE(data->model()->rowCount(), 2);
    const Example &first = data->model()->dataset()->examples.front();
    TagEditorDialog tagEditor(first.tokens, first.tags, {"B-LOC", "B-PER", "I-LOC", "O"});
    QCOMPARE(tagEditor.table()->rowCount(), 4);
    qobject_cast<QComboBox *>(tagEditor.table()->cellWidget(3, 1))->setCurrentText(QStringLiteral("B-LOC"));
    data->editValues(0, tagEditor.tags());
    QCOMPARE(data->model()->index(0, 2).data().toString(), QStringLiteral("B-PER O O B-LOC"));
    data->undoStack()->undo();
    QCOMPARE(data->model()->index(0, 2).data().toString(), QStringLiteral("B-PER O O O"));

    ColumnMappingDialog missing(m_root.filePath(QStringLiteral("no-such.csv")), QStringLiteral("single_label"));
    QVERIFY(missing.error().contains(QLatin1String("no-such.csv")));
    window.experiment()->loadPreset(QStringLiteral("sentiment-use-lite"));
    QVERIFY(window.openExperimentData());
    QVERIFY(loaded.wait(60000));
    // The augmentation preview: augmented copies of the rows shown, each beside its original.
    QSignalSpy augmented(data, &DatasetView::augmented);
    data->previewAugmentation(5);
    QVERIFY(augmented.wait(60000));
    QVERIFY(augmented.front().at(0).toBool());
    QTableWidget *preview = data->augmentation();
    QVERIFY(preview->rowCount() >= 5);
    for (int r = 0; r < preview->rowCount(); ++r) {
      QVERIFY(QStringList({"synonym", "insertion", "swap", "deletion"}).contains(preview->item(r, 0)->text()));
      QVERIFY(preview->item(r, 1)->text() != preview->item(r, 2)->text());
    }

    QFile bad(m_root.filePath(QStringLiteral("bad.csv")));
    QVERIFY(bad.open(QIODevice::WriteOnly));
    bad.write("text,label\ngood one,positive\n,negative\nanother good one,negative\nno label here,\nfine,positive\n");
    bad.close();
    data->open(bad.fileName(), QStringLiteral("single_label"));
    QVERIFY(loaded.wait(60000));
    QCOMPARE(data->model()->rowCount(), 3); // the two broken rows are left out
    QVERIFY(data->report()->count() >= 2);
    QVERIFY(data->report()->item(0)->text().contains(QLatin1String("bad.csv:")));
    QVERIFY(data->jumpToIssue(0));
    QCOMPARE(data->table()->selectionModel()->selectedRows().size(), 1);
  }

  // One data path: the Data tab opened from the experiment shows the rows, labels and splits its
  // run trains on — the run's split.json and labels.json — for the default preset and for a file
  // with duplicates, HTML (cleaned), a split column and a row of test repeating a row of train.
  void dataTabShowsWhatTrainingSees_data()
  {
    QTest::addColumn<QStringList>("overrides");
    QTest::addColumn<bool>("ownFile");
    QTest::newRow("default preset") << QStringList{} << false;
    QTest::newRow("duplicates, html, split column")
        << QStringList{QStringLiteral("data.cleaning.html"), QStringLiteral("true")} << true;
  }

  void dataTabShowsWhatTrainingSees()
  {
    QFETCH(QStringList, overrides);
    QFETCH(bool, ownFile);
    MainWindow window(m_root.filePath(QStringLiteral("datapath-workspace-%1").arg(ownFile)));
    window.experiment()->loadPreset(QStringLiteral("sentiment-use-lite"));
    if (ownFile) {
      QFile f(m_root.filePath(QStringLiteral("messy.csv")));
      QVERIFY(f.open(QIODevice::WriteOnly));
      QByteArray csv = "text,label,split\n";
      for (int i = 0; i < 30; ++i) {
        const QByteArray n = QByteArray::number(i);
        csv += "<b>a fine film number " + n + "</b>,positive," +
               (i % 10 == 0   ? "test"
                : i % 10 == 1 ? "validation"
                              : "train") +
               "\n";
        csv += "a dull film number " + n + ",negative," +
               (i % 10 == 0   ? "test"
                : i % 10 == 1 ? "validation"
                              : "train") +
               "\n";
      }
      csv += "a dull film number 5,negative,train\n"; // a duplicate inside train
      csv += "a fine film number 3,positive,test\n";  // the same text as a train row: a leak
      f.write(csv);
      f.close();
      window.experiment()->setOverride(QStringLiteral("data.path"), f.fileName());
    }
    for (int i = 0; i + 1 < overrides.size(); i += 2)
      window.experiment()->setOverride(overrides[i], overrides[i + 1]);
    window.experiment()->setOverride(QStringLiteral("training.max_steps"), QStringLiteral("1"));
    DatasetView *data = window.data();
    QSignalSpy loaded(data, &DatasetView::loaded);
    QVERIFY(window.openExperimentData());
    QVERIFY(loaded.wait(120000));
    QVERIFY2(loaded.front().at(0).toBool(), qPrintable(data->summary()->text()));
    const Dataset &shown = *data->model()->dataset();

    // The run of the same experiment (one step is enough to write its split and labels).
    const ConfigResult r =
        parseExperimentConfig(window.experiment()->yaml().toStdString(), window.workspaceDir().toStdString());
    QVERIFY(r.ok());
    const std::filesystem::path runDir =
        m_root.filePath(QStringLiteral("datapath-run-%1").arg(ownFile)).toStdString();
    Trainer trainer(r.config, runDir);
    trainer.run();
    const auto split = nlohmann::json::parse(std::ifstream(runDir / "split.json"));
    const auto labels = nlohmann::json::parse(std::ifstream(runDir / "labels.json"));
    std::map<std::string, std::vector<int>> rowsBySplit;
    for (std::size_t i = 0; i < shown.examples.size(); ++i)
      rowsBySplit[shown.examples[i].split].push_back(static_cast<int>(i));
    for (const char *name : {"train", "validation", "test"})
      QCOMPARE(rowsBySplit[name], split[name].get<std::vector<int>>());
    QCOMPARE(shown.labels, labels.get<std::vector<std::string>>());
    std::size_t total = 0;
    for (const char *name : {"train", "validation", "test"})
      total += split[name].size();
    QCOMPARE(shown.examples.size(), total);
    if (ownFile) {
      QCOMPARE(shown.examples.size(), std::size_t(62));
      for (const Example &e : shown.examples)
        QVERIFY2(!QString::fromStdString(e.text).contains(QLatin1Char('<')), e.text.c_str()); // HTML cleaned
      // The leak is in the data report, naming the file and the line.
      bool leak = false;
      for (int i = 0; i < data->report()->count(); ++i)
        leak = leak || (data->report()->item(i)->text().contains(QLatin1String("messy.csv:63")) &&
                        data->report()->item(i)->text().contains(QLatin1String("leakage")));
      QVERIFY2(leak, "no leakage entry for line 63");
    }
  }

  // The Experiment tab's estimate follows the edits: LoRA r=8 on USE-Lite trains a fraction of a
  // percent; a batch far too large for this machine's memory brings the warning and remedies.
  void estimatesFollowTheEdits()
  {
    MainWindow window(m_root.filePath(QStringLiteral("estimate-workspace")));
    ExperimentView *e = window.experiment();
    EstimatePanel *panel = e->estimate();
    QSignalSpy updated(panel, &EstimatePanel::updated);
    e->setOverride(QStringLiteral("strategy.name"), QStringLiteral("lora"));
    QTRY_VERIFY2_WITH_TIMEOUT(panel->text()->text().contains(QLatin1String("Trainable")) &&
                                  panel->text()->text().contains(QLatin1String("(0.")), // under 1%
                              qPrintable(panel->text()->text()), 60000);
    QCOMPARE(panel->learningRateChart()->series().size(), 1);
    e->setOverride(QStringLiteral("training.batch_size"), QStringLiteral("4096"));
    e->setOverride(QStringLiteral("model.max_length"), QStringLiteral("8192"));
    QTRY_VERIFY_WITH_TIMEOUT(panel->text()->text().contains(QLatin1String("Remedies")), 60000);
    QVERIFY(panel->text()->text().contains(QLatin1String("gradient accumulation")));
    // Applying the smaller batch keeps the effective batch (batch × accumulation = 4096) and the
    // warning goes once the batch and the length fit.
    QVERIFY(panel->remedyCount() >= 2);
    int batchRemedy = -1;
    for (int i = 0; i < panel->remedyCount(); ++i) {
      panel->applyRemedy(i);
      const ConfigResult r = parseExperimentConfig(e->yaml().toStdString(), window.workspaceDir().toStdString());
      if (r.config.training.batchSize < 4096) {
        QCOMPARE(r.config.training.batchSize * r.config.training.gradientAccumulation >= 4096, true);
        batchRemedy = i;
        break;
      }
    }
    QVERIFY(batchRemedy >= 0);
    e->setOverride(QStringLiteral("model.max_length"), QStringLiteral("128"));
    QTRY_VERIFY_WITH_TIMEOUT(!panel->text()->text().contains(QLatin1String("Remedies")), 60000);
  }

  // Quick check: one batch over-fits and a short run on a subset finishes; nothing is recorded.
  void quickCheck()
  {
    MainWindow window(m_root.filePath(QStringLiteral("check-workspace")));
    ExperimentView *e = window.experiment();
    QSignalSpy checked(e, &ExperimentView::quickChecked);
    e->setOverride(QStringLiteral("training.batch_size"), QStringLiteral("0"));
    QTest::mouseClick(e->quickCheckButton(), Qt::LeftButton);
    QCOMPARE(checked.size(), 1); // a broken config fails at once, with its problems
    QVERIFY(!checked.back().at(0).toBool());
    QVERIFY(checked.back().at(1).toString().contains(QLatin1String("batch_size")));
    e->setOverride(QStringLiteral("training.batch_size"), QStringLiteral("16"));
    QTest::mouseClick(e->quickCheckButton(), Qt::LeftButton);
    QVERIFY(!e->startButton()->isEnabled());
    QVERIFY(checked.wait(240000));
    QVERIFY2(checked.back().at(0).toBool(), qPrintable(checked.back().at(1).toString()));
    QVERIFY(checked.back().at(1).toString().contains(QLatin1String("over-fits")));
    QVERIFY(checked.back().at(1).toString().contains(QLatin1String("rows finished")));
    QVERIFY(e->startButton()->isEnabled());
    QCOMPARE(window.history()->runs()->rowCount(), 0);
  }

  // An instruction run (a tiny GPT-2 from scratch on quiz questions) in the Evaluate tab: its
  // greedy answers beside the reference answers.
  void instructionGenerations()
  {
    MainWindow window(m_root.filePath(QStringLiteral("instruction-workspace")));
    ExperimentView *e = window.experiment();
    e->setYaml(QStringLiteral(
        "name: quiz-tiny\nseed: 42\n"
        "model: {path: $ASSETS/tokenizers/gpt2, init: random, max_length: 48, scratch: {layers: 1, hidden: 32, heads: 2}}\n"
        "task: {kind: instruction}\n"
        "data: {path: $ASSETS/data/instructions/quiz.jsonl, subset_rows: 80,\n"
        "       split: {train: 0.8, validation: 0.1, test: 0.1, stratified: false}}\n"
        "training: {epochs: 1, batch_size: 16, learning_rate: 1.0e-3}\n"
        "evaluation: {metric: loss, generate: 5, max_new_tokens: 6}\n"
        "output: {runs: $WORKSPACE/runs}\n"));
    QSignalSpy finished(window.session(), &TrainingSession::finished);
    const QStringList problems = window.startExperiment();
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
    QVERIFY(finished.wait(240000));
    QCOMPARE(finished.back().at(0).toString(), QStringLiteral("finished"));
    // The monitor of a started or resumed run charts the run's own selection metric.
    QCOMPARE(window.session()->selectionMetric(), QStringLiteral("loss"));
    EvaluationView *ev = window.evaluation();
    QCOMPARE(ev->runsBox()->count(), 1);
    QSignalSpy evaluated(ev, &EvaluationView::evaluated);
    ev->evaluate(ev->runsBox()->itemData(0).toString(), QStringLiteral("test"));
    QVERIFY(evaluated.wait(120000));
    QVERIFY2(evaluated.back().at(0).toBool(), qPrintable(ev->summary()->text()));
    QTableWidget *g = ev->generations();
    QCOMPARE(g->rowCount(), 5);
    for (int r = 0; r < g->rowCount(); ++r) {
      QVERIFY(!g->item(r, 0)->text().isEmpty()); // the prompt
      QVERIFY(!g->item(r, 2)->text().isEmpty()); // the reference answer
    }
  }

  // One edit, one parse: the form, the problems list, the estimate, Start and the monitor share the
  // experiment the view parsed; the model description is read off the GUI thread.
  void editsAreParsedOnce()
  {
    MainWindow window(m_root.filePath(QStringLiteral("parse-once")));
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    ExperimentView *e = window.experiment();
    ExperimentForm *form = e->form();
    QTRY_VERIFY(form->modelInfo()->text().contains(QLatin1String("parameters")));
    QSignalSpy estimated(e->estimate(), &EstimatePanel::updated);
    const int before = e->parses();
    e->setOverride(QStringLiteral("training.epochs"), QStringLiteral("2"));
    QVERIFY(estimated.wait(20000)); // the estimate followed the edit
    QTest::qWait(400);
    QCOMPARE(e->parses(), before + 1);
    auto *epochs = qobject_cast<QLineEdit *>(form->editor(QStringLiteral("training.epochs")));
    QVERIFY(epochs);
    QCOMPARE(epochs->text(), QStringLiteral("2")); // the form shows the edit
    QVERIFY(window.startExperiment().isEmpty());
    QCOMPARE(e->parses(), before + 1); // Start and the monitor used the same parse
    QSignalSpy finished(window.session(), &TrainingSession::finished);
    window.session()->stop();
    QVERIFY(finished.wait(60000));
  }

  // Closing the window stops a run wherever it is — preparing its data (1,500 long reviews take
  // seconds to clean and tokenize), inside a validation (after every step here; one takes
  // seconds), between training steps — and the window is gone within 2 s. The run is left stopped
  // in the history, never "running".
  void closesWithinTwoSeconds_data()
  {
    QTest::addColumn<QString>("when");
    QTest::newRow("preparing the data") << QStringLiteral("prepare");
    QTest::newRow("in a validation") << QStringLiteral("validation");
    QTest::newRow("training") << QStringLiteral("training");
  }
  void closesWithinTwoSeconds()
  {
    QFETCH(QString, when);
    const QString ws = m_root.filePath(QStringLiteral("close-") + when);
    auto *window = new MainWindow(ws);
    window->show();
    QVERIFY(QTest::qWaitForWindowExposed(window));
    ExperimentView *e = window->experiment();
    const QString reviews =
        tunebench::testing::assetPath(QStringLiteral("data/sentiment/pang-lee-reviews.csv"));
    e->setOverride(QStringLiteral("data.path"), QStringLiteral("\"%1\"").arg(reviews));
    e->setOverride(QStringLiteral("training.epochs"), QStringLiteral("1"));
    e->setOverride(QStringLiteral("training.batch_size"),
                   QStringLiteral("8")); // a step takes a fraction of a second
    e->setOverride(QStringLiteral("evaluation.every_steps"),
                   when == QLatin1String("validation") ? QStringLiteral("1") : QStringLiteral("0"));
    QSignalSpy planned(window->session(), &TrainingSession::planned);
    QSignalSpy steps(window->session(), &TrainingSession::steps);
    QElapsedTimer sinceStart;
    sinceStart.start();
    QVERIFY(window->startExperiment().isEmpty());
    if (when == QLatin1String("prepare")) {
      QTest::qWait(500);
      QCOMPARE(planned.count(), 0); // still preparing
    } else {
      QVERIFY(steps.wait(300000));
      // An unstoppable preparation would have kept the first row's window open past the limit.
      QVERIFY2(sinceStart.elapsed() > 2500, qPrintable(QString::number(sinceStart.elapsed())));
    }
    const QString runDir = window->session()->runDir();
    QElapsedTimer closing;
    closing.start();
    window->close();
    delete window;
    QVERIFY2(closing.elapsed() < 2000, qPrintable(QStringLiteral("%1 ms").arg(closing.elapsed())));
    RunStore store(ws.toStdString(), RunStore::Access::ReadOnly);
    const auto runs = store.list();
    QCOMPARE(runs.size(), std::size_t(1));
    QCOMPARE(QString::fromStdString(runs.front().status), QStringLiteral("stopped"));
    if (when == QLatin1String("validation")) { // stopped inside it: saved as due for the resume
      const auto state = nlohmann::json::parse(std::ifstream(runDir.toStdString() + "/state/trainer.json"));
      QCOMPARE(state.value("validation_due", false), true);
    }
  }

  void trainStopFindCompare()
  {
    MainWindow window(m_root.filePath(QStringLiteral("workspace")));
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    ExperimentView *e = window.experiment();
    QVERIFY(e->yaml().contains(QLatin1String("sentiment-use-lite"))); // the default experiment

    // The form: the default model described; the strategy shows only its own fields; a broken
    // value typed into a field is shown beside it and in the list with its line and range, and
    // nothing starts.
    ExperimentForm *form = e->form();
    window.tabs()->setCurrentWidget(e);
    QTRY_VERIFY(form->modelInfo()->text().contains(QLatin1String("use-lite")));
    QVERIFY(form->modelInfo()->text().contains(QLatin1String("parameters")));
    QVERIFY(!form->fieldVisible(QStringLiteral("strategy.lora.r")));
    choose(form, QStringLiteral("strategy.name"), QStringLiteral("adapters"));
    QVERIFY(form->fieldVisible(QStringLiteral("strategy.adapters.reduction")));
    QVERIFY(form->editor(QStringLiteral("strategy.adapters.reduction"))->isVisible());
    QVERIFY(!form->editor(QStringLiteral("strategy.lora.r"))->isVisible());
    QVERIFY(form->editor(QStringLiteral("training.batch_size"))->toolTip().contains(QStringLiteral("1 – 4096")));
    type(form, QStringLiteral("training.batch_size"), QStringLiteral("0"));
    QVERIFY2(form->problem(QStringLiteral("training.batch_size")).contains(QLatin1String("between 1 and 4096")),
             qPrintable(form->problem(QStringLiteral("training.batch_size"))));
    QVERIFY(!window.startExperiment().isEmpty());
    QVERIFY(e->problems()->count() >= 1);
    QVERIFY(e->problems()->item(0)->text().contains(QLatin1String("training.batch_size: must be between 1 and 4096")));

    shrink(window, QStringLiteral("4"));
    QTest::mouseClick(e->startButton(), Qt::LeftButton);
    QVERIFY2(window.session()->running(), qPrintable(e->problems()->item(0)->text()));
    QCOMPARE(window.tabs()->currentWidget(), window.monitor());
    QTRY_VERIFY_WITH_TIMEOUT(window.monitor()->trainPoints() >= 4, 120000);
    QTRY_VERIFY_WITH_TIMEOUT(window.monitor()->validationPoints() >= 1, 120000);
    QVERIFY(e->stopButton()->isEnabled());
    QSignalSpy finished(window.session(), &TrainingSession::finished);
    QTest::mouseClick(e->stopButton(), Qt::LeftButton);
    QVERIFY(finished.wait(120000));
    QCOMPARE(finished.front().at(0).toString(), QStringLiteral("stopped"));
    QVERIFY(e->startButton()->isEnabled());

    // The monitor's views of the same points: epochs on the x-axis (a one-epoch run stays within
    // 0–1), a log-scale loss axis, raw (unsmoothed) loss, and the over-fitting region shaded
    // from the step a diagnosis names.
    MonitorView *monitor = window.monitor();
    const double lastStep = monitor->lastTrainPoint().x();
    QVERIFY(lastStep >= 4);
    monitor->setEpochAxis(true);
    QVERIFY2(monitor->lastTrainPoint().x() > 0 && monitor->lastTrainPoint().x() <= 1.0 + 1e-9,
             qPrintable(QString::number(monitor->lastTrainPoint().x())));
    monitor->setEpochAxis(false);
    QCOMPARE(monitor->lastTrainPoint().x(), lastStep);
    monitor->setLogScale(true);
    QVERIFY(monitor->logScale());
    QCOMPARE(monitor->trainPoints(), static_cast<int>(lastStep));
    monitor->setLogScale(false);
    QVERIFY(!monitor->overfittingShaded());
    Diagnosis overfit;
    overfit.kind = Diagnosis::Kind::Overfitting;
    overfit.step = 2;
    overfit.title = "Over-fitting";
    monitor->addDiagnosis(overfit);
    QVERIFY(monitor->overfittingShaded());
    QVERIFY(monitor->banner().contains(QLatin1String("Over-fitting")));

    // The stopped run is in the history.
    QTableWidget *runs = window.history()->runs();
    QCOMPARE(runs->rowCount(), 1);
    QCOMPARE(runs->item(0, 2)->text(), QStringLiteral("stopped"));
    QCOMPARE(runs->item(0, 3)->text(), QStringLiteral("lora"));

    // A second run with another rank, to the end.
    shrink(window, QStringLiteral("8"));
    QVERIFY(window.startExperiment().isEmpty());
    QVERIFY(finished.wait(240000));
    QCOMPARE(finished.back().at(0).toString(), QStringLiteral("finished"));
    QCOMPARE(runs->rowCount(), 2);

    window.history()->compare({1, 2});
    QTableWidget *diff = window.history()->diff();
    QStringList keys;
    for (int r = 0; r < diff->rowCount(); ++r)
      keys << diff->verticalHeaderItem(r)->text();
    QVERIFY2(keys.contains(QStringLiteral("strategy.lora.r")), qPrintable(keys.join(QLatin1Char(','))));
    QVERIFY(!keys.contains(QStringLiteral("training.epochs"))); // only what differs
    const int row = static_cast<int>(keys.indexOf(QStringLiteral("strategy.lora.r")));
    QCOMPARE(diff->item(row, 0)->text(), QStringLiteral("4"));
    QCOMPARE(diff->item(row, 1)->text(), QStringLiteral("8"));
    QVERIFY(window.history()->overlaySeries() >= 2);

    // Notes and tags show in the table; cloning run 1 puts its config in the Experiment tab.
    window.history()->setNotesAndTags(1, QStringLiteral("first try\nstopped early"), {QStringLiteral("baseline")});
    bool tagged = false;
    for (int r = 0; r < runs->rowCount(); ++r)
      if (runs->item(r, 0)->text() == QLatin1String("1"))
        tagged = runs->item(r, 9)->text() == QLatin1String("baseline") && runs->item(r, 10)->text() == QLatin1String("first try");
    QVERIFY(tagged);
    e->setOverride(QStringLiteral("strategy.name"), QStringLiteral("full"));
    window.history()->selectRun(1);
    QTest::mouseClick(window.history()->findChild<QPushButton *>(QStringLiteral("CloneButton")), Qt::LeftButton);
    QCOMPARE(window.tabs()->currentWidget(), e);
    QCOMPARE(configValue(e, "strategy.name"), QStringLiteral("lora"));
    QCOMPARE(configValue(e, "strategy.lora.r"), QStringLiteral("4"));

    // The finished run in the Evaluate tab: its confusion heat map and per-class scores on the test
    // split (24 sentences), then a playground prediction with both labels' probabilities.
    EvaluationView *ev = window.evaluation();
    QCOMPARE(ev->runsBox()->count(), 1); // finished runs only (not the stopped one)
    QSignalSpy evaluated(ev, &EvaluationView::evaluated);
    window.tabs()->setCurrentWidget(ev);
    QTest::mouseClick(ev->findChild<QPushButton *>(QStringLiteral("EvaluateButton")), Qt::LeftButton);
    QVERIFY(evaluated.wait(120000));
    QVERIFY2(evaluated.front().at(0).toBool(), qPrintable(ev->summary()->text()));
    QCOMPARE(ev->heatMap()->cellCount(), 4);
    QTableWidget *perClass = ev->perClass();
    QCOMPARE(perClass->rowCount(), 2);
    int support = 0;
    for (int r = 0; r < perClass->rowCount(); ++r)
      support += perClass->item(r, 4)->data(Qt::DisplayRole).toInt();
    QCOMPARE(support, 24);
    QVERIFY(ev->summary()->text().contains(QLatin1String("accuracy")));
    QSignalSpy predicted(ev, &EvaluationView::predicted);
    QLineEdit *text = ev->findChild<QLineEdit *>(QStringLiteral("PlaygroundText"));
    QTest::keyClicks(text, QStringLiteral("a gorgeous, witty and moving film"));
    QTest::keyClick(text, Qt::Key_Return);
    QVERIFY(predicted.wait(60000));
    QVERIFY(predicted.front().at(0).toBool());
    const QString output = ev->playgroundOutput()->toPlainText();
    for (int r = 0; r < perClass->rowCount(); ++r)
      QVERIFY2(output.contains(perClass->item(r, 0)->text()), qPrintable(output));
  }
};

QTEST_MAIN(TestWorkbench)
#include "tst_workbench.moc"
