#pragma once

#include "core/train/dataprep.h"
#include "core/train/pretraining.h"

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tunebench {

// A batch as tensors: ids, mask and token types [batch, width] padded on the right; labels by task
// (class index [batch], 0/1 [batch, labels], or per token [batch, width] with -100 ignored;
// sequence-to-sequence: the targets [batch, target width], with the decoder's inputs shifted right).
struct Batch
{
  torch::Tensor ids, mask, types, labels;
  torch::Tensor decoderIds, decoderMask; // sequence-to-sequence only
  std::vector<int> rows;
  long tokens = 0;
  // The examples `rows` index (collate's `encoded`); null for noised copies (pre-training).
  const std::vector<EncodedExample> *source = nullptr;
};

// noise: pre-training objectives (masked LM, span corruption) noise each example afresh, seeded by
// noiseSeed and the row: the same seed gives the same batch.
Batch collate(const std::vector<EncodedExample> &encoded, const std::vector<int> &rows, int padId,
              const std::string &task, int labelCount, const PretrainingNoise *noise = nullptr,
              std::uint64_t noiseSeed = 0);

// Batches of one epoch: a seeded shuffle; with bucketing, chunks of 50 batches are sorted by
// length before they are cut (less padding), and the batch order is shuffled again.
std::vector<std::vector<int>> epochBatches(const std::vector<int> &rows, const std::vector<EncodedExample> &encoded,
                                           int batchSize, bool bucket, std::uint64_t seed, int epoch);

// One epoch's batches of several tasks as (task index, rows): task i's batches seeded with seed + i
// (task 0 exactly as epochBatches), then pooled and shuffled — each task sampled in proportion to
// its batches — or taken in turn (round robin; a task that runs out drops out).
std::vector<std::pair<int, std::vector<int>>> taskSchedule(const std::vector<const PreparedData *> &tasks, int batchSize,
                                                        bool bucket, std::uint64_t seed, int epoch, bool roundRobin);

// Loss of a batch's logits for the task (causal LMs: position t predicts token t + 1).
torch::Tensor lossOf(const torch::Tensor &logits, const Batch &b, const std::string &task, double smoothing);

// How many terms lossOf averages over for this batch (rows, or labelled tokens): data-parallel
// ranks weight their share of a global batch by it.
double lossTerms(const Batch &b, const std::string &task);

} // namespace tunebench
