// `inspect` and `embed`: what a model folder holds, and sentence embeddings from it.
#include "cli/args.h"
#include "cli/commands.h"

#include "core/models/modelfolder.h"
#include "core/util/error.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace tunebench::cli {

int runInspect(const std::vector<std::string> &argv)
{
  Args args(argv, {{"json", false, "print one JSON object"},
                   {"batch", true, "batch size for the training estimate (default 16)"},
                   {"seq-len", true, "sequence length for the training estimate (default 128)"}});
  if (args.positionals().size() != 1)
    throw UsageError("inspect needs one model folder");
  const ModelFolderInfo info = inspectModelFolder(args.positionals().front());
  const TransformerShape &s = info.shape;
  const int batch = args.intValue("batch").value_or(16), length = args.intValue("seq-len").value_or(128);
  const std::int64_t parameters = countParameters(s);
  const TrainingEstimate f32 = estimateTraining(s, parameters, batch, length, Precision::Float32);
  const TrainingEstimate bf16 = estimateTraining(s, parameters, batch, length, Precision::BFloat16);
  if (args.has("json")) {
    nlohmann::json j = {{"family", info.family}, {"architectures", info.architectures},
                        {"vocab_size", s.vocabSize}, {"hidden_size", s.hiddenSize}, {"layers", s.numLayers},
                        {"heads", s.numHeads}, {"intermediate_size", s.intermediateSize},
                        {"max_positions", s.maxPositions}, {"parameters", parameters},
                        {"checkpoint_numbers", info.checkpointNumbers}, {"weights", info.weightsFile},
                        {"tokenizer", info.tokenizerFamily}, {"tokenizer_vocabulary", info.tokenizerVocabulary},
                        {"labels", info.labels},
                        {"estimate", {{"batch", batch}, {"seq_len", length}, {"fp32_bytes", f32.totalBytes},
                                      {"bf16_bytes", bf16.totalBytes}, {"flops_per_step", f32.flopsPerStep}}}};
    std::cout << j.dump() << '\n';
    return ExitOk;
  }
  std::printf("family:        %s (%s)\n", info.family.c_str(),
              info.architectures.empty() ? "no architectures listed" : info.architectures.front().c_str());
  std::printf("architecture:  %d layers, hidden %d, %d heads, FFN %d, vocabulary %d, %d positions\n", s.numLayers,
              s.hiddenSize, s.numHeads, s.intermediateSize, s.vocabSize, s.maxPositions);
  std::printf("parameters:    %lld in the encoder/decoder; %lld numbers in %s\n", static_cast<long long>(parameters),
              static_cast<long long>(info.checkpointNumbers), info.weightsFile.c_str());
  std::printf("tokenizer:     %s, %d entries\n", info.tokenizerFamily.c_str(), info.tokenizerVocabulary);
  if (!info.labels.empty()) {
    std::printf("heads/labels: ");
    for (const std::string &l : info.labels)
      std::printf(" %s", l.c_str());
    std::printf("\n");
  }
  std::printf("full fine-tuning, batch %d × %d tokens, AdamW: %s in fp32, %s with bf16 activations; %.1f GFLOP per step\n",
              batch, length, formatBytes(f32.totalBytes).c_str(), formatBytes(bf16.totalBytes).c_str(),
              f32.flopsPerStep / 1e9);
  return ExitOk;
}

int runEmbed(const std::vector<std::string> &argv)
{
  Args args(argv, {{"batch", true, "lines per forward pass (default 32)"}});
  if (args.positionals().size() != 1)
    throw UsageError("embed needs one model folder");
  const auto embedder = TextEmbedder::load(args.positionals().front());
  const int batchSize = args.intValue("batch").value_or(32);
  std::vector<std::string> lines;
  auto flush = [&] {
    if (lines.empty())
      return;
    const torch::Tensor e = embedder->embed(lines).contiguous();
    for (std::int64_t i = 0; i < e.size(0); ++i) {
      const float *row = e[i].data_ptr<float>();
      std::cout << nlohmann::json(std::vector<float>(row, row + e.size(1))).dump() << '\n';
    }
    lines.clear();
  };
  std::string line;
  while (std::getline(std::cin, line)) {
    lines.push_back(line);
    if (static_cast<int>(lines.size()) == batchSize)
      flush();
  }
  flush();
  return ExitOk;
}

} // namespace tunebench::cli
