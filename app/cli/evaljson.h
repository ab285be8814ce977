#pragma once

#include "core/train/trainer.h"

#include <nlohmann/json.hpp>

namespace tunebench::cli {

// An evaluation as the CLI's --json output writes it: split, step, loss, metrics.
nlohmann::json evalJson(const EvalEvent &e);

} // namespace tunebench::cli
