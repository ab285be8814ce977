#pragma once

#include "core/tokenize/sentencepiecemodel.h"
#include "core/tokenize/tokenizer.h"

#include <mutex>

namespace tunebench {

// A SentencePiece .model (unigram or BPE, e.g. T5's spiece.model) behind the Tokenizer interface.
// The model runs in libsentencepiece through the shim, so ids are exactly spm_encode's. The shim
// handle is not thread-safe, so calls are serialised.
class SentencePieceTokenizer final : public Tokenizer
{
public:
  explicit SentencePieceTokenizer(SentencePieceModel model);
  static std::unique_ptr<SentencePieceTokenizer> fromFile(const std::filesystem::path &path);

  std::string family() const override { return "sentencepiece"; }
  int vocabSize() const override { return m_vocabSize; }
  std::string idToToken(int id) const override;
  int tokenToId(std::string_view token) const override;
  std::string decode(const std::vector<int> &ids, bool skipSpecialTokens = true) const override;
  const SentencePieceModel &model() const { return m_model; }

protected:
  std::vector<Token> tokenizeSegment(std::string_view text) const override;

private:
  SentencePieceModel m_model;
  int m_vocabSize = 0;
  mutable std::mutex m_mutex;
};

} // namespace tunebench
