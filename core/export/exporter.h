#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace tunebench {

class TrainedRun;
struct ExperimentConfig;
struct DecisionRule;

// What an export writes:
//   hf        a Hugging Face folder (config.json, model.safetensors under the reference class's key
//             names, tokenizer files); LoRA and IA3 are merged into the weights first. Prefix,
//             prompt and adapter runs have no such folder (peft or tunebench).
//   merged    the same, for LoRA/IA3 runs only (it says so when there is nothing to merge)
//   peft      PEFT's adapter_config.json + adapter_model.safetensors (LoRA, IA3, prefix, prompt)
//   tunebench tunebench's own tensor names, the strategy's tensors as they are (any run)
//   onnx      model.onnx (core/export/onnxexport.h), checked in onnxruntime
enum class ExportFormat { HuggingFace, Merged, Peft, Tunebench, Onnx };

// "hf", "merged", "peft", "tunebench", "onnx"; Error naming the choices otherwise.
ExportFormat parseExportFormat(const std::string &name);
std::string exportFormatName(ExportFormat format);

// Why a run of this config cannot leave in `format`, or "" when it can — read off the config alone,
// before any model is built (the Export dialog greys such formats out; exportRun refuses them too,
// from the built model).
std::string exportUnavailable(ExportFormat format, const ExperimentConfig &config);

struct ExportOptions
{
  ExportFormat format = ExportFormat::HuggingFace;
  const DecisionRule *rule = nullptr; // goes along as decision.json
  int verifyRows = 64;                // validation rows the export is checked on
  // onnx: int8 linear maps and embeddings (dynamic quantisation). Checked against the fp32 run by
  // the agreement of predicted labels (at least 0.95), not the logits.
  bool int8 = false;
};

struct ExportOutcome
{
  std::filesystem::path folder;
  nlohmann::json verification; // as in verification.json
};

// Writes the run's model into `folder` and verifies it before reporting success: the written folder
// is opened again through tunebench's loaders (the Hugging Face loader for hf/merged, the adapter
// loader for peft; onnxruntime for onnx) and run on the first verifyRows validation rows beside the
// run's own model —
// max |logit difference|, agreement of predicted labels, loss and accuracy of both — written to
// verification.json and the model card (README.md). The export is assembled in a temporary folder
// beside `folder` and moved into place only when it passed: a failed check throws Error with the
// numbers and leaves whatever was at `folder`.
ExportOutcome exportRun(TrainedRun &run, const std::filesystem::path &folder, const ExportOptions &options,
                        const std::function<void(const std::string &)> &progress = {});

} // namespace tunebench
