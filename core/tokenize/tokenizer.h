#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tunebench {

// One model token and the byte span [begin, end) of the input text it came from.
struct Token
{
  int id = 0;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

// Ids of the special tokens a tokenizer knows; -1 where it has none.
struct SpecialTokens
{
  int pad = -1;
  int unk = -1;
  int cls = -1;
  int sep = -1;
  int mask = -1;
  int bos = -1;
  int eos = -1;
};

// How special tokens wrap one text or a pair.
enum class SpecialTemplate {
  None,      // GPT-2, USE-Lite: nothing added
  Bert,      // [CLS] A [SEP] (B [SEP]); type ids 0 for A, 1 for B
  Roberta,   // <s> A </s> (</s> B </s>); type ids all 0
  EosSuffix, // T5: A </s> (B </s>)
};

enum class TruncationStrategy { LongestFirst, OnlyFirst, OnlySecond };
enum class Side { Right, Left };
enum class PaddingStrategy { None, Longest, MaxLength };

struct EncodeOptions
{
  bool addSpecialTokens = true;     // wrap with the tokenizer's template
  int maxLength = 0;                // 0: no truncation (and no max-length padding)
  TruncationStrategy truncation = TruncationStrategy::LongestFirst;
  Side truncationSide = Side::Right; // which end loses tokens
  PaddingStrategy padding = PaddingStrategy::None;
  Side paddingSide = Side::Right;
  int padToMultipleOf = 0;          // round padded length up to a multiple (0: off)
};

// The encoded form of one input (or pair), ready to become tensors.
struct Encoding
{
  std::vector<int> ids;
  std::vector<int> typeIds;
  std::vector<int> attentionMask;     // 1 for real tokens, 0 for padding
  std::vector<int> specialTokensMask; // 1 for special tokens and padding
  std::vector<int> sequenceIds;       // 0 text, 1 pair, -1 special/padding
  std::vector<int> wordIds;           // index of the source word (encodeWords), else -1
  std::vector<std::pair<std::uint32_t, std::uint32_t>> offsets; // byte spans; (0,0) for special/padding
  int truncated = 0;                  // tokens removed by truncation

  std::size_t size() const { return ids.size(); }
};

// The common interface of every tokenizer family (WordPiece, GPT-2 byte-level BPE, SentencePiece,
// USE-Lite's unigram). Subclasses implement the model (tokenize/decode/vocabulary); this class adds
// what is common: added/special tokens matched in raw text, the special-token template, truncation,
// padding, attention masks, offsets and word ids. Instances are immutable after construction and
// safe to share between threads.
class Tokenizer
{
public:
  virtual ~Tokenizer();

  // A short family name: "wordpiece", "bpe", "sentencepiece", "use-unigram".
  virtual std::string family() const = 0;
  virtual int vocabSize() const = 0;
  virtual std::string idToToken(int id) const = 0;
  // -1 when the token is not in the vocabulary.
  virtual int tokenToId(std::string_view token) const = 0;
  virtual std::string decode(const std::vector<int> &ids, bool skipSpecialTokens = true) const = 0;

  // Model tokens of text with byte offsets into text. Added tokens (e.g. "[MASK]" typed in the text)
  // are recognised first; no template tokens are added.
  std::vector<Token> tokenize(std::string_view text) const;

  Encoding encode(std::string_view text, const EncodeOptions &options = {}) const;
  Encoding encodePair(std::string_view text, std::string_view pair, const EncodeOptions &options = {}) const;
  // Pre-split words (token classification): each word is tokenized alone and wordIds says which
  // word each token came from; offsets are relative to the word.
  Encoding encodeWords(const std::vector<std::string> &words, const EncodeOptions &options = {}) const;
  // Pads every encoding to the longest (PaddingStrategy::Longest) or to maxLength.
  std::vector<Encoding> encodeBatch(const std::vector<std::string> &texts, const EncodeOptions &options = {}) const;
  void pad(std::vector<Encoding> &batch, const EncodeOptions &options) const;

  const SpecialTokens &specialTokens() const { return m_specials; }
  SpecialTemplate specialTemplate() const { return m_template; }
  // Tokens matched verbatim in raw text before the model sees it (special tokens, user tokens).
  const std::vector<std::pair<std::string, int>> &addedTokens() const { return m_added; }
  bool isSpecial(int id) const;
  // Longest sequence the model accepts (from tokenizer_config.json / config.json), 0 if unknown.
  int modelMaxLength() const { return m_modelMaxLength; }
  void setModelMaxLength(int n) { m_modelMaxLength = n; }

  void setSpecialTemplate(SpecialTemplate t) { m_template = t; }
  void setSpecialTokens(const SpecialTokens &s) { m_specials = s; }
  // Registers a token matched verbatim in raw text; `special` ones are skipped by decode.
  void addToken(const std::string &text, int id, bool special);

protected:
  Tokenizer() = default;
  // The model proper: tokens of a text segment that contains no added token.
  virtual std::vector<Token> tokenizeSegment(std::string_view text) const = 0;

  SpecialTokens m_specials;
  SpecialTemplate m_template = SpecialTemplate::None;

private:
  Encoding assemble(std::vector<Token> first, std::vector<Token> *second, const EncodeOptions &options) const;

  std::vector<std::pair<std::string, int>> m_added; // longest first
  std::vector<int> m_specialIds;
  int m_modelMaxLength = 0;
};

// Word-level labels (NER/POS tags as label ids) onto tokens: the first token of each word gets its
// word's label, every other token (later sub-words, specials, padding) gets `ignore`, which the loss
// skips.
std::vector<int> alignWordLabels(const Encoding &encoding, const std::vector<int> &wordLabels, int ignore = -100);

} // namespace tunebench
