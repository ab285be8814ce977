#include "ui/environmentview.h"

#include "core/runtime/runtime.h"

#include <QHeaderView>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace tunebench {

EnvironmentView::EnvironmentView(QWidget *parent) : QWidget(parent), m_tree(new QTreeWidget(this))
{
  m_tree->setColumnCount(2);
  m_tree->setHeaderLabels({tr("Component"), tr("Value")});
  m_tree->setRootIsDecorated(false);
  m_tree->setAlternatingRowColors(true);
  m_tree->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  auto *layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_tree);
}

void EnvironmentView::setInfo(const RuntimeInfo &info, const QString &qtVersion)
{
  m_tree->clear();
  auto add = [this](const QString &key, const QString &value, bool warn = false) {
    auto *item = new QTreeWidgetItem(m_tree, {key, value});
    item->setToolTip(1, value);
    if (warn) {
      item->setForeground(1, QBrush(Qt::red));
      item->setIcon(1, style()->standardIcon(QStyle::SP_MessageBoxWarning));
    }
  };
  const auto s = [](const std::string &text) { return QString::fromStdString(text); };
  add(tr("tunebench"), s(info.tunebenchVersion));
  add(tr("Qt"), qtVersion);
  add(tr("LibTorch"), s(info.torchVersion));
  add(tr("yaml-cpp"), s(info.yamlCppVersion));
  add(tr("SQLite"), s(info.sqliteVersion));
  add(tr("sentencepiece"), s(info.sentencepieceVersion),
      info.sentencepieceVersion.rfind("unavailable", 0) == 0);
  const std::string core = info.blas.core.empty() ? std::string() : " (" + info.blas.core + " kernels)";
  add(tr("BLAS"), s(info.blas.name + core + (info.blas.slow ? " — slow, install libopenblas0-pthread" : "")),
      info.blas.slow);
  add(tr("BLAS library"), s(info.blas.path));
  add(tr("Threads"), tr("%1 intra-op of %2 usable cores")
                         .arg(info.intraOpThreads)
                         .arg(info.usableCores));
  add(tr("bf16 on CPU"), info.cpuBf16 ? tr("yes (AVX512-BF16/AMX): mixed precision pays off")
                                      : tr("no: train in float32"));
  add(tr("CUDA"), info.cudaAvailable ? tr("%1 device(s)").arg(info.cudaDevices) : tr("not available"));
}

} // namespace tunebench
