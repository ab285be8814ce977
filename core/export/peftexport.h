#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace tunebench {

class TrainedRun;

// The run's adapter in PEFT's layout (core/strategies/peft.h) with the tokenizer files, labels.json
// and tunebench.yaml (model.path: the base model, strategy.adapter: the folder itself, so that
// TrainedRun::open and `predict` load base + adapter). Returns what the card says of it.
nlohmann::json writePeftFolder(TrainedRun &run, const std::filesystem::path &folder);

} // namespace tunebench
