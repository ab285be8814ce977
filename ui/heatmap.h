#pragma once

#include <QStringList>
#include <QWidget>

#include <vector>

namespace tunebench {

// A confusion matrix drawn as a heat map: each cell shaded by its share of the true row, the count
// written in it; rows are the true labels, columns the predicted.
class HeatMap final : public QWidget
{
  Q_OBJECT

public:
  explicit HeatMap(QWidget *parent = nullptr);
  void setMatrix(const std::vector<std::vector<int>> &counts, const QStringList &labels);
  int cellCount() const { return static_cast<int>(m_counts.size() * m_counts.size()); }
  QSize sizeHint() const override { return {420, 360}; }
  // The counts as CSV (true label, then one column per predicted label); the right-click menu saves
  // it or the picture (PNG).
  QString csv() const;

protected:
  void contextMenuEvent(QContextMenuEvent *event) override;
  void paintEvent(QPaintEvent *event) override;

private:
  std::vector<std::vector<int>> m_counts;
  QStringList m_labels;
};

} // namespace tunebench
