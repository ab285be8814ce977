// torch.save files (pytorch_model.bin): the zip container and the state dict's pickle. Only
// tunebench::Error may leave the readers; anything else (a crash, a sanitizer report, another
// exception, a leak) is a finding.
#include "core/models/picklemachine.h"
#include "core/models/storedzip.h"
#include "core/util/error.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
  const std::string bytes(reinterpret_cast<const char *>(data), size);
  try {
    for (const auto &[name, record] : tunebench::readStoredZip(bytes, "input"))
      if (name.size() >= 8 && name.compare(name.size() - 8, 8, "data.pkl") == 0)
        tunebench::readStateDictPickle(std::string_view(bytes).substr(record.offset, record.size), "input");
  } catch (const tunebench::Error &) {
  }
  try { // the pickle machine on its own: most mutations of a zip only break the container
    tunebench::readStateDictPickle(bytes, "input");
  } catch (const tunebench::Error &) {
  }
  return 0;
}
