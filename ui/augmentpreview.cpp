// DatasetView::previewAugmentation: the rows shown, augmented on the worker thread (as the
// experiment's run would, paraphrase models included), listed beside their copies with the
// operation that made each.
#include "core/data/augment.h"
#include "core/data/statistics.h"
#include "core/data/wordnet.h"
#include "core/runtime/paths.h"
#include "core/train/paraphraser.h"
#include "ui/background.h"
#include "ui/datasetmodel.h"
#include "ui/datasetview.h"

#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>

#include <memory>

namespace tunebench {

void DatasetView::previewAugmentation(int rows)
{
  if (!m_dataset || m_loading)
    return;
  std::vector<int> source;
  for (int r = 0; r < m_filter->rowCount() && static_cast<int>(source.size()) < rows; ++r)
    source.push_back(m_filter->mapToSource(m_filter->index(r, 0)).row());
  m_loading = true;
  m_augment->setEnabled(false);
  std::shared_ptr<const Dataset> dataset = m_model->shared();
  struct Augmented
  {
    std::vector<Example> rows;
    QString error;
  };
  // The experiment's own augmentation when it asks for one.
  std::optional<ExperimentConfig> experiment = m_experiment;
  if (experiment && experiment->data.augmentPerRow == 0 && experiment->data.paraphrase.model.empty())
    experiment.reset();
  runInBackground(
      this, m_thread,
      [dataset, source, experiment] {
        auto result = std::make_shared<Augmented>();
        std::vector<Example> *out = &result->rows;
        QString &error = result->error;
        try {
          AugmentOptions options;
          options.perExample = 4;
          std::unique_ptr<Paraphraser> paraphraser;
          if (experiment) {
            options = augmentOptionsFor(*experiment);
            paraphraser = makeParaphraser(*experiment);
          }
          // WordNet is read once and kept (read-only, shared between threads).
          static const std::shared_ptr<const WordNet> wordnet = std::make_shared<const WordNet>(
              WordNet::load(assetsDir() / "debs" / "root" / "usr" / "share" / "wordnet"));
          *out = augment(*dataset, source, options, wordnet.get(), paraphraser.get());
        } catch (const std::exception &e) {
          error = QString::fromUtf8(e.what());
        }
        return result;
      },
      [this, dataset](const std::shared_ptr<Augmented> &result) {
        const std::vector<Example> *out = &result->rows;
        const QString &error = result->error;
        auto *self = this;
        self->m_loading = false;
        self->m_augment->setEnabled(true);
        QTableWidget *t = self->m_augmentation;
        t->setRowCount(0);
        if (!error.isEmpty()) {
          self->m_summary->setText(tr("<b>Cannot augment:</b> %1").arg(error.toHtmlEscaped()));
          Q_EMIT self->augmented(false);
          return;
        }
        auto textOf = [](const Example &e) {
          return QString::fromStdString(e.tokens.empty() ? exampleText(e) : [&] {
            std::string joined;
            for (const std::string &w : e.tokens)
              joined += (joined.empty() ? "" : " ") + w;
            return joined;
          }());
        };
        t->setRowCount(static_cast<int>(out->size()));
        for (int i = 0; i < static_cast<int>(out->size()); ++i) {
          const Example &a = (*out)[static_cast<std::size_t>(i)];
          t->setItem(i, 0, new QTableWidgetItem(QString::fromStdString(a.augmentation)));
          t->setItem(i, 1,
                     new QTableWidgetItem(
                         a.sourceRow >= 0 ? textOf(dataset->examples[static_cast<std::size_t>(a.sourceRow)])
                                          : QString()));
          t->setItem(i, 2, new QTableWidgetItem(textOf(a)));
        }
        t->resizeColumnToContents(0);
        Q_EMIT self->augmented(true);
      });
}

} // namespace tunebench
