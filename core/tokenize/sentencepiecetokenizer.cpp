#include "core/tokenize/sentencepiecetokenizer.h"

namespace tunebench {

SentencePieceTokenizer::SentencePieceTokenizer(SentencePieceModel model) : m_model(std::move(model))
{
  m_vocabSize = m_model.pieceCount();
  m_specials.unk = m_model.unkId();
  m_specials.bos = m_model.bosId();
  m_specials.eos = m_model.eosId();
  m_specials.pad = m_model.padId();
  // Control pieces (<s>, </s>) are not matched in raw text here, exactly as spm_encode does; a model
  // folder's special-token files add them (see tokenizerloader.cpp), as Hugging Face does.
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::fromFile(const std::filesystem::path &path)
{
  return std::make_unique<SentencePieceTokenizer>(SentencePieceModel::fromFile(path));
}

std::string SentencePieceTokenizer::idToToken(int id) const
{
  if (id < 0 || id >= m_vocabSize)
    return {};
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_model.idToPiece(id);
}

int SentencePieceTokenizer::tokenToId(std::string_view token) const
{
  std::lock_guard<std::mutex> lock(m_mutex);
  const int id = m_model.pieceToId(token);
  // SentencePiece answers unknown pieces with the unknown id.
  return id == m_specials.unk && token != m_model.idToPiece(id) ? -1 : id;
}

std::vector<Token> SentencePieceTokenizer::tokenizeSegment(std::string_view text) const
{
  std::lock_guard<std::mutex> lock(m_mutex);
  std::vector<Token> out;
  for (const SpmPiece &p : m_model.encodeWithOffsets(text))
    out.push_back({p.id, p.begin, p.end});
  return out;
}

std::string SentencePieceTokenizer::decode(const std::vector<int> &ids, bool skipSpecialTokens) const
{
  std::vector<int> kept;
  for (int id : ids)
    if (id >= 0 && id < m_vocabSize && !(skipSpecialTokens && isSpecial(id)))
      kept.push_back(id);
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_model.decode(kept);
}

} // namespace tunebench
