#include "ui/exportdialog.h"

#include "core/config/experiment.h"
#include "core/export/exporter.h"
#include "core/train/trainedrun.h"
#include "ui/tablecsv.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QStandardItemModel>
#include <QTableWidget>
#include <QVBoxLayout>

#include <filesystem>
#include <memory>

namespace tunebench {

namespace {

struct Format
{
  const char *name;
  const char *label;
  const char *help;
};

const Format kFormats[] = {
    {"hf", "Hugging Face folder",
     "config.json, model.safetensors under the reference class's names and the tokenizer files; a LoRA or "
     "IA3 "
     "update is merged into the weights."},
    {"merged", "Merged LoRA / IA3",
     "The LoRA or IA3 update merged into the base weights: a plain Hugging Face folder."},
    {"peft", "PEFT adapter",
     "adapter_config.json + adapter_model.safetensors in PEFT's layout (LoRA, IA3, prefix, prompt), the "
     "trained "
     "head under modules_to_save; loads onto its base model (strategy.adapter)."},
    {"tunebench", "tunebench layout",
     "Every tensor under tunebench's own names, the strategy as trained (any run); tunebench.yaml names the "
     "base."},
    {"onnx", "ONNX",
     "model.onnx (opset 17; input_ids and attention_mask with dynamic batch and sequence, logits out), "
     "checked in "
     "onnxruntime; BERT, RoBERTa, DistilBERT, USE-Lite and GPT-2 classifiers and taggers, GPT-2 language "
     "models."}};

} // namespace

ExportDialog::ExportDialog(const QString &runDir, QWidget *parent)
  : QDialog(parent)
  , m_runDir(runDir)
{
  setWindowTitle(tr("Export %1").arg(QDir(runDir).dirName()));
  m_format = new QComboBox(this);
  m_format->setObjectName(QStringLiteral("ExportFormat"));
  m_int8 = new QCheckBox(tr("int8 (dynamic quantisation: int8 weights, a quarter of the size)"), this);
  m_int8->setObjectName(QStringLiteral("ExportInt8"));
  m_int8->setToolTip(tr("ONNX: linear maps and embedding tables in int8, activations quantised as they come; "
                        "checked by the agreement of its labels with the fp32 run's (at least 95%)"));
  m_help = new QLabel(this);
  m_help->setWordWrap(true);
  m_folder = new QLineEdit(this);
  m_folder->setObjectName(QStringLiteral("ExportFolder"));
  auto *browse = new QPushButton(tr("Browse…"), this);
  auto *folderRow = new QHBoxLayout;
  folderRow->addWidget(m_folder, 1);
  folderRow->addWidget(browse);
  auto *form = new QFormLayout;
  form->addRow(tr("Format:"), m_format);
  form->addRow(QString(), m_help);
  form->addRow(QString(), m_int8);
  form->addRow(tr("Folder:"), folderRow);
  m_progress = new QProgressBar(this);
  m_progress->setRange(0, 0);
  m_progress->setVisible(false);
  m_status = new QLabel(
      tr("The export is checked against the run on its validation rows before it is reported."), this);
  m_status->setObjectName(QStringLiteral("ExportStatus"));
  m_status->setWordWrap(true);
  m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_table = new QTableWidget(0, 2, this);
  m_table->setObjectName(QStringLiteral("ExportVerification"));
  m_table->setHorizontalHeaderLabels({tr("check"), tr("value")});
  m_table->horizontalHeader()->setStretchLastSection(true);
  m_table->verticalHeader()->hide();
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  addCsvExport(m_table);
  auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  m_export = buttons->addButton(tr("&Export"), QDialogButtonBox::AcceptRole);
  m_export->setObjectName(QStringLiteral("ExportButton"));
  auto *layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(m_progress);
  layout->addWidget(m_status);
  layout->addWidget(m_table, 1);
  layout->addWidget(buttons);
  resize(640, 460);
  offerFormats();
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(m_export, &QPushButton::clicked, this, &ExportDialog::start);
  connect(browse, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export into"), m_folder->text());
    if (!dir.isEmpty())
      m_folder->setText(dir + QStringLiteral("/") + QDir(m_runDir).dirName() + QStringLiteral("-") +
                        m_format->currentData().toString());
  });
  connect(m_format, &QComboBox::currentIndexChanged, this, [this](int i) {
    m_int8->setEnabled(m_format->itemData(i).toString() == QLatin1String("onnx"));
    m_help->setText(m_format->itemData(i, Qt::ToolTipRole).toString());
    m_folder->setText(m_runDir + QStringLiteral("/export-") + m_format->itemData(i).toString());
  });
  m_int8->setEnabled(m_format->currentData().toString() == QLatin1String("onnx"));
  m_help->setText(m_format->itemData(m_format->currentIndex(), Qt::ToolTipRole).toString());
  m_folder->setText(m_runDir + QStringLiteral("/export-") + m_format->currentData().toString());
}

ExportDialog::~ExportDialog()
{
  m_thread.stopAndWait();
}

// Every format, those the run cannot leave in disabled with the reason; the first usable chosen.
void ExportDialog::offerFormats()
{
  const ConfigResult cfg =
      loadExperimentConfig(std::filesystem::path(m_runDir.toStdString()) / "config.yaml");
  auto *model = qobject_cast<QStandardItemModel *>(m_format->model());
  int first = -1;
  for (const Format &f : kFormats) {
    m_format->addItem(tr(f.label), QString::fromLatin1(f.name));
    const int i = m_format->count() - 1;
    const QString why = cfg.ok()
                            ? QString::fromStdString(exportUnavailable(parseExportFormat(f.name), cfg.config))
                            : QString();
    m_format->setItemData(i, why.isEmpty() ? tr(f.help) : tr("Not for this run: %1.").arg(why),
                          Qt::ToolTipRole);
    if (!why.isEmpty())
      model->item(i)->setEnabled(false);
    else if (first < 0)
      first = i;
  }
  m_format->setCurrentIndex(std::max(first, 0));
}

void ExportDialog::start()
{
  if (m_thread.running())
    return;
  const std::string runDir = m_runDir.toStdString(), folder = m_folder->text().toStdString();
  ExportOptions options;
  options.int8 = m_int8->isEnabled() && m_int8->isChecked();
  try {
    options.format = parseExportFormat(m_format->currentData().toString().toStdString());
  } catch (const std::exception &e) {
    m_status->setText(QString::fromUtf8(e.what()));
    return;
  }
  m_export->setEnabled(false);
  m_progress->setVisible(true);
  m_table->setRowCount(0);
  m_status->setText(tr("Opening the run…"));
  QPointer<QLabel> status = m_status;
  struct Outcome
  {
    QString verification, error, folder;
  };
  runInBackground(
      this, m_thread,
      [runDir, folder, options, status] {
        auto out = std::make_shared<Outcome>();
        try {
          auto run = TrainedRun::open(runDir);
          const ExportOutcome done = exportRun(*run, folder, options, [status](const std::string &step) {
            QMetaObject::invokeMethod(status, [status, step] {
              if (status)
                status->setText(QString::fromStdString(step) + QStringLiteral("…"));
            });
          });
          out->verification = QString::fromStdString(done.verification.dump());
          out->folder = QString::fromStdString(done.folder.string());
        } catch (const std::exception &e) {
          out->error = QString::fromUtf8(e.what());
        }
        return out;
      },
      [this](const std::shared_ptr<Outcome> &out) {
        m_progress->setVisible(false);
        m_export->setEnabled(true);
        if (!out->error.isEmpty()) {
          m_status->setText(tr("Not exported: %1").arg(out->error));
          Q_EMIT done(false);
          return;
        }
        showVerification(out->verification);
        m_status->setText(tr("Written and verified: %1").arg(out->folder));
        Q_EMIT done(true);
      });
}

void ExportDialog::showVerification(const QString &text)
{
  const QJsonObject v = QJsonDocument::fromJson(text.toUtf8()).object();
  const auto number = [&](const char *key, int digits = 4) {
    return v.value(QLatin1String(key)).isDouble()
               ? QString::number(v.value(QLatin1String(key)).toDouble(), 'g', digits)
               : QStringLiteral("-");
  };
  const QJsonObject info = v.value(QStringLiteral("export")).toObject();
  QList<QPair<QString, QString>> rows = {
      {tr("result"), v.value(QStringLiteral("passed")).toBool() ? tr("passed") : tr("FAILED")},
      {tr("layout"), info.value(QStringLiteral("layout")).toString() +
                         (info.value(QStringLiteral("merged")).isString()
                              ? tr("; the %1 update merged into the weights")
                                    .arg(info.value(QStringLiteral("merged")).toString())
                              : QString())},
      {tr("checked on"),
       tr("%1 validation rows, %2").arg(number("rows", 6), v.value(QStringLiteral("engine")).toString())},
      {tr("max |logit difference|"),
       tr("%1 (tolerance %2)").arg(number("max_abs_logit_difference", 3), number("tolerance", 3))},
      {tr("predicted labels agree"), number("label_agreement")},
      {tr("loss: export / run"), number("loss_export") + QStringLiteral(" / ") + number("loss_run")},
      {tr("accuracy: export / run"),
       number("accuracy_export") + QStringLiteral(" / ") + number("accuracy_run")}};
  if (info.contains(QStringLiteral("file_bytes")))
    rows.append({tr("model file"),
                 tr("%1 MB (the fp32 weights: %2 MB)")
                     .arg(info.value(QStringLiteral("file_bytes")).toDouble() / 1e6, 0, 'f', 1)
                     .arg(info.value(QStringLiteral("fp32_weight_bytes")).toDouble() / 1e6, 0, 'f', 1)});
  if (v.contains(QStringLiteral("criterion")))
    rows.append({tr("criterion"), v.value(QStringLiteral("criterion")).toString()});
  m_table->setRowCount(static_cast<int>(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    m_table->setItem(r, 0, new QTableWidgetItem(rows[r].first));
    m_table->setItem(r, 1, new QTableWidgetItem(rows[r].second));
  }
  m_table->item(0, 1)->setForeground(v.value(QStringLiteral("passed")).toBool() ? QColor(0, 128, 0)
                                                                                : QColor(192, 0, 0));
  m_table->resizeColumnToContents(0);
}

} // namespace tunebench
