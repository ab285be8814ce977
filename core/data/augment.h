#pragma once

#include "core/data/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tunebench {

class WordNet;

// A seq2seq model that paraphrases (back-translation: to a pivot language and back, or a
// paraphrase prompt). The model issue provides T5-based implementations; augmentation only needs
// this interface.
class Paraphraser
{
public:
  virtual ~Paraphraser() = default;
  virtual std::string name() const = 0;
  // One paraphrase per text, in order.
  virtual std::vector<std::string> paraphrase(const std::vector<std::string> &texts) = 0;
};

// EDA (Wei & Zou, 2019) with its α parameters, plus back-translation when a paraphraser is given.
// Each operation changes n = max(1, round(α × words)) words; deletion drops each word with
// probability α (keeping at least one).
struct AugmentOptions
{
  double synonymAlpha = 0.1;   // synonym replacement (WordNet); 0 disables
  double insertionAlpha = 0.1; // random insertion of a synonym of a word in the text
  double swapAlpha = 0.1;      // random swap of two words
  double deletionAlpha = 0.1;  // random deletion
  int perExample = 4;          // new rows per source row, spread over the enabled operations
  bool backTranslation = false;
  std::uint64_t seed = 42;
};

// Augments the given rows (the training split only: pass its indices). New rows copy the label,
// record sourceRow and the operation ("synonym", "insertion", "swap", "deletion",
// "back-translation") and are returned, not added. Classification and language-model texts are
// augmented; token tagging gets synonym replacement with one-word synonyms only, so tags stay
// aligned. Rows whose text an operation cannot change are skipped.
std::vector<Example> augment(const Dataset &dataset, const std::vector<int> &rows, const AugmentOptions &options,
                             const WordNet *wordnet, Paraphraser *paraphraser = nullptr);

} // namespace tunebench
