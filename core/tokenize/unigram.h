#pragma once

#include "core/tokenize/hfpipeline.h"
#include "core/tokenize/tokenizer.h"
#include "core/util/text.h"

#include <filesystem>
#include <unordered_map>

namespace tunebench {

// A Unigram tokenizer.json (T5, ALBERT, XLM-R, mBART layouts) run as Hugging Face tokenizers runs
// it, so ids match the Hub's fast tokenizers exactly: the normalizer/pre-tokenizer pipeline
// (HfPipeline, including SentencePiece's precompiled charsmap), then per pre-token the Viterbi best
// path over the vocabulary with scores in double precision, every vocabulary entry matchable,
// characters no piece covers scored min_score - 10 and runs of them fused into one unknown token
// (or spelt as <0xXX> byte pieces with byte_fallback).
class UnigramTokenizer final : public Tokenizer
{
public:
  // root: the parsed tokenizer.json; source names it in errors (tunebench::Error).
  UnigramTokenizer(const nlohmann::json &root, const std::string &source);

  std::string family() const override { return "unigram"; }
  int vocabSize() const override { return static_cast<int>(m_pieces.size()); }
  std::string idToToken(int id) const override;
  int tokenToId(std::string_view token) const override;
  std::string decode(const std::vector<int> &ids, bool skipSpecialTokens = true) const override;

protected:
  std::vector<Token> tokenizeSegment(std::string_view text) const override;

private:
  struct Piece
  {
    int id;
    std::size_t begin, end; // byte offsets in the word
  };
  void encodeWord(const AlignedText &word, std::vector<Token> &out) const;
  std::vector<Piece> segment(const std::string &bytes, const std::vector<char> &starts) const;

  std::vector<std::pair<std::string, double>> m_pieces;
  text::StringMap<int> m_ids;
  std::size_t m_maxPieceBytes = 1;
  double m_unkScore = -10.0;
  int m_unkId = -1;
  bool m_byteFallback = false;
  int m_byteIds[256];
  HfPipeline m_pipeline;
};

} // namespace tunebench
