#include "core/train/diagnosis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace tunebench {

namespace {

std::string num(double v)
{
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", v);
  return buffer;
}

double mean(const std::vector<TrainingCurves::Point> &p, std::size_t first, std::size_t last)
{
  last = std::min(last, p.size());
  if (first >= last)
    return 0;
  double s = 0;
  for (std::size_t i = first; i < last; ++i)
    s += p[i].value;
  return s / static_cast<double>(last - first);
}

double median(std::vector<double> v)
{
  if (v.empty())
    return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

} // namespace

std::string diagnosisKindName(Diagnosis::Kind kind)
{
  switch (kind) {
  case Diagnosis::Kind::Overfitting: return "overfitting";
  case Diagnosis::Kind::Underfitting: return "underfitting";
  case Diagnosis::Kind::Instability: return "instability";
  case Diagnosis::Kind::ExplodingGradients: return "exploding_gradients";
  case Diagnosis::Kind::VanishingGradients: return "vanishing_gradients";
  case Diagnosis::Kind::LearningRateTooHigh: return "learning_rate_too_high";
  case Diagnosis::Kind::LearningRateTooLow: return "learning_rate_too_low";
  case Diagnosis::Kind::NonFinite: return "non_finite";
  }
  return "unknown";
}

namespace {

using Diagnoses = std::vector<Diagnosis>;

// Non-finite loss or gradients: the run cannot go on.
bool nonFinite(const TrainingCurves &c, Diagnoses &out)
{
  for (const auto *curve : {&c.trainLoss, &c.gradNorm})
    for (const auto &p : *curve)
      if (!std::isfinite(p.value)) {
        out.push_back({Diagnosis::Kind::NonFinite, p.step, "Loss or gradients became NaN/Inf",
                       (curve == &c.trainLoss ? "training loss " : "gradient norm ") + num(p.value) + " at step " +
                           std::to_string(p.step),
                       {"lower the learning rate", "add warm-up", "clip gradients (max_grad_norm 1.0)",
                        "use bf16 instead of fp16, or fp32", "check the data for empty or extreme examples"},
                       true});
        return true;
      }
  return false;
}

// Over-fitting: validation loss above its minimum for `patience` evaluations in a row, rising,
// while the training loss keeps falling.
void overfitting(const TrainingCurves &c, int patience, Diagnoses &out)
{
  const auto &train = c.trainLoss;
  const auto &val = c.validationLoss;
  if (val.size() >= static_cast<std::size_t>(patience) + 1) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < val.size(); ++i)
      if (val[i].value < val[best].value)
        best = i;
    const std::size_t after = val.size() - 1 - best;
    bool rising = after >= static_cast<std::size_t>(patience);
    for (std::size_t i = best + 1; rising && i < val.size(); ++i)
      rising = val[i].value >= val[best].value;
    if (rising) {
      // Training loss around the best evaluation vs. at the end.
      auto trainAt = [&](long step) {
        std::size_t i = 0;
        while (i < train.size() && train[i].step < step)
          ++i;
        const std::size_t w = std::max<std::size_t>(1, std::min<std::size_t>(20, train.size() / 10 + 1));
        return mean(train, i >= w ? i - w : 0, std::max<std::size_t>(i, 1));
      };
      const double trainThen = trainAt(val[best].step);
      const double trainNow = trainAt(val.back().step + 1);
      if (train.empty() || trainNow < trainThen) {
        const double gap = val.back().value - trainNow;
        out.push_back({Diagnosis::Kind::Overfitting, val[best].step, "Over-fitting",
                       "validation loss rose from " + num(val[best].value) + " (step " + std::to_string(val[best].step) +
                           ") to " + num(val.back().value) + " over " + std::to_string(after) +
                           " evaluations while training loss fell from " + num(trainThen) + " to " + num(trainNow) +
                           "; gap " + num(gap),
                       {"early stopping (keep the best checkpoint)", "more dropout", "more weight decay",
                        "data augmentation", "fewer epochs or a lower learning rate",
                        "a parameter-efficient strategy (LoRA, adapters) or freezing lower layers"},
                       false});
      }
    }
  }
}

// A validation metric that clearly improved means the model learns (a hard task's loss can stay
// near chance level while accuracy rises).
bool metricImproved(const TrainingCurves &c)
{
  if (c.validationMetric.size() < 2)
    return false;
  double best = c.validationMetric.front().value;
  for (const auto &p : c.validationMetric)
    best = std::max(best, p.value);
  return best - c.validationMetric.front().value > 0.05;
}

// Learning rate too high or too low, under-fitting, loss spikes: from the training loss.
void trainingLoss(const TrainingCurves &c, Diagnoses &out)
{
  const auto &train = c.trainLoss;
  if (train.size() >= 20) {
    const std::size_t n = train.size();
    const std::size_t w = std::max<std::size_t>(5, n / 10);
    const double start = mean(train, 0, w);
    const double end = mean(train, n - w, n);

    // Learning rate too high: the loss rises over the first part of training, or ends far above
    // where it started.
    const double early = mean(train, w, std::min(n, 3 * w));
    if (end > start * 1.5 || early > start * 1.3) {
      const long where = train[std::min(n - 1, w)].step;
      out.push_back({Diagnosis::Kind::LearningRateTooHigh, where, "Learning rate too high",
                     "training loss went from " + num(start) + " to " + num(end > start * 1.5 ? end : early) +
                         " instead of falling",
                     {"lower the learning rate (÷3 to ÷10)", "add or lengthen warm-up", "clip gradients"},
                     end > start * 3.0});
    } else if (end > start * 0.9 &&
               (c.finished || static_cast<long>(n) >= std::max<long>(20, 2 * c.stepsPerEpoch)) &&
               !metricImproved(c)) {
      // Under-fitting: almost no progress on the training loss.
      const bool lowLr = !c.learningRate.empty() && c.learningRate.back().value < 1e-6;
      out.push_back({lowLr ? Diagnosis::Kind::LearningRateTooLow : Diagnosis::Kind::Underfitting, train.front().step,
                     lowLr ? "Learning rate too low" : "Under-fitting",
                     "training loss only went from " + num(start) + " to " + num(end) + " over " +
                         std::to_string(train.back().step - train.front().step) + " steps",
                     {"raise the learning rate", "train for more epochs", "train more parameters (full fine-tuning, "
                      "unfreeze layers, larger LoRA rank)", "less regularisation (dropout, weight decay)",
                      "a larger model"},
                     false});
    }

    // Instability: isolated spikes far above the running median.
    std::vector<double> window;
    for (std::size_t i = 0; i < n; ++i) {
      if (i >= 10) {
        const double med = median(window);
        if (med > 0 && train[i].value > 3.0 * med && train[i].value > med + 1.0) {
          out.push_back({Diagnosis::Kind::Instability, train[i].step, "Unstable training (loss spikes)",
                         "loss " + num(train[i].value) + " at step " + std::to_string(train[i].step) +
                             " against a running median of " + num(med),
                         {"lower the learning rate", "clip gradients (max_grad_norm 1.0)", "a larger batch or "
                          "gradient accumulation", "longer warm-up"},
                         false});
          break;
        }
      }
      window.push_back(train[i].value);
      if (window.size() > 50)
        window.erase(window.begin());
    }
  }
}

// Gradients: exploding (far above their median) or vanishing (near zero throughout the last part).
void gradients(const TrainingCurves &c, Diagnoses &out)
{
  if (c.gradNorm.size() >= 20) {
    std::vector<double> norms;
    for (const auto &p : c.gradNorm)
      norms.push_back(p.value);
    const double med = median(norms);
    for (const auto &p : c.gradNorm)
      if (med > 0 && p.value > 50.0 * med) {
        out.push_back({Diagnosis::Kind::ExplodingGradients, p.step, "Exploding gradients",
                       "gradient norm " + num(p.value) + " at step " + std::to_string(p.step) + ", median " + num(med),
                       {"clip gradients (max_grad_norm 1.0)", "lower the learning rate", "add warm-up"}, false});
        break;
      }
    const std::size_t tail = norms.size() / 2;
    bool vanishing = true;
    for (std::size_t i = tail; i < norms.size(); ++i)
      vanishing = vanishing && norms[i] < 1e-6;
    if (vanishing)
      out.push_back({Diagnosis::Kind::VanishingGradients, c.gradNorm[tail].step, "Vanishing gradients",
                     "gradient norm below 1e-6 from step " + std::to_string(c.gradNorm[tail].step),
                     {"check that the right parameters are trainable", "raise the learning rate",
                      "a different initialisation or strategy"},
                     false});
  }
}

// Under-fitting against chance: the validation metric never left the majority-class baseline.
void atChance(const TrainingCurves &c, Diagnoses &out)
{
  if (c.chanceMetric > 0 && c.validationMetric.size() >= 2) {
    double best = 0;
    for (const auto &p : c.validationMetric)
      best = std::max(best, p.value);
    const bool already = std::any_of(out.begin(), out.end(), [](const Diagnosis &d) {
      return d.kind == Diagnosis::Kind::Underfitting || d.kind == Diagnosis::Kind::LearningRateTooLow;
    });
    if (!already && best <= c.chanceMetric + 0.01)
      out.push_back({Diagnosis::Kind::Underfitting, c.validationMetric.front().step, "Under-fitting (at chance)",
                     "best validation metric " + num(best) + " against a majority-class baseline of " +
                         num(c.chanceMetric),
                     {"raise the learning rate", "train for more epochs", "train more parameters", "check the labels"},
                     false});
  }
}

} // namespace

std::vector<Diagnosis> diagnose(const TrainingCurves &c, int patience)
{
  Diagnoses out;
  if (nonFinite(c, out))
    return out;
  overfitting(c, patience, out);
  trainingLoss(c, out);
  gradients(c, out);
  atChance(c, out);
  return out;
}

} // namespace tunebench
