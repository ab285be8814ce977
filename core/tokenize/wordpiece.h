#pragma once

#include "core/tokenize/tokenizer.h"
#include "core/tokenize/vocabulary.h"

#include <filesystem>
#include <optional>

namespace tunebench {

// BERT's normaliser and pre-tokeniser options (Hugging Face BertNormalizer/BertPreTokenizer).
struct WordPieceOptions
{
  bool lowercase = true;            // uncased models
  std::optional<bool> stripAccents; // unset: follows lowercase
  bool cleanText = true;            // drop control characters, map whitespace to ' '
  bool handleChineseChars = true;   // CJK ideographs become words of their own
  std::string unkToken = "[UNK]";
  std::string continuingPrefix = "##";
  int maxInputCharsPerWord = 100;   // longer words become [UNK]
};

// WordPiece as BERT does it: normalise (clean, CJK, accents, lower-case), split on whitespace and
// punctuation, then greedy longest-match-first sub-words with "##" continuations.
class WordPieceTokenizer final : public Tokenizer
{
public:
  WordPieceTokenizer(Vocabulary vocabulary, WordPieceOptions options);
  // vocab.txt: one token per line, the line number is the id. Throws tunebench::Error naming the file.
  static std::unique_ptr<WordPieceTokenizer> fromVocabFile(const std::filesystem::path &path,
                                                           WordPieceOptions options = {});

  std::string family() const override { return "wordpiece"; }
  int vocabSize() const override { return m_vocab.size(); }
  std::string idToToken(int id) const override;
  int tokenToId(std::string_view token) const override { return m_vocab.find(token); }
  std::string decode(const std::vector<int> &ids, bool skipSpecialTokens = true) const override;
  const WordPieceOptions &options() const { return m_options; }

protected:
  std::vector<Token> tokenizeSegment(std::string_view text) const override;

private:
  struct Char
  {
    char32_t cp;
    std::uint32_t begin;
    std::uint32_t end;
  };
  std::vector<Char> normalize(std::string_view text) const;
  void wordPieces(const std::vector<Char> &word, std::vector<Token> &out) const;

  Vocabulary m_vocab;
  WordPieceOptions m_options;
  int m_unkId = -1;
};

} // namespace tunebench
