#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace tunebench {

// Past keys and values of every layer, [batch, heads, time, head size] each.
struct KVCache
{
  std::vector<torch::Tensor> keys;
  std::vector<torch::Tensor> values;
  std::int64_t length() const { return keys.empty() || !keys.front().defined() ? 0 : keys.front().size(2); }
  // Soft-prompt positions at the front of the cache (prompt tuning): not tokens of the sequence.
  std::int64_t virtualTokens = 0;
  std::int64_t tokens() const { return length() - virtualTokens; }
  // Keeps the given batch rows, in that order (beam search).
  void select(const torch::Tensor &rows);
};

// What generation needs from a decoder: logits for new tokens given a cache (GPT-2; T5's decoder
// with its encoder output bound).
class CausalLanguageModel
{
public:
  virtual ~CausalLanguageModel() = default;
  // ids: [batch, new]; mask: [batch, past + new]. cache may be null (recompute everything).
  virtual torch::Tensor logits(const torch::Tensor &ids, const torch::Tensor &mask, KVCache *cache) = 0;
  virtual int layerCount() const = 0;
};

struct GenerationOptions
{
  int maxNewTokens = 32;
  bool sample = false;          // false: greedy (or beam search with numBeams > 1)
  double temperature = 1.0;
  int topK = 0;                 // 0: off
  double topP = 1.0;            // 1: off
  int numBeams = 1;
  double lengthPenalty = 1.0;   // beam scores are divided by length^lengthPenalty
  double repetitionPenalty = 1.0; // > 1 discourages tokens already present (CTRL's rule)
  std::vector<int> stopTokens;  // generation ends after any of these
  bool useCache = true;         // false recomputes the whole sequence at every step (for checks)
  std::uint64_t seed = 0;
};

// Continues prompt (one sequence). Returns only the new tokens, the stop token included.
std::vector<int> generate(CausalLanguageModel &model, const std::vector<int> &prompt, const GenerationOptions &options);

// The logits processors, exposed for tests: they modify logits [batch, vocab] in place.
void applyRepetitionPenalty(torch::Tensor &logits, const std::vector<std::vector<int>> &seen, double penalty);
void applyTopK(torch::Tensor &logits, int k);
void applyTopP(torch::Tensor &logits, double p);

} // namespace tunebench
