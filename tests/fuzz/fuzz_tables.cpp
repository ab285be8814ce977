// The data readers (CSV, TSV, JSON Lines, JSON, CoNLL, plain text): the first byte chooses the
// format, the rest is the file. Problems go to the report; only tunebench::Error may be thrown
// (a file that cannot be read at all). Anything else is a finding.
#include "core/data/readers.h"
#include "core/util/error.h"

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
  if (size == 0)
    return 0;
  static const char *const kExtensions[] = {".csv", ".tsv", ".jsonl", ".json", ".conll", ".txt"};
  static const fs::path folder = [] {
    const fs::path f = fs::temp_directory_path() / ("tunebench-fuzz-tables-" + std::to_string(getpid()));
    fs::create_directories(f);
    return f;
  }();
  const fs::path file = folder / (std::string("input") + kExtensions[data[0] % 6]);
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data + 1), static_cast<std::streamsize>(size - 1));
  }
  tunebench::DataReport report;
  try {
    tunebench::readTable(file, report);
  } catch (const tunebench::Error &) {
  }
  fs::remove(file);
  return 0;
}
