#pragma once

#include "core/train/diagnosis.h"
#include "core/train/trainer.h"

#include <nlohmann/json.hpp>

namespace tunebench {

// The lines of a run's events.jsonl (and of results.json's evaluations and diagnoses).
nlohmann::json eventJson(const StepEvent &e);
nlohmann::json eventJson(const EvalEvent &e);
nlohmann::json diagnosisJson(const Diagnosis &d);

} // namespace tunebench
