// The workbench driven through its real widgets (offscreen): load the default experiment, choose
// LoRA and change r, start a short run, see points arrive on the charts, stop it, find it in the
// history, run a second one, compare the two and read the config diff, evaluate the finished one
// (confusion heat map, per-class table) and ask the playground about a sentence.
#include "core/config/experiment.h"
#include "core/data/dataset.h"
#include "core/export/exporter.h"
#include "core/runs/runstore.h"
#include "core/train/trainedrun.h"
#include "core/train/trainer.h"
#include "support/cli.h"
#include "support/golden.h"
#include "support/guitest.h"
#include "support/runfiles.h"
#include "ui/columnmapping.h"
#include "ui/datasetview.h"
#include "ui/estimatepanel.h"
#include "ui/evaluationview.h"
#include "ui/experimentform.h"
#include "ui/experimentview.h"
#include "ui/generationcontrols.h"
#include "ui/historyview.h"
#include "ui/labelling.h"
#include "ui/mainwindow.h"
#include "ui/monitorview.h"
#include "ui/trainingsession.h"

#include <QChart>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFont>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>
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
    tunebench::testing::isolateSettings(QStringLiteral("tst_workbench"));
    QVERIFY2(tunebench::testing::useFetchedAssets(), "USE-Lite is missing: run packaging/fetch-assets.sh");
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
    QVERIFY2(panel->text()->text().contains(QLatin1String("activation checkpointing")),
             qPrintable(panel->text()->text()));
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

  // An instruction run (a tiny GPT-2 from scratch on quiz questions) and a text-to-text run (a tiny
  // T5), each trained from the GUI, in the Evaluate tab: greedy answers beside the reference answers.
  void instructionGenerations_data()
  {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("task");
    QTest::newRow("gpt2 instruction")
        << QStringLiteral("$ASSETS/tokenizers/gpt2") << QStringLiteral("{kind: instruction}");
    QTest::newRow("t5 seq2seq") << QStringLiteral("$ASSETS/tokenizers/bert-base-uncased")
                                << QStringLiteral("{kind: seq2seq, template: plain}");
  }
  void instructionGenerations()
  {
    QFETCH(QString, model);
    QFETCH(QString, task);
    MainWindow window(m_root.filePath(QStringLiteral("instruction-workspace-") + task.mid(7, 3)));
    ExperimentView *e = window.experiment();
    e->setYaml(
        QStringLiteral(
            "name: quiz-tiny\nseed: 42\n"
            "model: {path: %1, init: random, max_length: 48, scratch: {layers: 1, hidden: 32, heads: 2}}\n"
            "task: %2\n"
            "data: {path: $ASSETS/data/instructions/quiz.jsonl, subset_rows: 80,\n"
            "       split: {train: 0.8, validation: 0.1, test: 0.1, stratified: false}}\n"
            "training: {epochs: 1, batch_size: 16, learning_rate: 1.0e-3}\n"
            "evaluation: {metric: loss, generate: 5, max_new_tokens: 6}\n"
            "output: {runs: $WORKSPACE/runs}\n")
            .arg(model, task));
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

    // The playground generates as its decoding fields say, and answers what the CLI answers with
    // the same options.
    GenerationControls *controls = ev->generationControls();
    QVERIFY(!controls->isHidden());
    QSignalSpy predicted(ev, &EvaluationView::predicted);
    const QString question = QStringLiteral("What is the capital of France?");
    const auto ask = [&] {
      ev->predict(question);
      return predicted.wait(60000) && predicted.back().at(0).toBool() ? ev->playgroundOutput()->toPlainText()
                                                                      : QString();
    };
    const auto cliAnswer = [&](const QStringList &options) {
      const auto r = tunebench::testing::runCli(
          qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli"),
          QStringList{QStringLiteral("predict"), ev->runsBox()->itemData(0).toString(),
                      QStringLiteral("--json"), QStringLiteral("--text"), question} +
              options,
          QProcessEnvironment::systemEnvironment());
      return r.exitCode == 0 ? r.json().value(QLatin1String("labels")).toArray().first().toString() : r.err;
    };
    const QString greedy = ask();
    QCOMPARE(greedy.trimmed(), cliAnswer({}).trimmed());
    controls->mode()->setCurrentIndex(controls->mode()->findData(QStringLiteral("beam")));
    QVERIFY(controls->findChild<QSpinBox *>(QStringLiteral("Beams"))->isEnabled());
    QVERIFY(!controls->findChild<QDoubleSpinBox *>(QStringLiteral("Temperature"))->isEnabled());
    QCOMPARE(ask().trimmed(), cliAnswer({QStringLiteral("--beam"), QStringLiteral("4")}).trimmed());
    controls->mode()->setCurrentIndex(controls->mode()->findData(QStringLiteral("sample")));
    controls->findChild<QDoubleSpinBox *>(QStringLiteral("Temperature"))->setValue(1.5);
    controls->findChild<QSpinBox *>(QStringLiteral("Seed"))->setValue(1);
    const QString sampled = ask();
    QCOMPARE(ask(), sampled); // the same seed
    QCOMPARE(sampled.trimmed(),
             cliAnswer({QStringLiteral("--temperature"), QStringLiteral("1.5"), QStringLiteral("--top-p"),
                        QStringLiteral("0.9"), QStringLiteral("--seed"), QStringLiteral("1")})
                 .trimmed());
    QStringList others;
    for (int seed : {2, 3, 4}) {
      controls->findChild<QSpinBox *>(QStringLiteral("Seed"))->setValue(seed);
      others << ask();
    }
    QVERIFY2(others.count(sampled) < 3, qPrintable(others.join(QLatin1Char('|'))));
  }

  // A run with the forgetting meter on (a classifier on a tiny BERT pre-trained here with masked
  // LM, the reviews as reference text) trained from the GUI: the Monitor's forgetting chart holds
  // the value before training and one point per validation, the last one the run's own.
  void forgettingChart()
  {
    const ConfigResult mlm = parseExperimentConfig(
        "name: mlm\nseed: 1\n"
        "model: {path: $ASSETS/tokenizers/bert-base-uncased, init: random, max_length: 32,\n"
        "        scratch: {layers: 1, hidden: 32, heads: 2}}\n"
        "task: {kind: masked_lm}\n"
        "data: {path: $ASSETS/data/sentiment/pang-lee-reviews.csv, columns: {text: text}, subset_rows: 40,\n"
        "       split: {train: 0.8, validation: 0.1, test: 0.1, stratified: false}}\n"
        "training: {epochs: 1, batch_size: 16, learning_rate: 2.0e-3}\n"
        "evaluation: {metric: loss}\n",
        m_root.path().toStdString());
    QVERIFY(mlm.ok());
    const std::filesystem::path runDir = m_root.filePath(QStringLiteral("tiny-mlm")).toStdString();
    Trainer(mlm.config, runDir).run();
    const QString bert = m_root.filePath(QStringLiteral("tiny-bert"));
    exportRun(*TrainedRun::open(runDir), bert.toStdString(), {});

    MainWindow window(m_root.filePath(QStringLiteral("forgetting-workspace")));
    window.experiment()->setYaml(
        QStringLiteral("name: forgetting\nseed: 2\nmodel: {path: %1, max_length: 32}\n"
                       "data: {path: $ASSETS/data/sentiment/pang-lee-sentences.csv, subset_rows: 120}\n"
                       "training: {epochs: 1, batch_size: 16, learning_rate: 1.0e-3}\n"
                       "evaluation: {every_steps: 2, metric: accuracy, early_stopping: {patience: 0}}\n"
                       "forgetting: {reference: $ASSETS/data/sentiment/pang-lee-reviews.csv, rows: 8}\n"
                       "output: {runs: $WORKSPACE/runs}\n")
            .arg(bert));
    QSignalSpy finished(window.session(), &TrainingSession::finished);
    const QStringList problems = window.startExperiment();
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
    QVERIFY(finished.wait(240000));
    QCOMPARE(finished.back().at(0).toString(), QStringLiteral("finished"));
    const std::filesystem::path run = window.history()->runs()->rowCount() > 0
                                          ? std::filesystem::path(window.session()->runDir().toStdString())
                                          : std::filesystem::path();
    int validations = 0;
    for (const nlohmann::json &e : tunebench::testing::runEvents(run, "eval"))
      validations += e["split"] == "validation";
    QVERIFY(validations >= 3);
    QCOMPARE(window.monitor()->referencePoints(), validations + 1);
    const auto results = nlohmann::json::parse(std::ifstream(run / "results.json"));
    QVERIFY(results["forgetting"]["before"].get<double>() > 0);
  }

  // History → Resume on a run stopped in the GUI continues it to the end the CLI reaches with the
  // same config uninterrupted: the same step losses and the same test metrics.
  void resumeFromHistoryEndsLikeTheCli()
  {
    const QString workspace = m_root.filePath(QStringLiteral("resume-workspace"));
    MainWindow window(workspace);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    shrink(window, QStringLiteral("4"));
    QSignalSpy finished(window.session(), &TrainingSession::finished);
    QVERIFY(window.startExperiment().isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(window.monitor()->trainPoints() >= 4, 120000);
    QTest::mouseClick(window.experiment()->stopButton(), Qt::LeftButton);
    QVERIFY(finished.wait(120000));
    QCOMPARE(finished.back().at(0).toString(), QStringLiteral("stopped"));

    const QStringList stoppedRuns =
        QDir(workspace + QStringLiteral("/runs")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    QCOMPARE(stoppedRuns.size(), 1);
    const std::size_t stoppedAt =
        tunebench::testing::stepLosses(
            (workspace + QStringLiteral("/runs/") + stoppedRuns.front()).toStdString())
            .size();
    QVERIFY(stoppedAt >= 4);
    long firstStepAfterResume = -1; // continued, not started again
    connect(window.session(), &TrainingSession::steps, this, [&](const std::vector<StepEvent> &batch) {
      if (firstStepAfterResume < 0 && !batch.empty())
        firstStepAfterResume = batch.front().step;
    });

    HistoryView *history = window.history();
    window.tabs()->setCurrentWidget(history);
    QCOMPARE(history->runs()->rowCount(), 1);
    history->selectRun(1);
    QVERIFY(history->resumeButton()->isEnabled());
    QTest::mouseClick(history->resumeButton(), Qt::LeftButton);
    QVERIFY(window.session()->running());
    QVERIFY(finished.wait(240000));
    QCOMPARE(finished.back().at(0).toString(), QStringLiteral("finished"));
    QCOMPARE(firstStepAfterResume, static_cast<long>(stoppedAt) + 1);
    const QStringList folders =
        QDir(workspace + QStringLiteral("/runs")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    QCOMPARE(folders.size(), 1);
    const std::filesystem::path resumed =
        (workspace + QStringLiteral("/runs/") + folders.front()).toStdString();

    const QString cliDir = m_root.filePath(QStringLiteral("resume-cli"));
    const auto cli = tunebench::testing::runCli(
        qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli"),
        {QStringLiteral("train"), QString::fromStdString((resumed / "config.yaml").string()),
         QStringLiteral("--run-dir"), cliDir, QStringLiteral("--quiet"), QStringLiteral("--json")},
        QProcessEnvironment::systemEnvironment());
    QVERIFY2(cli.exitCode == 0, qPrintable(cli.err));
    const std::vector<double> gui = tunebench::testing::stepLosses(resumed);
    const std::vector<double> whole = tunebench::testing::stepLosses(cliDir.toStdString());
    QCOMPARE(gui.size(), whole.size());
    QVERIFY(gui.size() > 4);
    for (std::size_t i = 0; i < gui.size(); ++i)
      QVERIFY2(std::abs(gui[i] - whole[i]) < 1e-6, qPrintable(QStringLiteral("step %1").arg(i + 1)));
    std::ifstream in(resumed / "results.json");
    const nlohmann::json results = nlohmann::json::parse(in);
    const QJsonObject cliTest =
        cli.json().value(QLatin1String("test")).toObject().value(QLatin1String("metrics")).toObject();
    QVERIFY(!cliTest.isEmpty());
    for (const QString &metric : {QStringLiteral("accuracy"), QStringLiteral("macro_f1")})
      QVERIFY2(std::abs(results["test"]["metrics"][metric.toStdString()].get<double>() -
                        cliTest.value(metric).toDouble()) < 1e-9,
               qPrintable(metric));
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
