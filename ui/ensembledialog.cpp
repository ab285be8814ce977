#include "ui/ensembledialog.h"

#include "core/experiments/ensemble.h"
#include "ui/tablecsv.h"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

#include <memory>
#include <optional>
#include <set>
#include <string>

namespace tunebench {

EnsembleDialog::EnsembleDialog(QWidget *parent)
  : QDialog(parent)
{
  setWindowTitle(tr("Ensemble of runs"));
  m_status = new QLabel(this);
  m_status->setWordWrap(true);
  m_table = new QTableWidget(0, 0, this);
  m_table->setObjectName(QStringLiteral("EnsembleTable"));
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  addCsvExport(m_table);
  auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto *layout = new QVBoxLayout(this);
  layout->addWidget(m_status);
  layout->addWidget(m_table, 1);
  layout->addWidget(buttons);
  resize(720, 320);
}

EnsembleDialog::~EnsembleDialog()
{
  m_thread.stopAndWait();
}

void EnsembleDialog::start(const std::vector<std::pair<std::int64_t, std::filesystem::path>> &runs)
{
  m_status->setText(tr("Averaging the class probabilities of %1 runs on their test split…").arg(runs.size()));
  m_table->setRowCount(0);
  struct Outcome
  {
    std::optional<EnsembleResult> result;
    QString error;
  };
  std::vector<std::filesystem::path> folders;
  for (const auto &r : runs)
    folders.push_back(r.second);
  runInBackground(
      this, m_thread,
      [folders] {
        auto out = std::make_shared<Outcome>();
        try {
          out->result = ensembleRuns(folders, "test");
        } catch (const std::exception &e) {
          out->error = QString::fromUtf8(e.what());
        }
        return out;
      },
      [this, runs](const std::shared_ptr<Outcome> &out) {
        if (!out->result) {
          m_status->setText(tr("No ensemble: %1").arg(out->error));
          Q_EMIT done(false);
          return;
        }
        const EnsembleResult &e = *out->result;
        std::set<std::string> names;
        for (const auto &[k, v] : e.metrics)
          names.insert(k);
        QStringList headers = {tr("model")};
        for (const std::string &n : names)
          headers << QString::fromStdString("test " + n);
        m_table->setColumnCount(static_cast<int>(headers.size()));
        m_table->setHorizontalHeaderLabels(headers);
        m_table->setRowCount(static_cast<int>(e.members.size()) + 1);
        auto fill = [&](int row, const QString &name, const std::map<std::string, double> &metrics) {
          m_table->setItem(row, 0, new QTableWidgetItem(name));
          int c = 1;
          for (const std::string &n : names) {
            const auto it = metrics.find(n);
            m_table->setItem(row, c++,
                             new QTableWidgetItem(it == metrics.end() ? QStringLiteral("-")
                                                                      : QString::number(it->second, 'f', 4)));
          }
        };
        for (std::size_t i = 0; i < e.members.size(); ++i)
          fill(static_cast<int>(i), tr("run %1").arg(runs[i].first), e.members[i].metrics);
        fill(static_cast<int>(e.members.size()), tr("ensemble (mean probabilities)"), e.metrics);
        QFont bold = m_table->font();
        bold.setBold(true);
        for (int c = 0; c < m_table->columnCount(); ++c)
          m_table->item(static_cast<int>(e.members.size()), c)->setFont(bold);
        m_table->resizeColumnsToContents();
        m_status->setText(
            tr("%1 runs, %2 test rows: the ensemble's class probabilities are the members' mean.")
                .arg(e.members.size())
                .arg(e.probabilities.size()));
        Q_EMIT done(true);
      });
}

} // namespace tunebench
