// The Data tab through its real widgets (offscreen): a data file's table, filters, charts and
// validation report; and the rows, labels and splits it shows for an experiment are exactly what
// the run trains on.
#include "core/config/experiment.h"
#include "core/data/dataset.h"
#include "core/export/exporter.h"
#include "core/train/trainedrun.h"
#include "core/train/trainer.h"
#include "support/golden.h"
#include "support/guitest.h"
#include "ui/columnmapping.h"
#include "ui/datasetview.h"
#include "ui/experimentview.h"
#include "ui/labelling.h"
#include "ui/mainwindow.h"

#include <QChart>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QUndoStack>
#include <QtTest/QtTest>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace tunebench;

class TestDataTab : public QObject
{
  Q_OBJECT

  QTemporaryDir m_root;

private Q_SLOTS:
  void initTestCase()
  {
    tunebench::testing::isolateSettings(QStringLiteral("tst_datatab"));
    QVERIFY2(tunebench::testing::useFetchedAssets(), "USE-Lite is missing: run packaging/fetch-assets.sh");
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
      QVERIFY(data->filter()->index(r, 1).data().toString().contains(QLatin1String("spiderman"),
                                                                     Qt::CaseInsensitive));
    data->setFilters({}, QStringLiteral("positive"), {});
    QCOMPARE(data->filter()->rowCount(), 2000);
    data->setFilters({}, {}, {});

    // Labelling: correct a label in the table (what the cell's editor does), undo, redo, save as
    // a new version in the workspace; the version reads back with the correction and the
    // original file still has the old label.
    DatasetModel *model = data->model();
    const QString before = model->index(0, 2).data().toString();
    const QString after =
        before == QLatin1String("positive") ? QStringLiteral("negative") : QStringLiteral("positive");
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
    const ConfigResult pointed =
        parseExperimentConfig(window.experiment()->yaml().toStdString(), window.workspaceDir().toStdString());
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

    ColumnMappingDialog missing(m_root.filePath(QStringLiteral("no-such.csv")),
                                QStringLiteral("single_label"));
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
      QVERIFY(
          QStringList({"synonym", "insertion", "swap", "deletion"}).contains(preview->item(r, 0)->text()));
      QVERIFY(preview->item(r, 1)->text() != preview->item(r, 2)->text());
    }

    QFile bad(m_root.filePath(QStringLiteral("bad.csv")));
    QVERIFY(bad.open(QIODevice::WriteOnly));
    bad.write("text,label\ngood one,positive\n,negative\nanother good one,negative\nno label "
              "here,\nfine,positive\n");
    bad.close();
    data->open(bad.fileName(), QStringLiteral("single_label"));
    QVERIFY(loaded.wait(60000));
    QCOMPARE(data->model()->rowCount(), 3); // the two broken rows are left out
    QVERIFY(data->report()->count() >= 2);
    QVERIFY(data->report()->item(0)->text().contains(QLatin1String("bad.csv:")));
    QVERIFY(data->jumpToIssue(0));
    QCOMPARE(data->table()->selectionModel()->selectedRows().size(), 1);
  }

  // An experiment that paraphrases its training rows with a T5 folder (a tiny one made here and
  // exported): the preview runs that model on the rows shown and lists each original beside its
  // paraphrase, as the run would make it.
  void previewParaphrases()
  {
    const ConfigResult t5 = parseExperimentConfig(
        "name: t5-tiny\nseed: 1\n"
        "model: {path: $ASSETS/tokenizers/bert-base-uncased, init: random, max_length: 24,\n"
        "        scratch: {layers: 1, hidden: 32, heads: 2}}\n"
        "task: {kind: seq2seq, template: plain}\n"
        "data: {path: $ASSETS/data/instructions/quiz.jsonl, subset_rows: 40,\n"
        "       split: {train: 0.8, validation: 0.1, test: 0.1, stratified: false}}\n"
        "training: {max_steps: 2, batch_size: 8}\n"
        "evaluation: {generate: 0}\n",
        m_root.path().toStdString());
    QVERIFY(t5.ok());
    const std::filesystem::path runDir = m_root.filePath(QStringLiteral("t5-run")).toStdString();
    Trainer(t5.config, runDir).run();
    const QString model = m_root.filePath(QStringLiteral("t5-tiny"));
    exportRun(*TrainedRun::open(runDir), model.toStdString(), {});

    MainWindow window(m_root.filePath(QStringLiteral("paraphrase-workspace")));
    window.experiment()->loadPreset(QStringLiteral("sentiment-use-lite"));
    window.experiment()->setOverride(QStringLiteral("data.subset_rows"), QStringLiteral("40"));
    window.experiment()->setOverride(QStringLiteral("data.augmentation.paraphrase.model"), model);
    DatasetView *data = window.data();
    QSignalSpy loaded(data, &DatasetView::loaded);
    QVERIFY(window.openExperimentData());
    QVERIFY(loaded.wait(120000));
    QVERIFY2(loaded.front().at(0).toBool(), qPrintable(data->summary()->text()));
    QSignalSpy augmented(data, &DatasetView::augmented);
    data->previewAugmentation(5);
    QVERIFY(augmented.wait(120000));
    QVERIFY2(augmented.front().at(0).toBool(), qPrintable(data->summary()->text()));
    QTableWidget *preview = data->augmentation();
    QVERIFY(preview->rowCount() >= 1);
    for (int r = 0; r < preview->rowCount(); ++r) {
      QCOMPARE(preview->item(r, 0)->text(), QStringLiteral("back-translation (t5-tiny)"));
      QVERIFY(!preview->item(r, 1)->text().isEmpty());
      QVERIFY(preview->item(r, 1)->text() != preview->item(r, 2)->text());
    }
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
};

QTEST_MAIN(TestDataTab)
#include "tst_datatab.moc"
