#pragma once

#include "core/config/experiment.h"
#include "core/models/bf16linear.h"
#include "core/models/gpt2.h"
#include "core/models/maskedlm.h"
#include "core/models/t5.h"
#include "core/models/taskmodel.h"
#include "core/strategies/peft.h"
#include "core/strategies/strategy.h"
#include "core/train/batches.h"
#include "core/train/frozencache.h"
#include "core/train/pretraining.h"

#include <torch/serialize/output-archive.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace tunebench {

class Tokenizer;

// The name of the one head a single-task experiment adds to its backbone.
inline constexpr const char *kTaskHead = "main";

// bf16 autocast on the CPU for the scope (nothing when off).
class AutocastScope
{
public:
  explicit AutocastScope(bool on);
  ~AutocastScope();
  AutocastScope(const AutocastScope &) = delete;
  AutocastScope &operator=(const AutocastScope &) = delete;

private:
  bool m_on;
};

// The strategy an experiment names, with its options.
std::unique_ptr<Strategy> makeStrategy(const ExperimentConfig &config, const std::string &family, const Tokenizer &tokenizer);

// The model of an experiment: a backbone (pre-trained or random) with one task head; a causal
// language model (GPT-2); a masked language model (BERT/RoBERTa/DistilBERT); or T5 for span
// corruption and text-to-text — each loaded or made from scratch; the strategy applied to it.
struct BuiltModel
{
  std::shared_ptr<torch::nn::Module> model; // what strategies, the optimizer and checkpoints see
  TaskModel task{nullptr};
  Gpt2LMHeadModel lm{nullptr};
  MaskedLanguageModel mlm{nullptr};
  T5Model seq2seq{nullptr};
  std::optional<PretrainingNoise> noise; // masked_lm, span_corruption
  std::unique_ptr<Strategy> strategy;
  std::string loadReport;
  std::string configJson; // language models: config.json for export
  // strategy.cache_frozen with frozen bottom layers: batches (of a task model) start above them.
  std::shared_ptr<FrozenLayerCache> frozenCache;
  // The model's bf16 weight copies go with it (declared last: released while the model lives).
  Bf16ShadowOwner shadows;

  // Single-sequence models (classifiers, taggers, GPT-2, masked LMs).
  torch::Tensor forward(const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &types);
  // Any batch: T5 reads the decoder's inputs from it; a masked LM returns logits for the labelled
  // positions only ([selected, vocab]; lossOf and the evaluation select the labels to match).
  // head: a multi-task model's head (the main task's by default).
  torch::Tensor forward(const Batch &batch, const std::string &head = kTaskHead);
  const PretrainingNoise *noiseOrNull() const { return noise ? &*noise : nullptr; }
  // Generative models: the answer to a prompt (token ids). GPT-2 continues the prompt; T5 encodes
  // it (cut to maxLength with the stop token appended) and decodes from the pad id, dropping ids
  // at or above vocabularySize (sentinels). The stop token (options.stopTokens[0]) is not returned.
  std::vector<int> answer(std::vector<int> prompt, const GenerationOptions &options, int padId, int maxLength,
                          int vocabularySize);
};

// The model's parameter names under the names of the Hugging Face model PEFT wraps (a task model's
// through its HfLayout; a language model's are those names already).
PeftNames peftNames(BuiltModel &model);

// The head a task of this config gets: kind from task.kind, pooling, dropout; `outputs` wide.
HeadSpec headSpecFor(const ExperimentConfig &config, const std::string &name, int outputs);

// `outputs`: the head's width (labels or tags); extraHeads: a multi-task model's other heads
// (added before the strategy, which trains every head). Throws tunebench::Error for unusable
// model folders.
BuiltModel buildModel(const ExperimentConfig &config, int outputs, const Tokenizer &tokenizer,
                      const std::vector<HeadSpec> &extraHeads = {});

// Biases and norms get no weight decay.
bool excludedFromWeightDecay(const std::string &parameterName);

// Every parameter and buffer by name, written through a temporary file; loadModel reads them back
// and names the file and tensor when something is missing.
void saveModel(torch::nn::Module &model, const std::filesystem::path &file);
// Writes an archive through memory and an atomic rename (Error naming the file when the disk is
// full or the folder not writable; what was at `file` before is kept then).
void saveArchive(torch::serialize::OutputArchive &archive, const std::filesystem::path &file);
void loadModel(torch::nn::Module &model, const std::filesystem::path &file);
// Opens a LibTorch archive; Error naming the file when it is missing or unreadable.
void loadArchive(torch::serialize::InputArchive &archive, const std::filesystem::path &file);

} // namespace tunebench
