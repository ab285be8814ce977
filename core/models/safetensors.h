#pragma once

#include <torch/types.h>

#include <filesystem>
#include <map>
#include <string>

namespace tunebench {

using TensorMap = std::map<std::string, torch::Tensor>;

// Reads a .safetensors file (u64 header length, JSON header, little-endian data). F32, F16, BF16,
// F64, I64, I32, I16, I8, U8 and BOOL are read; every problem (truncated file, header that does not
// parse, offsets outside the data, a shape that does not match the byte count, an unknown dtype)
// throws tunebench::Error naming the file and the tensor.
TensorMap readSafetensors(const std::filesystem::path &path, std::map<std::string, std::string> *metadata = nullptr);

// The number of values stored in a .safetensors file, from its header alone (no tensor data read).
std::int64_t countSafetensorsValues(const std::filesystem::path &path);

// Writes tensors (contiguous, CPU) through a temporary file and a rename.
void writeSafetensors(const std::filesystem::path &path, const TensorMap &tensors,
                      const std::map<std::string, std::string> &metadata = {{"format", "pt"}});

} // namespace tunebench
