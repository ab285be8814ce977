#pragma once

#include "core/data/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tunebench {

class WordNet;

// A seq2seq model that paraphrases (back-translation: to a pivot language and back, or a
// paraphrase prompt): ModelParaphraser (core/train/paraphraser.h) runs T5 model folders;
// augmentation only needs this interface.
class Paraphraser
{
public:
  virtual ~Paraphraser() = default;
  virtual std::string name() const = 0;
  // One paraphrase per text, in order. Called once per round (paraphrasesPerRow): a sampling
  // paraphraser gives other paraphrases in each round.
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
  int paraphrasesPerRow = 1; // back-translation rounds (a round's paraphrase equal to the text or an
                             // earlier round's is dropped)
  std::uint64_t seed = 42;
};

// Augments the given rows (the training split only: pass its indices). New rows copy the label,
// record sourceRow and the operation ("synonym", "insertion", "swap", "deletion",
// "back-translation (NAME)") and are returned, not added. Classification and language-model texts
// are augmented; token tagging gets synonym replacement with one-word synonyms only, so tags stay
// aligned; back-translation paraphrases the text, or an instruction example's instruction (never
// tagging rows). Rows whose text an operation cannot change are skipped.
std::vector<Example> augment(const Dataset &dataset, const std::vector<int> &rows, const AugmentOptions &options,
                             const WordNet *wordnet, Paraphraser *paraphraser = nullptr);

} // namespace tunebench
