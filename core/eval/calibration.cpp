#include "core/eval/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tunebench {

std::vector<std::vector<double>> softmaxWithTemperature(const std::vector<std::vector<double>> &logits, double temperature)
{
  std::vector<std::vector<double>> out;
  out.reserve(logits.size());
  for (const auto &row : logits) {
    double top = -std::numeric_limits<double>::infinity();
    for (double v : row)
      top = std::max(top, v / temperature);
    std::vector<double> p;
    double sum = 0;
    for (double v : row) {
      p.push_back(std::exp(v / temperature - top));
      sum += p.back();
    }
    for (double &v : p)
      v /= sum;
    out.push_back(std::move(p));
  }
  return out;
}

double negativeLogLikelihood(const std::vector<std::vector<double>> &probabilities, const std::vector<int> &labels)
{
  double nll = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < probabilities.size() && i < labels.size(); ++i) {
    if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= probabilities[i].size())
      continue;
    nll -= std::log(std::max(probabilities[i][static_cast<std::size_t>(labels[i])], 1e-300));
    ++n;
  }
  return n ? nll / static_cast<double>(n) : 0.0;
}

double fitTemperature(const std::vector<std::vector<double>> &logits, const std::vector<int> &labels)
{
  auto loss = [&](double logT) { return negativeLogLikelihood(softmaxWithTemperature(logits, std::exp(logT)), labels); };
  double a = std::log(0.05), b = std::log(20.0);
  const double g = (std::sqrt(5.0) - 1.0) / 2.0;
  double c = b - g * (b - a), d = a + g * (b - a);
  double fc = loss(c), fd = loss(d);
  for (int i = 0; i < 80; ++i) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = loss(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = loss(d);
    }
  }
  return std::exp((a + b) / 2.0);
}

double tuneThreshold(const std::vector<double> &p, const std::vector<bool> &positive)
{
  std::vector<double> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<double> candidates = {0.5};
  for (std::size_t i = 0; i + 1 < sorted.size(); ++i)
    candidates.push_back((sorted[i] + sorted[i + 1]) / 2.0);
  double best = 0.5, bestF1 = -1;
  for (double t : candidates) {
    double tp = 0, fp = 0, fn = 0;
    for (std::size_t i = 0; i < p.size() && i < positive.size(); ++i) {
      const bool predicted = p[i] >= t;
      tp += predicted && positive[i];
      fp += predicted && !positive[i];
      fn += !predicted && positive[i];
    }
    const double f1 = tp > 0 ? 2 * tp / (2 * tp + fp + fn) : 0.0;
    if (f1 > bestF1 + 1e-12 || (std::abs(f1 - bestF1) <= 1e-12 && std::abs(t - 0.5) < std::abs(best - 0.5))) {
      bestF1 = f1;
      best = t;
    }
  }
  return best;
}

} // namespace tunebench
