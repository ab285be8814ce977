// safetensors headers: the length, the JSON header and every entry's dtype, shape and offsets.
// Only tunebench::Error may leave the parser; anything else is a finding.
#include "core/models/safetensorsheader.h"
#include "core/util/error.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
  const std::string_view bytes(reinterpret_cast<const char *>(data), size);
  try {
    (void)tunebench::parseSafetensorsHeader(bytes, size, "input");
  } catch (const tunebench::Error &) {
  }
  return 0;
}
