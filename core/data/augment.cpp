#include "core/data/augment.h"

#include "core/data/wordnet.h"
#include "core/util/cancel.h"
#include "core/util/error.h"
#include "core/util/text.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

namespace tunebench {

namespace {

// EDA's stop words are never replaced.
const std::set<std::string> &stopWords()
{
  static const std::set<std::string> words = {
    "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours", "he", "him", "his", "she",
    "her", "hers", "it", "its", "they", "them", "their", "what", "which", "who", "whom", "this", "that", "these",
    "those", "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do", "does",
    "did", "doing", "a", "an", "the", "and", "but", "if", "or", "because", "as", "until", "while", "of", "at", "by",
    "for", "with", "about", "against", "between", "into", "through", "during", "before", "after", "above", "below",
    "to", "from", "up", "down", "in", "out", "on", "off", "over", "under", "again", "further", "then", "once", "here",
    "there", "when", "where", "why", "how", "all", "any", "both", "each", "few", "more", "most", "other", "some",
    "such", "no", "nor", "not", "only", "own", "same", "so", "than", "too", "very", "s", "t", "can", "will", "just",
    "don", "should", "now", ""};
  return words;
}

std::vector<std::string> words(const std::string &s) { return text::splitWhitespace(s); }
std::string join(const std::vector<std::string> &w) { return text::join(w, " "); }
using text::lower;

class Augmenter
{
public:
  Augmenter(const AugmentOptions &o, const WordNet *wn) : m_options(o), m_wordnet(wn), m_rng(o.seed) {}

  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(m_rng() % n); }
  int changes(double alpha, std::size_t n) { return std::max(1, static_cast<int>(std::lround(alpha * static_cast<double>(n)))); }

  std::vector<std::string> synonymsOf(const std::string &word, bool oneWord)
  {
    if (!m_wordnet || stopWords().count(lower(word)))
      return {};
    std::vector<std::string> out;
    for (const std::string &s : m_wordnet->synonyms(word))
      if (!oneWord || s.find(' ') == std::string::npos)
        out.push_back(s);
    return out;
  }

  bool synonym(std::vector<std::string> &w, bool oneWord)
  {
    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < w.size(); ++i)
      if (!synonymsOf(w[i], oneWord).empty())
        candidates.push_back(i);
    if (candidates.empty())
      return false;
    std::shuffle(candidates.begin(), candidates.end(), m_rng);
    const int n = changes(m_options.synonymAlpha, w.size());
    for (int k = 0; k < n && k < static_cast<int>(candidates.size()); ++k) {
      const auto s = synonymsOf(w[candidates[static_cast<std::size_t>(k)]], oneWord);
      w[candidates[static_cast<std::size_t>(k)]] = s[pick(s.size())];
    }
    return true;
  }

  bool insertion(std::vector<std::string> &w)
  {
    bool any = false;
    for (int k = 0, n = changes(m_options.insertionAlpha, w.size()); k < n; ++k) {
      for (int attempt = 0; attempt < 10; ++attempt) {
        const auto s = synonymsOf(w[pick(w.size())], false);
        if (s.empty())
          continue;
        w.insert(w.begin() + static_cast<std::ptrdiff_t>(pick(w.size() + 1)), s[pick(s.size())]);
        any = true;
        break;
      }
    }
    return any;
  }

  bool swap(std::vector<std::string> &w)
  {
    if (w.size() < 2)
      return false;
    for (int k = 0, n = changes(m_options.swapAlpha, w.size()); k < n; ++k) {
      const std::size_t a = pick(w.size());
      std::size_t b = pick(w.size());
      for (int attempt = 0; b == a && attempt < 3; ++attempt)
        b = pick(w.size());
      std::swap(w[a], w[b]);
    }
    return true;
  }

  bool deletion(std::vector<std::string> &w)
  {
    if (w.size() < 2)
      return false;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<std::string> kept;
    for (const std::string &x : w)
      if (u(m_rng) > m_options.deletionAlpha)
        kept.push_back(x);
    if (kept.empty())
      kept.push_back(w[pick(w.size())]);
    const bool changed = kept.size() != w.size();
    w = std::move(kept);
    return changed;
  }

private:
  const AugmentOptions &m_options;
  const WordNet *m_wordnet;
  std::mt19937_64 m_rng;
};

// The field a paraphrase replaces: an instruction example's instruction, else the text.
std::string Example::*paraphrasedField(TaskKind kind)
{
  return kind == TaskKind::Instruction ? &Example::instruction : &Example::text;
}

void addParaphrases(const Dataset &dataset, const std::vector<std::size_t> &rows,
                    const AugmentOptions &options, Paraphraser &paraphraser, std::vector<Example> &out)
{
  std::string Example::*field = paraphrasedField(dataset.kind);
  std::vector<std::string> texts;
  for (std::size_t r : rows)
    texts.push_back(dataset.examples[r].*field);
  std::vector<std::set<std::string>> seen(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    seen[i].insert(texts[i]);
  for (int round = 0; round < std::max(1, options.paraphrasesPerRow); ++round) {
    throwIfStopped();
    const std::vector<std::string> paraphrases = paraphraser.paraphrase(texts);
    for (std::size_t i = 0; i < rows.size() && i < paraphrases.size(); ++i) {
      if (paraphrases[i].empty() || !seen[i].insert(paraphrases[i]).second)
        continue;
      Example e = dataset.examples[rows[i]];
      e.*field = paraphrases[i];
      e.sourceRow = static_cast<int>(rows[i]);
      e.augmentation = "back-translation (" + paraphraser.name() + ")";
      out.push_back(std::move(e));
    }
  }
}

} // namespace

std::vector<Example> augment(const Dataset &dataset, const std::vector<int> &rows, const AugmentOptions &options,
                             const WordNet *wordnet, Paraphraser *paraphraser)
{
  if (options.backTranslation && !paraphraser)
    throw Error("augmentation: back-translation needs a paraphrasing model (none was given)");
  if ((options.synonymAlpha > 0 || options.insertionAlpha > 0) && !wordnet)
    throw Error("augmentation: synonym replacement and insertion need WordNet (run packaging/fetch-assets.sh)");
  std::vector<std::string> operations;
  if (options.synonymAlpha > 0)
    operations.push_back("synonym");
  if (dataset.kind != TaskKind::TokenTagging) {
    if (options.insertionAlpha > 0)
      operations.push_back("insertion");
    if (options.swapAlpha > 0)
      operations.push_back("swap");
    if (options.deletionAlpha > 0)
      operations.push_back("deletion");
  }
  Augmenter augmenter(options, wordnet);
  std::vector<Example> out;
  std::vector<std::size_t> toParaphrase;
  for (int row : rows) {
    throwIfStopped();
    const Example &source = dataset.examples.at(static_cast<std::size_t>(row));
    for (int k = 0; k < options.perExample && !operations.empty(); ++k) {
      const std::string &op = operations[static_cast<std::size_t>(k) % operations.size()];
      Example e = source;
      e.sourceRow = row;
      e.augmentation = op;
      bool changed = false;
      if (dataset.kind == TaskKind::TokenTagging) {
        changed = augmenter.synonym(e.tokens, true);
      } else {
        std::vector<std::string> w = words(source.text);
        if (w.empty())
          break;
        changed = op == "synonym"     ? augmenter.synonym(w, false)
                  : op == "insertion" ? augmenter.insertion(w)
                  : op == "swap"      ? augmenter.swap(w)
                                      : augmenter.deletion(w);
        e.text = join(w);
        changed = changed && e.text != join(words(source.text));
      }
      if (changed)
        out.push_back(std::move(e));
    }
    if (options.backTranslation && dataset.kind != TaskKind::TokenTagging)
      toParaphrase.push_back(static_cast<std::size_t>(row));
  }
  if (!toParaphrase.empty())
    addParaphrases(dataset, toParaphrase, options, *paraphraser, out);
  return out;
}

} // namespace tunebench
