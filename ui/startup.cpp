// MainWindow::applyStartup: what the command line asks of the window once it is shown.
#include "core/runs/runstore.h"
#include "ui/columnmapping.h"
#include "ui/datasetview.h"
#include "ui/evaluationview.h"
#include "ui/experimentview.h"
#include "ui/historyview.h"
#include "ui/mainwindow.h"

#include <QApplication>
#include <QComboBox>
#include <QTabWidget>
#include <QTimer>

#include <cstdio>

namespace tunebench {

namespace {

ColumnMappingDialog *openImportDialog(MainWindow &window, const QString &file)
{
  auto *dialog = new ColumnMappingDialog(file, QStringLiteral("single_label"), &window);
  QObject::connect(dialog, &QDialog::accepted, dialog, [&window, dialog, file] {
    window.tabs()->setCurrentWidget(window.data());
    window.data()->open(file, dialog->kind(), {}, 128, dialog->columns());
    if (dialog->useInExperiment())
      Q_EMIT window.data()->useInExperiment(file, dialog->kind(), dialog->columns());
  });
  dialog->open();
  return dialog;
}

void evaluateLast(EvaluationView *view, const QString &playground)
{
  if (view->runsBox()->count() == 0)
    return;
  if (!playground.isEmpty())
    QObject::connect(view, &EvaluationView::evaluated, view, [view, playground](bool ok) {
      if (ok)
        view->predict(playground);
    });
  view->evaluate(view->runsBox()->itemData(0).toString(), QStringLiteral("test"));
}

void screenshotLater(MainWindow &window, ColumnMappingDialog *dialog, const QString &file, int delayMs)
{
  QTimer::singleShot(delayMs, &window, [&window, dialog, file] {
    QWidget *target = dialog && dialog->isVisible() ? static_cast<QWidget *>(dialog) : &window;
    const bool saved = target->grab().save(file, "PNG");
    std::fprintf(saved ? stdout : stderr, "%s %s\n", saved ? "saved" : "cannot save", qPrintable(file));
    QApplication::exit(saved ? 0 : 1);
  });
}

} // namespace

void MainWindow::applyStartup(const StartupOptions &o)
{
  if (!o.preset.isEmpty())
    m_experiment->loadPreset(o.preset);
  for (const QString &kv : o.overrides) {
    const qsizetype eq = kv.indexOf(QLatin1Char('='));
    if (eq > 0)
      m_experiment->setOverride(kv.left(eq), kv.mid(eq + 1));
  }
  if (o.start)
    for (const QString &p : startExperiment())
      std::fprintf(stderr, "tunebench: %s\n", qPrintable(p));
  if (o.compareLast >= 2 && m_store) {
    RunQuery q;
    q.limit = o.compareLast;
    std::vector<std::int64_t> ids;
    for (const RunRecord &r : m_store->list(q))
      ids.insert(ids.begin(), r.id);
    if (ids.size() >= 2)
      m_history->compare(ids);
  }
  if (o.openData)
    openExperimentData();
  if (o.yamlView)
    m_experiment->editors()->setCurrentIndex(1);
  ColumnMappingDialog *importDialog =
      o.importFile.isEmpty() ? nullptr : openImportDialog(*this, o.importFile);
  if (o.evaluateLast)
    evaluateLast(m_evaluation, o.playground);
  if (!o.tab.isEmpty())
    for (int i = 0; i < m_tabs->count(); ++i)
      if (m_tabs->tabText(i).remove(QLatin1Char('&')).toLower() == o.tab.toLower())
        m_tabs->setCurrentIndex(i);
  if (!o.screenshot.isEmpty())
    screenshotLater(*this, importDialog, o.screenshot, o.screenshotDelayMs);
}

} // namespace tunebench
