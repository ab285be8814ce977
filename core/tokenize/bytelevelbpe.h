#pragma once

#include "core/tokenize/tokenizer.h"
#include "core/tokenize/vocabulary.h"

#include <filesystem>
#include <mutex>
#include <unordered_map>

namespace tunebench {

// GPT-2's byte-level BPE (also RoBERTa's): GPT-2's pre-tokenisation pattern, every byte mapped to a
// printable character, then merges by rank. Decoding restores the exact bytes.
class ByteLevelBpeTokenizer final : public Tokenizer
{
public:
  // merges: pairs in rank order (first = merged first).
  ByteLevelBpeTokenizer(Vocabulary vocabulary, std::vector<std::pair<std::string, std::string>> merges,
                        bool addPrefixSpace = false);
  // vocab.json + merges.txt ("#version" line optional). Throws tunebench::Error naming the file/line.
  static std::unique_ptr<ByteLevelBpeTokenizer> fromFiles(const std::filesystem::path &vocabJson,
                                                          const std::filesystem::path &mergesTxt,
                                                          bool addPrefixSpace = false);

  std::string family() const override { return "bpe"; }
  int vocabSize() const override { return m_vocab.size(); }
  std::string idToToken(int id) const override;
  int tokenToId(std::string_view token) const override { return m_vocab.find(token); }
  std::string decode(const std::vector<int> &ids, bool skipSpecialTokens = true) const override;

  // GPT-2's pre-tokenisation: the byte spans of the pieces of text (exposed for tests).
  static std::vector<std::pair<std::uint32_t, std::uint32_t>> preTokenize(std::string_view text);

protected:
  std::vector<Token> tokenizeSegment(std::string_view text) const override;

private:
  std::vector<int> bpe(std::string_view piece) const;

  Vocabulary m_vocab;
  std::unordered_map<std::string, int> m_ranks; // "left right" → rank
  bool m_addPrefixSpace = false;
  mutable std::mutex m_cacheMutex;
  mutable std::unordered_map<std::string, std::vector<int>> m_cache;
};

} // namespace tunebench
