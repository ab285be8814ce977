#pragma once

#include <string>

namespace tunebench {

// The learning-rate multiplier at optimizer step `step` (0-based, the step about to be taken) of
// `total`, as transformers' schedulers define them: warm-up rises linearly from 0 over `warmup`
// steps, then constant | constant_warmup | linear | cosine | cosine_restarts (`cycles` hard
// restarts) | polynomial (`power`, to 0) | inverse_sqrt. "plateau" is 1 here: the trainer scales it
// on evaluations that do not improve.
double learningRateFactor(const std::string &kind, long step, long total, long warmup, int cycles = 1,
                          double power = 1.0);

} // namespace tunebench
