#pragma once

#include "core/train/builtmodel.h"
#include "core/train/dataprep.h"
#include "core/train/trainer.h"

#include <map>
#include <string>
#include <vector>

namespace tunebench {

class ProcessGroup;
class Tokenizer;

// Evaluation of a model on some rows: loss and the metrics of the task.
struct Evaluation
{
  EvalEvent event;
  struct Sample
  {
    std::string prompt, generated, reference;
  };
  std::vector<Sample> samples; // instruction tuning: every generated answer with its reference
  std::vector<std::vector<double>> probabilities; // classification: per row, per label (in `rows` order)
  std::vector<std::vector<std::string>> predictedTags; // tagging: per row, a tag per word
  std::vector<std::vector<std::string>> truthTags;     // tagging: per row, the reference tags
  std::vector<std::vector<std::vector<double>>> tagLogProbs; // tagging: per row, per word, per label
};

// Classification: accuracy and micro/macro/weighted F1; tagging: token accuracy and, for
// BIO/IOBES tags, entity P/R/F1; language models: token-weighted loss, perplexity, next-token
// accuracy and, for instruction tuning, greedy answers to the first `evaluation.generate` rows
// scored with BLEU, ROUGE-L and exact match (tokenizer needed).
// head: the task's head in a multi-task model.
// group (data parallel): each rank computes every world-th row and the outputs are gathered, so
// every rank ends with the whole evaluation of `rows` (each row once); generated answers come from
// rank 0 alone (the trainer shares its metrics).
Evaluation evaluateRows(BuiltModel &built, const PreparedData &data, const std::vector<int> &rows,
                        const ExperimentConfig &config, int padId, bool bf16,
                        const Tokenizer *tokenizer = nullptr, const std::string &head = kTaskHead,
                        ProcessGroup *group = nullptr);

// Test accuracy of always answering the training split's most frequent label (single-label data
// with a test split; ties go to the smallest label id).
double majorityBaseline(const PreparedData &data);

// A task's own selection metric among metrics (names prefixed by `prefix`, e.g. "pos/"): its
// auto metric, or accuracy when the data lacks it (entity F1 on plain tags).
double taskSelectionScore(ExperimentConfig config, const std::map<std::string, double> &metrics,
                          const std::string &prefix = {});

} // namespace tunebench
