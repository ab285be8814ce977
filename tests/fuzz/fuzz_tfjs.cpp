// TF.js model.json manifests: parsed as tunebench reads them, then the weightsManifest checked.
// Parse errors are nlohmann::json::parse_error (translated by the caller); only those and
// tunebench::Error may be thrown. Anything else is a finding.
#include "core/models/tfjsmanifest.h"
#include "core/util/error.h"
#include "core/util/jsonfile.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  try {
    (void)tunebench::parseTfjsManifest(tunebench::parseJson(text, "input"), "input");
  } catch (const tunebench::Error &) {
  } catch (const nlohmann::json::parse_error &) {
  }
  return 0;
}
