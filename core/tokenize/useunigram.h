#pragma once

#include "core/tokenize/tokenizer.h"
#include "core/util/text.h"

#include <filesystem>
#include <unordered_map>

namespace tunebench {

// The tokenizer of the Universal Sentence Encoder Lite (TF.js): a unigram model over vocab.json's
// [piece, log-probability] list, reproduced exactly as the TF.js tokenizer computes it, quirks
// included, because the pre-trained model saw those ids:
//  - the text is NFKC-normalised, "▁" is prepended and every U+0020 becomes "▁";
//  - the first 6 entries (<unk>, <s>, </s>, 3 extra ids) are never matched;
//  - a character no piece starts with becomes id 0 (score 0), and a run of them one id 0;
//  - the best path keeps a candidate when the best so far is exactly 0 (treated as unset) or the
//    new score is >= it (ties go to the later start);
//  - the back-trace steps back by a piece's UTF-16 length, which differs from its code-point
//    length only for pieces with characters outside the BMP.
class UseUnigramTokenizer final : public Tokenizer
{
public:
  static constexpr int kReservedSymbols = 6;

  explicit UseUnigramTokenizer(std::vector<std::pair<std::string, double>> pieces);
  // vocab.json: [[piece, score], ...]. Throws tunebench::Error naming the file and entry.
  static std::unique_ptr<UseUnigramTokenizer> fromVocabJson(const std::filesystem::path &path);

  std::string family() const override { return "use-unigram"; }
  int vocabSize() const override { return static_cast<int>(m_pieces.size()); }
  std::string idToToken(int id) const override;
  int tokenToId(std::string_view token) const override;
  std::string decode(const std::vector<int> &ids, bool skipSpecialTokens = true) const override;

protected:
  std::vector<Token> tokenizeSegment(std::string_view text) const override;

private:
  struct Piece
  {
    std::string text;
    double score = 0.0;
    int codePoints = 0;
    int utf16Length = 0;
  };
  std::vector<Piece> m_pieces;
  // Matchable pieces only; looked up by string_view so the lattice allocates nothing per lookup.
  text::StringMap<int> m_lookup;
  int m_maxCodePoints = 1;
};

} // namespace tunebench
