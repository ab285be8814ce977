#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tunebench {

// Text on its way through a Hugging Face tokenizer.json pipeline: every code point with the byte
// span [begin, end) of the original text it came from (an inserted character, e.g. Metaspace's
// prefix, takes the span of the character it was put before, as Hugging Face aligns it).
struct AlignedText
{
  std::u32string chars;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> spans;

  static AlignedText fromUtf8(std::string_view text, std::uint32_t offset = 0);
  std::string utf8() const;
  // Byte span of chars [first, last) in the original: the union of their non-empty spans.
  std::pair<std::uint32_t, std::uint32_t> span(std::size_t first, std::size_t last) const;
};

// The "normalizer" and "pre_tokenizer" sections of a tokenizer.json, run the way Hugging Face
// tokenizers runs them (used for the models that have no tokenizer of their own here: Unigram).
// Normalizers: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Prepend, Replace
// (string or regex), Precompiled (SentencePiece's charsmap). Pre-tokenizers: Sequence,
// WhitespaceSplit, Whitespace, Metaspace, Split (regex, removed or isolated). Anything else
// throws tunebench::Error naming `source` and the type.
class HfPipeline
{
public:
  HfPipeline(const nlohmann::json &root, const std::string &source);

  // The pre-tokens (words) of one text segment, normalised.
  std::vector<AlignedText> run(std::string_view text) const;

  // Metaspace settings, which the decoder mirrors ("" when there is no Metaspace).
  const std::string &metaspaceReplacement() const { return m_replacement; }

private:
  using Step = std::function<void(AlignedText &)>;
  using Split = std::function<std::vector<AlignedText>(AlignedText, bool first)>;
  void addNormalizer(const nlohmann::json &spec, const std::string &source);
  void addPreTokenizer(const nlohmann::json &spec, const std::string &source);

  std::vector<Step> m_normalizers;
  std::vector<Split> m_preTokenizers;
  std::string m_replacement;
};

} // namespace tunebench
