#include "core/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace tunebench {

double learningRateFactor(const std::string &kind, long step, long total, long warmup, int cycles, double power)
{
  if (kind == "constant" || kind == "plateau")
    return 1.0;
  if (step < warmup)
    return static_cast<double>(step) / static_cast<double>(std::max(1L, warmup));
  if (kind == "constant_warmup")
    return 1.0;
  if (kind == "inverse_sqrt")
    return std::sqrt(static_cast<double>(std::max(1L, warmup))) / std::sqrt(static_cast<double>(std::max(1L, step)));
  const double progress =
      std::clamp(static_cast<double>(step - warmup) / static_cast<double>(std::max(1L, total - warmup)), 0.0, 1.0);
  if (kind == "linear")
    return std::max(0.0, 1.0 - progress);
  if (kind == "cosine")
    return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
  if (kind == "cosine_restarts") {
    if (progress >= 1.0)
      return 0.0;
    return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * std::fmod(cycles * progress, 1.0))));
  }
  if (kind == "polynomial")
    return std::pow(1.0 - progress, power);
  return 1.0;
}

} // namespace tunebench
