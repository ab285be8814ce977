// tunebench-cli export: a run's model in a format other tools read, verified (core/export).
#include "cli/args.h"
#include "cli/commands.h"
#include "core/eval/decision.h"
#include "core/export/exporter.h"
#include "core/train/trainedrun.h"
#include "core/util/error.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

namespace tunebench::cli {
namespace fs = std::filesystem;

int runExport(const std::vector<std::string> &argv)
{
  Args args(
      argv,
      {{"out", true, "the folder to write (default: RUN/export)"},
       {"format", true,
        "hf (default: a Hugging Face folder; LoRA/IA3 merged in), merged (LoRA/IA3 only), peft "
        "(PEFT's adapter layout: LoRA, IA3, prefix, prompt), tunebench (own tensor names, any run) or onnx "
        "(model.onnx, checked in onnxruntime)"},
       {"verify-rows", true, "validation rows the export is checked on (default 64)"},
       {"int8", false, "with --format onnx: int8 linear maps and embeddings (dynamic quantisation)"},
       {"calibrated", false, "the run's saved decision rule goes along (decision.json)"},
       {"json", false, "print verification.json"}});
  if (args.positionals().size() != 1)
    throw UsageError("export needs one run folder");
  const fs::path runDir = args.positionals().front();
  const fs::path out = args.value("out") ? fs::path(*args.value("out")) : runDir / "export";
  ExportOptions options;
  try {
    options.format = parseExportFormat(args.value("format").value_or("hf"));
  } catch (const Error &e) {
    throw UsageError(std::string("--format: ") + e.what());
  }
  options.verifyRows = args.intValue("verify-rows").value_or(64);
  options.int8 = args.has("int8");
  if (options.int8 && options.format != ExportFormat::Onnx)
    throw UsageError(
        "--int8 goes with --format onnx (eval and predict take --int8 for tunebench's own inference)");
  auto run = TrainedRun::open(runDir);
  const std::optional<DecisionRule> rule =
      args.has("calibrated") ? std::optional(requireDecisionRule(runDir, run->labels())) : std::nullopt;
  options.rule = rule ? &*rule : nullptr;
  const ExportOutcome outcome = exportRun(
      *run, out, options, [](const std::string &what) { std::fprintf(stderr, "%s\n", what.c_str()); });
  const nlohmann::json &v = outcome.verification;
  std::fprintf(stderr, "verified on %ld validation rows: max |logit difference| %.3g, labels agree %s\n",
               v["rows"].get<long>(), v["max_abs_logit_difference"].get<double>(),
               v["label_agreement"].is_number() ? std::to_string(v["label_agreement"].get<double>()).c_str()
                                                : "n/a");
  if (args.has("json"))
    std::cout << v.dump() << std::endl;
  else
    std::printf("%s\n", outcome.folder.string().c_str());
  return ExitOk;
}

} // namespace tunebench::cli
