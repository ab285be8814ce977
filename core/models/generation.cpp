#include "core/models/generation.h"

#include "core/util/error.h"

#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <set>

namespace tunebench {

void KVCache::select(const torch::Tensor &rows)
{
  for (auto *list : {&keys, &values})
    for (torch::Tensor &t : *list)
      if (t.defined())
        t = t.index_select(0, rows);
}

void applyRepetitionPenalty(torch::Tensor &logits, const std::vector<std::vector<int>> &seen, double penalty)
{
  if (penalty == 1.0)
    return;
  for (std::size_t row = 0; row < seen.size(); ++row) {
    if (seen[row].empty())
      continue;
    const std::set<int> distinct(seen[row].begin(), seen[row].end());
    const torch::Tensor ids = torch::tensor(std::vector<std::int64_t>(distinct.begin(), distinct.end()), torch::kLong);
    torch::Tensor r = logits[static_cast<std::int64_t>(row)];
    const torch::Tensor values = r.index_select(0, ids);
    r.index_copy_(0, ids, torch::where(values < 0, values * penalty, values / penalty));
  }
}

void applyTopK(torch::Tensor &logits, int k)
{
  if (k <= 0 || k >= logits.size(-1))
    return;
  const torch::Tensor kth = std::get<0>(logits.topk(k, -1)).select(-1, k - 1).unsqueeze(-1);
  logits.masked_fill_(logits < kth, -std::numeric_limits<float>::infinity());
}

void applyTopP(torch::Tensor &logits, double p)
{
  if (p >= 1.0)
    return;
  auto [sorted, order] = logits.sort(-1, /*descending=*/true);
  const torch::Tensor cumulative = sorted.softmax(-1).cumsum(-1);
  // Remove a token when the tokens before it already reach p; the first always stays.
  torch::Tensor remove = (cumulative - sorted.softmax(-1)) >= p;
  remove.select(-1, 0).fill_(false);
  logits.masked_fill_(remove.scatter(-1, order, remove), -std::numeric_limits<float>::infinity());
}

namespace {

// Logits for the last position of `sequence` (all tokens so far), using or filling the cache.
torch::Tensor nextLogits(CausalLanguageModel &model, const std::vector<std::vector<int>> &sequences, KVCache *cache)
{
  const std::int64_t batch = static_cast<std::int64_t>(sequences.size());
  const std::int64_t length = static_cast<std::int64_t>(sequences.front().size());
  const std::int64_t past = cache ? cache->tokens() : 0;
  std::vector<std::int64_t> flat;
  for (const auto &s : sequences)
    flat.insert(flat.end(), s.begin() + past, s.end());
  const torch::Tensor ids = torch::tensor(flat, torch::kLong).view({batch, length - past});
  const torch::Tensor mask = torch::ones({batch, length}, torch::kLong);
  return model.logits(ids, mask, cache).select(1, -1).to(torch::kFloat32);
}

bool stops(const GenerationOptions &o, int token)
{
  return std::find(o.stopTokens.begin(), o.stopTokens.end(), token) != o.stopTokens.end();
}

std::vector<int> sampleOrGreedy(CausalLanguageModel &model, const std::vector<int> &prompt, const GenerationOptions &o)
{
  torch::NoGradGuard noGrad;
  auto generator = at::detail::createCPUGenerator(o.seed);
  std::vector<std::vector<int>> sequence{prompt};
  KVCache cache;
  std::vector<int> out;
  for (int step = 0; step < o.maxNewTokens; ++step) {
    torch::Tensor logits = nextLogits(model, sequence, o.useCache ? &cache : nullptr);
    applyRepetitionPenalty(logits, sequence, o.repetitionPenalty);
    int token = 0;
    if (o.sample) {
      logits = logits / std::max(o.temperature, 1e-6);
      applyTopK(logits, o.topK);
      applyTopP(logits, o.topP);
      token = static_cast<int>(torch::multinomial(logits.softmax(-1), 1, false, generator).item<std::int64_t>());
    } else {
      token = static_cast<int>(logits.argmax(-1).item<std::int64_t>());
    }
    out.push_back(token);
    sequence.front().push_back(token);
    if (stops(o, token))
      break;
  }
  return out;
}

// Beam search: numBeams hypotheses scored by summed log-probabilities; a hypothesis that emits a
// stop token is finished with score / length^lengthPenalty.
std::vector<int> beamSearch(CausalLanguageModel &model, const std::vector<int> &prompt, const GenerationOptions &o)
{
  torch::NoGradGuard noGrad;
  const int beams = o.numBeams;
  std::vector<std::vector<int>> sequences{prompt};
  std::vector<double> scores{0.0};
  std::vector<std::pair<double, std::vector<int>>> finished;
  KVCache cache;
  for (int step = 0; step < o.maxNewTokens; ++step) {
    torch::Tensor logits = nextLogits(model, sequences, o.useCache ? &cache : nullptr);
    applyRepetitionPenalty(logits, sequences, o.repetitionPenalty);
    const torch::Tensor logProbs = logits.log_softmax(-1) +
                                   torch::tensor(scores, torch::kFloat64).to(torch::kFloat32).unsqueeze(1);
    const auto vocab = logProbs.size(1);
    const auto [top, index] = logProbs.flatten().topk(std::min<std::int64_t>(2 * beams, logProbs.numel()));
    std::vector<std::vector<int>> nextSequences;
    std::vector<double> nextScores;
    std::vector<std::int64_t> parents;
    for (std::int64_t k = 0; k < top.size(0) && static_cast<int>(nextSequences.size()) < beams; ++k) {
      const std::int64_t flat = index[k].item<std::int64_t>();
      const std::int64_t parent = flat / vocab;
      const int token = static_cast<int>(flat % vocab);
      std::vector<int> s = sequences[static_cast<std::size_t>(parent)];
      s.push_back(token);
      const double score = top[k].item<double>();
      if (stops(o, token)) {
        const double length = static_cast<double>(s.size() - prompt.size());
        finished.emplace_back(score / std::pow(length, o.lengthPenalty), std::move(s));
        continue;
      }
      nextSequences.push_back(std::move(s));
      nextScores.push_back(score);
      parents.push_back(parent);
    }
    if (static_cast<int>(finished.size()) >= beams || nextSequences.empty())
      break;
    sequences = std::move(nextSequences);
    scores = std::move(nextScores);
    if (o.useCache)
      cache.select(torch::tensor(parents, torch::kLong));
  }
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    const double length = static_cast<double>(sequences[i].size() - prompt.size());
    finished.emplace_back(scores[i] / std::pow(std::max(length, 1.0), o.lengthPenalty), sequences[i]);
  }
  const auto best = std::max_element(finished.begin(), finished.end(),
                                     [](const auto &a, const auto &b) { return a.first < b.first; });
  return std::vector<int>(best->second.begin() + static_cast<std::ptrdiff_t>(prompt.size()), best->second.end());
}

} // namespace

std::vector<int> generate(CausalLanguageModel &model, const std::vector<int> &prompt, const GenerationOptions &o)
{
  if (prompt.empty())
    throw Error("generation needs a prompt of at least one token");
  if (o.numBeams < 1 || o.maxNewTokens < 0 || o.temperature <= 0 || o.topP <= 0 || o.repetitionPenalty <= 0)
    throw Error("generation options out of range (beams ≥ 1, max new tokens ≥ 0, temperature, top-p and "
                "repetition penalty > 0)");
  if (o.numBeams > 1 && !o.sample)
    return beamSearch(model, prompt, o);
  return sampleOrGreedy(model, prompt, o);
}

} // namespace tunebench
