#pragma once

#include "core/train/batches.h"

#include <torch/types.h>

#include <string>

namespace tunebench {

// training.device: auto → CUDA when this LibTorch has a CUDA device, else the CPU; cuda → an Error
// (naming the field) when it has none; cpu → the CPU.
torch::Device trainingDevice(const std::string &device);

// Whether `device` (the field's value) resolves to the CPU, without throwing.
bool trainsOnCpu(const std::string &device);

// The batch's tensors on `device` (nothing moves for the CPU).
Batch onDevice(Batch b, const torch::Device &device);

} // namespace tunebench
