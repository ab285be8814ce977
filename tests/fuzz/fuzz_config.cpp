// The experiment validator: any text as a YAML experiment. parseExperimentConfig never throws for
// bad content (every problem is in its result), so any exception, crash or sanitizer report is a
// finding.
#include "core/config/experiment.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
  const std::string yaml(reinterpret_cast<const char *>(data), size);
  const tunebench::ConfigResult r = tunebench::parseExperimentConfig(yaml, "/nonexistent-fuzz-base");
  if (r.ok()) // a valid experiment writes back as YAML that parses again
    (void)r.config.toYaml();
  return 0;
}
