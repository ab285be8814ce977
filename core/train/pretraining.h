#pragma once

#include "core/train/dataprep.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tunebench {

class Tokenizer;

// The noise of the denoising pre-training objectives, and what it needs from the tokenizer.
//   masked_lm        (BERT): a share of the tokens is chosen; of those 80% become [MASK], 10% a random
//                    token, 10% stay; the loss is on the chosen positions only.
//   span_corruption  (T5): random spans (noise density, mean span length) are cut out of the input,
//                    each replaced by one sentinel; the target lists every sentinel and its span.
struct PretrainingNoise
{
  std::string kind;           // masked_lm | span_corruption
  double density = 0.15;      // masked_lm: chosen share; span_corruption: noise density
  double meanSpan = 3.0;      // span_corruption: mean noise-span length
  int maskId = -1;            // masked_lm
  int vocabSize = 0;          // the model's vocabulary (sentinels included)
  std::vector<bool> special;  // by id: never chosen, never drawn as a random replacement
  std::vector<int> sentinels; // span_corruption: <extra_id_0>, <extra_id_1>, …
  int eos = -1;               // span_corruption: ends inputs and targets

  // From the task and tokenizer; throws tunebench::Error naming what is missing (no [MASK] token).
  // T5 tokenizers bring their sentinels; others get 100 new ids after their vocabulary, T5-style
  // (<extra_id_0> the last id).
  static PretrainingNoise forTask(const std::string &kind, double density, double meanSpan, const Tokenizer &tokenizer);

  // A noised copy of one example; the same seed gives the same noise. masked_lm: ids with their
  // replacements, tokenLabels = the original id where chosen, -100 elsewhere; span_corruption: ids
  // = the corrupted input, targets = sentinels and spans (both ending with eos).
  EncodedExample apply(const EncodedExample &example, std::uint64_t seed) const;
};

// Span corruption's mask over `length` tokens (true: noise), as T5's random_spans_noise_mask:
// round(length·density) noise tokens (at least 1, at most length − 1) in round(noise/meanSpan)
// spans (at least 1), alternating with as many non-noise spans, starting with non-noise.
std::vector<bool> randomSpansNoiseMask(int length, double density, double meanSpan, std::uint64_t seed);

} // namespace tunebench
