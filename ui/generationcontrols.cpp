#include "ui/generationcontrols.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>

namespace tunebench {

namespace {

QSpinBox *spin(QWidget *parent, const char *name, int low, int high, int value, const QString &tip)
{
  auto *s = new QSpinBox(parent);
  s->setObjectName(QString::fromLatin1(name));
  s->setRange(low, high);
  s->setValue(value);
  s->setToolTip(tip);
  return s;
}

QDoubleSpinBox *number(QWidget *parent, const char *name, double low, double high, double value,
                       const QString &tip)
{
  auto *s = new QDoubleSpinBox(parent);
  s->setObjectName(QString::fromLatin1(name));
  s->setRange(low, high);
  s->setDecimals(2);
  s->setSingleStep(0.05);
  s->setValue(value);
  s->setToolTip(tip);
  return s;
}

} // namespace

GenerationControls::GenerationControls(QWidget *parent)
  : QWidget(parent)
{
  setObjectName(QStringLiteral("GenerationControls"));
  m_mode = new QComboBox(this);
  m_mode->setObjectName(QStringLiteral("DecodingMode"));
  m_mode->addItem(tr("greedy"), QStringLiteral("greedy"));
  m_mode->addItem(tr("beam search"), QStringLiteral("beam"));
  m_mode->addItem(tr("sampling"), QStringLiteral("sample"));
  m_beams = spin(this, "Beams", 2, 16, 4, tr("Beams kept at each step (beam search)"));
  m_temperature = number(this, "Temperature", 0.05, 5.0, 0.7,
                         tr("Sampling temperature: below 1 sharper, above 1 flatter"));
  m_topP = number(this, "TopP", 0.05, 1.0, 0.9,
                  tr("Nucleus sampling: the smallest set of tokens with this much probability"));
  m_topK = spin(this, "TopK", 0, 1000, 0, tr("Sample among the k most likely tokens (0: all)"));
  m_seed = spin(this, "Seed", 0, 1000000, 0, tr("Sampling seed: the same seed gives the same answer"));
  m_maxNew = spin(this, "MaxNewTokens", 0, 1024, 0,
                  tr("The longest answer in tokens (0: the run's evaluation.max_new_tokens)"));
  m_maxNew->setSpecialValueText(tr("run's"));

  auto *layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  const auto add = [&](const QString &label, QWidget *w) {
    layout->addWidget(new QLabel(label, this));
    layout->addWidget(w);
  };
  add(tr("Decoding"), m_mode);
  add(tr("beams"), m_beams);
  add(tr("temperature"), m_temperature);
  add(tr("top-p"), m_topP);
  add(tr("top-k"), m_topK);
  add(tr("seed"), m_seed);
  add(tr("max tokens"), m_maxNew);
  layout->addStretch(1);
  connect(m_mode, &QComboBox::currentIndexChanged, this, &GenerationControls::updateEnabled);
  updateEnabled();
}

TrainedRun::Decoding GenerationControls::decoding() const
{
  TrainedRun::Decoding d;
  const QString mode = m_mode->currentData().toString();
  if (mode == QLatin1String("beam"))
    d.beams = m_beams->value();
  if (mode == QLatin1String("sample")) {
    d.sample = true;
    d.temperature = m_temperature->value();
    d.topP = m_topP->value();
    d.topK = m_topK->value();
    d.seed = static_cast<std::uint64_t>(m_seed->value());
  }
  d.maxNewTokens = m_maxNew->value();
  return d;
}

void GenerationControls::setDecoding(const TrainedRun::Decoding &d)
{
  m_mode->setCurrentIndex(d.sample ? 2 : d.beams > 1 ? 1 : 0);
  if (d.beams > 1)
    m_beams->setValue(d.beams);
  m_temperature->setValue(d.temperature);
  m_topP->setValue(d.topP);
  m_topK->setValue(d.topK);
  m_seed->setValue(static_cast<int>(d.seed));
  m_maxNew->setValue(d.maxNewTokens);
}

void GenerationControls::updateEnabled()
{
  const QString mode = m_mode->currentData().toString();
  m_beams->setEnabled(mode == QLatin1String("beam"));
  for (QWidget *w : std::initializer_list<QWidget *>{m_temperature, m_topP, m_topK, m_seed})
    w->setEnabled(mode == QLatin1String("sample"));
}

} // namespace tunebench
