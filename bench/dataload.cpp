// bench_dataload: loading a 100,000-row dataset the way the Data tab and a run do — read the CSV
// (RFC 4180, quoted fields), give the rows their task meaning and validate them, count label and
// token-length statistics with the USE-Lite tokenizer — and the Data tab's table model over it.
// The file is made from the Pang & Lee sentences (25 copies of the 4,000 rows, each copy's text
// varied). Prints one JSON line; bench/dataload.sh runs Python's csv module on the same file beside.
//   bench_dataload ASSETS_DIR OUT.csv
#include "bench/benchclock.h"
#include "core/data/datareport.h"
#include "core/data/mapping.h"
#include "core/data/readers.h"
#include "core/data/statistics.h"
#include "core/data/writers.h"
#include "core/runtime/blascore.h"
#include "core/tokenize/tokenizerloader.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace tunebench;
using bench::Clock;
using bench::since;

int main(int argc, char **argv)
{
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_dataload ASSETS_DIR OUT.csv\n");
    return 2;
  }
  const std::string assets = argv[1], out = argv[2];
  DataReport sourceReport;
  const Table source = readTable(assets + "/data/sentiment/pang-lee-sentences.csv", sourceReport);
  std::vector<std::vector<std::string>> rows;
  const int text = source.columnIndex("text"), label = source.columnIndex("label");
  for (int copy = 0; rows.size() < 100000; ++copy)
    for (const auto &r : source.rows) {
      if (rows.size() == 100000)
        break;
      rows.push_back({r[static_cast<std::size_t>(text)] + (copy ? " (take " + std::to_string(copy) + ")" : ""),
                      r[static_cast<std::size_t>(label)]});
    }
  {
    std::ofstream f(out, std::ios::binary);
    f << toCsv({"text", "label"}, rows);
  }
  const auto tokenizer = loadTokenizer(assets + "/models/use-lite");

  double best[3] = {1e9, 1e9, 1e9};
  std::size_t count = 0;
  for (int pass = 0; pass < 3; ++pass) {
    auto t = Clock::now();
    DataReport report;
    const Table table = readTable(out, report);
    best[0] = std::min(best[0], since(t));
    t = Clock::now();
    MappingOptions options;
    options.columns = guessMapping(table, TaskKind::SingleLabel);
    const Dataset dataset = toDataset(table, options, report);
    best[1] = std::min(best[1], since(t));
    t = Clock::now();
    const DatasetStatistics stats = computeStatistics(dataset, tokenizer.get(), 128);
    best[2] = std::min(best[2], since(t));
    count = dataset.size();
  }
  std::printf("{\"rows\": %zu, \"read_s\": %.4f, \"map_validate_s\": %.4f, \"tokenize_statistics_s\": %.4f}\n", count,
              best[0], best[1], best[2]);
  return 0;
}
