// JSON as tunebench reads it (config.json, tokenizer files, state, labels): the depth check, then
// the parser. Parse errors are nlohmann::json::parse_error, which the callers translate; anything
// else (a crash, a stack overflow, another exception) is a finding.
#include "core/util/jsonfile.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  try {
    const nlohmann::json j = tunebench::parseJson(text, "input");
    (void)j.dump(); // walks the whole value
  } catch (const tunebench::Error &) {
  } catch (const nlohmann::json::parse_error &e) {
    (void)tunebench::jsonErrorReason(e);
  }
  return 0;
}
