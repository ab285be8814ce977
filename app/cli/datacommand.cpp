// `data`: prepare the fetched corpora, check a data file (the validation report and statistics).
#include "cli/args.h"
#include "cli/commands.h"

#include "core/data/corpora.h"
#include "core/data/mapping.h"
#include "core/data/readers.h"
#include "core/data/statistics.h"
#include "core/runtime/paths.h"
#include "core/tokenize/tokenizerloader.h"
#include "core/util/error.h"

#include <iostream>

namespace tunebench::cli {

namespace {

int prepareAssets(const std::vector<std::string> &argv)
{
  Args args(argv, {{"assets", true, "the asset folder (default: $TUNEBENCH_ASSETS)"}});
  const std::filesystem::path assets = args.value("assets").value_or(assetsDir().string());
  for (const PreparedFile &f : prepareCorpora(assets))
    std::cout << "prepared " << f.path << ": " << f.rows << " rows (" << f.what << ")\n";
  return ExitOk;
}

int check(const std::vector<std::string> &argv)
{
  Args args(
      argv,
      {{"task", true,
        "the config's task.kind: single_label (default), multi_label, token_tagging, instruction, causal_lm"},
       {"labels", true, "the allowed labels (or entity types), comma-separated"},
       {"scheme", true, "tagging scheme: bio/iob2, iob1, iobes"},
       {"model", true, "a model folder: token-length statistics with its tokenizer"},
       {"max-length", true, "count the rows longer than this"}});
  if (args.positionals().size() != 1)
    throw UsageError("data check needs one data file");
  const std::string file = args.positionals().front();
  const auto kind = parseTaskKind(args.value("task").value_or("classification"));
  if (!kind)
    throw UsageError("--task: unknown task \"" + *args.value("task") + "\"");
  DataReport report;
  const Table table = readTable(file, report);
  MappingOptions options;
  options.kind = *kind;
  options.columns = guessMapping(table, *kind);
  if (const auto scheme = args.value("scheme")) {
    const auto parsed = parseTagScheme(*scheme);
    if (!parsed)
      throw UsageError("--scheme: unknown tagging scheme \"" + *scheme + "\" (bio, iob1, iobes)");
    options.scheme = *parsed;
  }
  if (const auto labels = args.value("labels"))
    for (std::size_t p = 0; p <= labels->size();) {
      const std::size_t q = std::min(labels->find(',', p), labels->size());
      if (q > p)
        options.allowedLabels.push_back(labels->substr(p, q - p));
      p = q + 1;
    }
  const Dataset dataset = table.columns.empty() ? Dataset{} : toDataset(table, options, report);
  std::cerr << report.toString();
  std::unique_ptr<Tokenizer> tokenizer;
  if (const auto model = args.value("model"))
    tokenizer = loadTokenizer(*model);
  const DatasetStatistics stats =
      computeStatistics(dataset, tokenizer.get(), args.intValue("max-length").value_or(0));
  std::cout << file << ": " << stats.rows << " usable rows of " << table.rows.size() << ", "
            << report.errorCount() << " error(s), " << report.warningCount() << " warning(s)\n";
  for (const auto &[label, count] : stats.labelCounts)
    std::cout << "  " << label << ": " << count << '\n';
  if (tokenizer)
    std::cout << "tokens per row: p50 " << stats.p50 << ", p90 " << stats.p90 << ", p95 " << stats.p95 << ", p99 "
              << stats.p99 << ", max " << stats.maxLength << "; unknown-token rate " << stats.unknownRate * 100
              << "%; rows over max length: " << stats.truncatedRows << '\n';
  return report.hasErrors() ? ExitBadInput : ExitOk;
}

} // namespace

int runData(const std::vector<std::string> &argv)
{
  if (argv.empty())
    throw UsageError("data needs a sub-command: prepare-assets, check");
  if (argv.front() == "--help" || argv.front() == "-h")
    throw HelpRequested(
        "sub-commands (each answers --help with its options)",
        "  check FILE              validate a data file: every problem with file:line:column, label\n"
        "                          counts, token lengths\n"
        "  prepare-assets          turn the fetched corpora into the data files the presets use\n",
        {"check", "prepare-assets"});
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv.front() == "prepare-assets")
    return prepareAssets(rest);
  if (argv.front() == "check")
    return check(rest);
  throw UsageError("data: unknown sub-command \"" + argv.front() + "\" (prepare-assets, check)");
}

} // namespace tunebench::cli
