#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tunebench {

// One tensor of a safetensors header, checked: a known dtype (F32, F16, BF16, F64, I64, I32, I16,
// I8, U8, BOOL), a shape of non-negative sizes whose byte count does not overflow, and offsets
// inside the data that hold exactly that many bytes.
struct SafetensorsEntry
{
  std::string name, dtype;
  int elementBytes = 0;
  std::vector<std::int64_t> shape;
  std::int64_t elements = 1;
  std::uint64_t begin = 0, end = 0; // relative to the data after the header
};

struct SafetensorsHeader
{
  std::uint64_t dataOffset = 0; // 8 + the header's length
  std::vector<SafetensorsEntry> entries;
  std::map<std::string, std::string> metadata; // __metadata__'s string values
};

// The header of a safetensors file (u64 little-endian length, JSON header, data) from `bytes`,
// which start at the file's first byte and hold at least the length and the header; `fileSize`
// is the whole file's size. Every problem (truncated, a header that does not parse or nests too
// deep, an unknown dtype, offsets outside the data, a shape that does not match its bytes) throws
// tunebench::Error naming `file` and the tensor. No LibTorch: fuzzable on its own.
SafetensorsHeader parseSafetensorsHeader(std::string_view bytes, std::uint64_t fileSize,
                                         const std::string &file);

// The header's length field, or Error when `bytes` hold fewer than 8 bytes.
std::uint64_t safetensorsHeaderLength(std::string_view bytes, const std::string &file);

} // namespace tunebench
