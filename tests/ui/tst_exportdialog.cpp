// The Export dialog (offscreen, through its buttons), on the guide's third case study in small: a
// GPT-2 instruction run trained from the Experiment tab, exported from History as a Hugging Face
// folder — the dialog shows the check as passed, the folder holds config.json, the weights,
// the tokenizer and verification.json — and `tunebench-cli predict` on the exported folder gives
// the answers predict gives on the run. Formats the run cannot leave in are greyed out.
#include "support/cli.h"
#include "support/guitest.h"
#include "ui/experimentview.h"
#include "ui/exportdialog.h"
#include "ui/historyview.h"
#include "ui/mainwindow.h"
#include "ui/trainingsession.h"

#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QStandardItemModel>
#include <QTableWidget>
#include <QtTest/QtTest>

using namespace tunebench;

class TestExportDialog : public QObject
{
  Q_OBJECT

  QTemporaryDir m_root;

private Q_SLOTS:
  void initTestCase()
  {
    tunebench::testing::isolateSettings(QStringLiteral("tst_exportdialog"));
    QVERIFY2(tunebench::testing::useFetchedAssets(), "assets are missing: run packaging/fetch-assets.sh");
  }

  void instructionRunToPredictFromTheExport()
  {
    MainWindow window(m_root.filePath(QStringLiteral("ws")));
    window.experiment()->setYaml(
        QStringLiteral("name: quiz-lora\nseed: 42\n"
                       "model: {path: $ASSETS/tokenizers/gpt2, init: random, max_length: 48, scratch: "
                       "{layers: 1, hidden: 32, heads: 2}}\n"
                       "task: {kind: instruction}\n"
                       "strategy: {name: lora, lora: {r: 4}}\n"
                       "data: {path: $ASSETS/data/instructions/quiz.jsonl, subset_rows: 80,\n"
                       "       split: {train: 0.8, validation: 0.1, test: 0.1, stratified: false}}\n"
                       "training: {epochs: 1, batch_size: 16, learning_rate: 3.0e-3}\n"
                       "evaluation: {metric: loss, generate: 0, max_new_tokens: 6}\n"
                       "output: {runs: $WORKSPACE/runs}\n"));
    QSignalSpy finished(window.session(), &TrainingSession::finished);
    const QStringList problems = window.startExperiment();
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
    QVERIFY(finished.wait(240000));
    QCOMPARE(finished.back().at(0).toString(), QStringLiteral("finished"));

    HistoryView *history = window.history();
    history->refresh();
    QCOMPARE(history->runs()->rowCount(), 1);
    history->runs()->selectRow(0);
    QTest::mouseClick(history->findChild<QPushButton *>(QStringLiteral("ExportButton")), Qt::LeftButton);
    auto *dialog = history->findChild<ExportDialog *>();
    QVERIFY(dialog);
    // A LoRA run: a Hugging Face folder (the update merged), merged, tunebench; no PEFT adapter on a
    // base initialised at random — greyed out, the reason in its tooltip.
    auto *model = qobject_cast<QStandardItemModel *>(dialog->format()->model());
    const int peft = dialog->format()->findData(QStringLiteral("peft"));
    QVERIFY(!model->item(peft)->isEnabled());
    QVERIFY(dialog->format()->itemData(peft, Qt::ToolTipRole).toString().contains(QLatin1String("random")));
    QCOMPARE(dialog->format()->currentData().toString(), QStringLiteral("hf"));
    const QString folder = m_root.filePath(QStringLiteral("quiz-export"));
    dialog->folder()->setText(folder);
    QSignalSpy done(dialog, &ExportDialog::done);
    QTest::mouseClick(dialog->findChild<QPushButton *>(QStringLiteral("ExportButton")), Qt::LeftButton);
    QVERIFY(done.wait(120000));
    QVERIFY2(done.back().at(0).toBool(), qPrintable(dialog->status()->text()));
    QCOMPARE(dialog->verification()->item(0, 1)->text(), QStringLiteral("passed"));
    for (const char *file : {"config.json", "model.safetensors", "vocab.json", "merges.txt",
                             "verification.json", "tunebench.yaml", "README.md"})
      QVERIFY2(QFile::exists(folder + QLatin1Char('/') + QLatin1String(file)), file);
    if (const QString dir = qEnvironmentVariable("TUNEBENCH_SCREENSHOTS"); !dir.isEmpty()) {
      dialog->resize(720, 480);
      QApplication::processEvents();
      QVERIFY(dialog->grab().save(dir + QStringLiteral("/export-dialog.png")));
    }

    // predict answers from the exported folder as from the run.
    const QString cli = qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli");
    const auto answer = [&](const QString &from) {
      const auto r = tunebench::testing::runCli(cli,
                                                {QStringLiteral("predict"), from, QStringLiteral("--json"),
                                                 QStringLiteral("--text"),
                                                 QStringLiteral("What is the capital of France?")},
                                                QProcessEnvironment::systemEnvironment());
      return r.exitCode == 0 ? r.json().value(QLatin1String("labels")).toArray().first().toString()
                             : QStringLiteral("error: ") + r.err;
    };
    const QDir runs(m_root.filePath(QStringLiteral("ws/runs")));
    const QStringList runFolders = runs.entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    QCOMPARE(runFolders.size(), 1);
    const QString fromRun = answer(runs.filePath(runFolders.front()));
    const QString fromExport = answer(folder);
    QVERIFY2(!fromExport.startsWith(QLatin1String("error: ")), qPrintable(fromExport));
    QCOMPARE(fromExport, fromRun);
  }
};

QTEST_MAIN(TestExportDialog)
#include "tst_exportdialog.moc"
