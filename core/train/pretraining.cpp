#include "core/train/pretraining.h"

#include "core/tokenize/tokenizer.h"
#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace tunebench {

namespace {

std::uint64_t mix(std::uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// `items` split into `segments` non-empty runs at random: their lengths.
std::vector<int> randomSegmentation(int items, int segments, std::mt19937_64 &rng)
{
  std::vector<int> starts(static_cast<std::size_t>(items - 1), 0);
  std::fill(starts.begin(), starts.begin() + (segments - 1), 1);
  std::shuffle(starts.begin(), starts.end(), rng);
  std::vector<int> lengths(1, 1);
  for (int s : starts) {
    if (s)
      lengths.push_back(0);
    ++lengths.back();
  }
  return lengths;
}

} // namespace

std::vector<bool> randomSpansNoiseMask(int length, double density, double meanSpan, std::uint64_t seed)
{
  std::vector<bool> mask(static_cast<std::size_t>(std::max(length, 0)), false);
  if (length < 2)
    return mask;
  const int noise = std::clamp(static_cast<int>(std::lround(length * density)), 1, length - 1);
  const int spans = std::clamp(static_cast<int>(std::lround(noise / meanSpan)), 1, std::min(noise, length - noise));
  std::mt19937_64 rng(mix(seed));
  const std::vector<int> noiseLengths = randomSegmentation(noise, spans, rng);
  const std::vector<int> keepLengths = randomSegmentation(length - noise, spans, rng);
  std::size_t at = 0;
  for (int s = 0; s < spans; ++s) {
    at += static_cast<std::size_t>(keepLengths[static_cast<std::size_t>(s)]);
    for (int i = 0; i < noiseLengths[static_cast<std::size_t>(s)]; ++i)
      mask[at++] = true;
  }
  return mask;
}

PretrainingNoise PretrainingNoise::forTask(const std::string &kind, double density, double meanSpan,
                                           const Tokenizer &tokenizer)
{
  PretrainingNoise n;
  n.kind = kind;
  n.density = density;
  n.meanSpan = meanSpan;
  n.vocabSize = tokenizer.vocabSize();
  const SpecialTokens &s = tokenizer.specialTokens();
  if (kind == "masked_lm") {
    n.maskId = s.mask >= 0 ? s.mask : tokenizer.tokenToId("[MASK]");
    if (n.maskId < 0)
      n.maskId = tokenizer.tokenToId("<mask>");
    if (n.maskId < 0)
      throw Error("task.kind masked_lm: the tokenizer has no mask token ([MASK] or <mask>); use a BERT or RoBERTa "
                  "tokenizer");
  } else if (kind == "span_corruption") {
    for (int k = 0; k < 100; ++k) {
      const int id = tokenizer.tokenToId("<extra_id_" + std::to_string(k) + ">");
      if (id < 0)
        break;
      n.sentinels.push_back(id);
    }
    if (n.sentinels.empty()) { // T5's layout: <extra_id_0> is the last id of the model's vocabulary
      for (int k = 0; k < 100; ++k)
        n.sentinels.push_back(n.vocabSize + 99 - k);
      n.vocabSize += 100;
    }
    n.eos = s.eos >= 0 ? s.eos : s.sep;
    if (n.eos < 0)
      n.eos = tokenizer.tokenToId("</s>");
    if (n.eos < 0)
      throw Error("task.kind span_corruption: the tokenizer has no end-of-sequence token (</s>, [SEP])");
  } else {
    throw Error("\"" + kind + "\" is not a denoising objective (masked_lm, span_corruption)");
  }
  n.special.assign(static_cast<std::size_t>(n.vocabSize), false);
  for (int id : {s.pad, s.unk, s.cls, s.sep, s.mask, s.bos, s.eos, n.maskId, n.eos})
    if (id >= 0 && id < n.vocabSize)
      n.special[static_cast<std::size_t>(id)] = true;
  for (int id : n.sentinels)
    n.special[static_cast<std::size_t>(id)] = true;
  return n;
}

EncodedExample PretrainingNoise::apply(const EncodedExample &example, std::uint64_t seed) const
{
  EncodedExample out = example;
  std::mt19937_64 rng(mix(seed ^ 0x6d6c6dULL));
  auto isSpecial = [&](int id) { return id < 0 || id >= vocabSize || special[static_cast<std::size_t>(id)]; };
  if (kind == "masked_lm") {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::uniform_int_distribution<int> token(0, vocabSize - 1);
    out.tokenLabels.assign(example.ids.size(), -100);
    std::vector<std::size_t> candidates;
    for (std::size_t t = 0; t < example.ids.size(); ++t)
      if (!isSpecial(example.ids[t]))
        candidates.push_back(t);
    std::vector<std::size_t> chosen;
    for (std::size_t t : candidates)
      if (unit(rng) < density)
        chosen.push_back(t);
    if (chosen.empty() && !candidates.empty()) // every example teaches something
      chosen.push_back(candidates[std::uniform_int_distribution<std::size_t>(0, candidates.size() - 1)(rng)]);
    for (std::size_t t : chosen) {
      out.tokenLabels[t] = example.ids[t];
      const double r = unit(rng);
      if (r < 0.8) {
        out.ids[t] = maskId;
      } else if (r < 0.9) {
        int id = token(rng);
        while (isSpecial(id))
          id = token(rng);
        out.ids[t] = id;
      }
    }
    return out;
  }
  // span_corruption
  const std::vector<bool> noise = randomSpansNoiseMask(static_cast<int>(example.ids.size()), density, meanSpan, seed);
  out.ids.clear();
  out.targets.clear();
  std::size_t span = 0;
  for (std::size_t t = 0; t < example.ids.size(); ++t) {
    if (!noise[t]) {
      out.ids.push_back(example.ids[t]);
      continue;
    }
    if (t == 0 || !noise[t - 1]) {
      const int sentinel = sentinels[std::min(span++, sentinels.size() - 1)];
      out.ids.push_back(sentinel);
      out.targets.push_back(sentinel);
    }
    out.targets.push_back(example.ids[t]);
  }
  out.ids.push_back(eos);
  out.targets.push_back(eos);
  out.typeIds.assign(out.ids.size(), 0);
  out.tokenLabels.clear();
  return out;
}

} // namespace tunebench
