#pragma once

#include "core/train/trainedrun.h"

#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

namespace tunebench {

// How the playground generates for a causal-LM or instruction run: greedy, beam search (beams) or
// sampling (temperature, top-p, top-k, seed), and the longest answer. Each field is enabled only
// where the chosen decoding uses it.
class GenerationControls final : public QWidget
{
  Q_OBJECT

public:
  explicit GenerationControls(QWidget *parent = nullptr);

  TrainedRun::Decoding decoding() const;
  // Fills the fields from a Decoding (its beams and sample flag choose the mode).
  void setDecoding(const TrainedRun::Decoding &d);
  QComboBox *mode() const { return m_mode; }

private:
  void updateEnabled();

  QComboBox *m_mode = nullptr;
  QSpinBox *m_beams = nullptr, *m_topK = nullptr, *m_maxNew = nullptr, *m_seed = nullptr;
  QDoubleSpinBox *m_temperature = nullptr, *m_topP = nullptr;
};

} // namespace tunebench
