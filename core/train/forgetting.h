#pragma once

#include "core/config/experiment.h"
#include "core/train/builtmodel.h"
#include "core/train/dataprep.h"

#include <torch/types.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace tunebench {

class Tokenizer;

// The forgetting meter (forgetting.reference): the starting model's pre-training objective on a
// sample of general text — masked-LM loss for BERT/RoBERTa/DistilBERT encoders (the model
// folder's own MLM head, never trained, on the run's current encoder, shared), LM loss for GPT-2
// language-model runs, span-corruption loss for T5 — with fixed noise so that values compare. The
// reference text is cut into blocks (model.max_length): the validation and test blocks are
// measured, the training blocks feed rehearsal (forgetting.rehearsal).
class ForgettingMeter
{
public:
  // Throws tunebench::Error naming the field or folder when the model has no pre-training head
  // here or the reference text is unusable.
  ForgettingMeter(const ExperimentConfig &config, BuiltModel &run, const Tokenizer &tokenizer);
  const std::string &objective() const
  {
    return m_config.task.kind;
  }                             // masked_lm | causal_lm | span_corruption
  std::string describe() const; // "masked-LM loss on N blocks of FILE"
  // The objective's loss on the measured blocks, the run's model in eval mode meanwhile.
  double measure(bool bf16);
  // Rehearsal: the objective's loss on batch `k` of the training blocks (for backward).
  torch::Tensor rehearsalLoss(std::uint64_t k, bool bf16);
  // Whether step `step` (0-based) is one of the `share` of steps that rehearse.
  static bool rehearses(long step, double share);

private:
  ExperimentConfig m_config; // the objective's task over the reference file
  BuiltModel m_objective;    // shares the run's modules
  torch::nn::Module *m_run;
  PreparedData m_data;
  std::vector<int> m_measured;
  int m_padId = 0;
};

// forgetting.previous_run: the run starts from an earlier classification or tagging run's best
// model (the same model.path), with that run's head kept, frozen, as the head "previous"; that
// task's selection metric is measured on its own validation split ("previous_METRIC").
class PreviousTask
{
public:
  static constexpr const char *kHead = "previous";
  // Reads the earlier run's config and labels (Error naming the folder or file when unusable).
  explicit PreviousTask(const ExperimentConfig &config);
  HeadSpec head() const; // for buildModel's extra heads
  // After buildModel: the earlier run's backbone and head weights loaded, the head frozen, its data
  // prepared with its own labels.
  void start(BuiltModel &run, const Tokenizer &tokenizer);
  std::string metricName() const { return "previous_" + m_config.selectionMetric(); }
  double measure(BuiltModel &run, int padId, bool bf16, const Tokenizer &tokenizer);

private:
  std::filesystem::path m_run;
  ExperimentConfig m_config;
  std::vector<std::string> m_labels;
  PreparedData m_data;
};

// "masked-LM loss 2.91 → 3.40 (+16.8%)".
std::string forgettingLine(const std::string &objective, double before, double after);

// L2-SP (Li et al., 2018): λ/2·Σ‖θ − θ₀‖² over the starting model's weights that train, θ₀ taken
// when constructed (task heads and a strategy's new weights — LoRA, adapters, IA3, prefix, prompt
// — excluded: they have no starting point).
class StartingPointPenalty
{
public:
  StartingPointPenalty(torch::nn::Module &model, double lambda);
  torch::Tensor operator()() const;
  std::size_t tensors() const { return m_pairs.size(); }

private:
  std::vector<std::pair<torch::Tensor, torch::Tensor>> m_pairs; // (parameter, its starting value)
  double m_lambda;
};

} // namespace tunebench
