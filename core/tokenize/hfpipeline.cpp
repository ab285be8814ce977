#include "core/tokenize/hfpipeline.h"

#include "core/tokenize/unicode.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <memory>

namespace tunebench {
using nlohmann::json;

AlignedText AlignedText::fromUtf8(std::string_view text, std::uint32_t offset)
{
  AlignedText out;
  for (const unicode::CodePoint &c : unicode::decode(text)) {
    out.chars.push_back(c.cp);
    out.spans.emplace_back(c.begin + offset, c.end + offset);
  }
  return out;
}

std::string AlignedText::utf8() const { return unicode::encode(chars); }

std::pair<std::uint32_t, std::uint32_t> AlignedText::span(std::size_t first, std::size_t last) const
{
  std::uint32_t begin = UINT32_MAX;
  std::uint32_t end = 0;
  for (std::size_t i = first; i < last && i < spans.size(); ++i) {
    if (spans[i].first == spans[i].second)
      continue;
    begin = std::min(begin, spans[i].first);
    end = std::max(end, spans[i].second);
  }
  if (begin == UINT32_MAX) { // only inserted characters: an empty span where they stand
    const std::uint32_t at = first < spans.size() ? spans[first].first : (spans.empty() ? 0 : spans.back().second);
    return {at, at};
  }
  return {begin, end};
}

namespace {

// Characters [first, last) of `from` replaced by `replacement`, aligned as Hugging Face aligns a
// replacement: the j-th new character takes the span of the j-th old one, new characters beyond the
// old count take the span of the one before them, old characters beyond the new count are dropped.
void appendReplacement(AlignedText &to, const AlignedText &from, std::size_t first, std::size_t last,
                       const std::u32string &replacement)
{
  for (std::size_t j = 0; j < replacement.size(); ++j) {
    to.chars.push_back(replacement[j]);
    if (first + j < last)
      to.spans.push_back(from.spans[first + j]);
    else
      to.spans.push_back(last > first ? from.spans[last - 1] : std::pair<std::uint32_t, std::uint32_t>{});
  }
}

void appendRange(AlignedText &to, const AlignedText &from, std::size_t first, std::size_t last)
{
  to.chars.append(from.chars, first, last - first);
  to.spans.insert(to.spans.end(), from.spans.begin() + static_cast<std::ptrdiff_t>(first),
                  from.spans.begin() + static_cast<std::ptrdiff_t>(last));
}

AlignedText slice(const AlignedText &from, std::size_t first, std::size_t last)
{
  AlignedText out;
  appendRange(out, from, first, last);
  return out;
}

// Rewrites each match of `matches` (sorted, disjoint) with `content`.
AlignedText replaceMatches(const AlignedText &text, const std::vector<std::pair<std::size_t, std::size_t>> &matches,
                           const std::u32string &content)
{
  AlignedText out;
  std::size_t at = 0;
  for (const auto &[b, e] : matches) {
    appendRange(out, text, at, b);
    appendReplacement(out, text, b, e, content);
    at = e;
  }
  appendRange(out, text, at, text.chars.size());
  return out;
}

std::vector<std::pair<std::size_t, std::size_t>> stringMatches(const std::u32string &text, const std::u32string &needle)
{
  std::vector<std::pair<std::size_t, std::size_t>> out;
  if (needle.empty())
    return out;
  for (std::size_t at = text.find(needle); at != std::u32string::npos; at = text.find(needle, at + needle.size()))
    out.emplace_back(at, at + needle.size());
  return out;
}

// A "pattern" object: {"String": s} or {"Regex": r}; matches in text.
std::function<std::vector<std::pair<std::size_t, std::size_t>>(const std::u32string &)>
patternMatcher(const json &pattern, const std::string &where)
{
  if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
    const std::u32string needle = unicode::toU32(pattern["String"].get<std::string>());
    return [needle](const std::u32string &t) { return stringMatches(t, needle); };
  }
  if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
    const std::string regex = pattern["Regex"].get<std::string>();
    try { // compile now: a bad pattern fails at load, naming the file
      unicode::regexMatches(U"", regex);
    } catch (const Error &e) {
      throw Error(where + ": " + e.what());
    }
    return [regex](const std::u32string &t) { return unicode::regexMatches(t, regex); };
  }
  throw Error(where + ": pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

// SentencePiece's precompiled charsmap: [u32 trie size in bytes][double-array trie][NUL-separated
// replacement strings]. Applied as Hugging Face applies it: each grapheme cluster under 6 bytes is
// looked up whole, otherwise each character alone; a lookup takes the value of the shortest key
// that is a prefix of the chunk and replaces the whole chunk with it.
class Charsmap
{
public:
  Charsmap(const std::string &blob, const std::string &where)
  {
    std::uint32_t trieBytes = 0;
    if (blob.size() < 4)
      throw Error(where + ": precompiled_charsmap is too short");
    std::memcpy(&trieBytes, blob.data(), 4);
    if (trieBytes % 4 != 0 || 4ull + trieBytes > blob.size())
      throw Error(where + ": precompiled_charsmap's trie size (" + std::to_string(trieBytes) +
                  " bytes) does not fit its " + std::to_string(blob.size()) + " bytes");
    m_units.resize(trieBytes / 4);
    std::memcpy(m_units.data(), blob.data() + 4, trieBytes);
    m_normalized = blob.substr(4 + trieBytes);
  }

  // The replacement for chunk (UTF-8), or nullptr.
  const char *transform(std::string_view chunk, std::size_t &length) const
  {
    if (m_units.empty())
      return nullptr;
    auto offset = [](std::uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); };
    std::size_t pos = offset(m_units[0]);
    for (unsigned char c : chunk) {
      if (c == 0)
        return nullptr;
      pos ^= c;
      if (pos >= m_units.size())
        return nullptr;
      const std::uint32_t unit = m_units[pos];
      if ((unit & ((1u << 31) | 0xFFu)) != c)
        return nullptr;
      pos ^= offset(unit);
      if ((unit >> 8) & 1u) {
        if (pos >= m_units.size())
          return nullptr;
        const std::size_t value = m_units[pos] & 0x7FFFFFFFu;
        if (value >= m_normalized.size())
          return nullptr;
        length = std::strlen(m_normalized.c_str() + value);
        return m_normalized.c_str() + value;
      }
    }
    return nullptr;
  }

  void apply(AlignedText &text) const
  {
    const std::vector<std::size_t> bounds = unicode::graphemeBoundaries(text.chars);
    AlignedText out;
    std::string chunk;
    for (std::size_t g = 0; g + 1 < bounds.size(); ++g) {
      const std::size_t first = bounds[g];
      const std::size_t last = bounds[g + 1];
      chunk = unicode::encode(text.chars.substr(first, last - first));
      std::size_t length = 0;
      if (chunk.size() < 6) {
        if (const char *r = transform(chunk, length)) {
          appendReplacement(out, text, first, last, unicode::toU32(std::string_view(r, length)));
          continue;
        }
      }
      for (std::size_t i = first; i < last; ++i) {
        chunk.clear();
        unicode::append(chunk, text.chars[i]);
        if (const char *r = transform(chunk, length))
          appendReplacement(out, text, i, i + 1, unicode::toU32(std::string_view(r, length)));
        else
          appendRange(out, text, i, i + 1);
      }
    }
    text = std::move(out);
  }

private:
  std::vector<std::uint32_t> m_units;
  std::string m_normalized;
};

std::string base64Decode(const std::string &in, const std::string &where)
{
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r')
      continue;
    const int v = value(c);
    if (v < 0)
      throw Error(where + ": precompiled_charsmap is not base64 (character '" + std::string(1, c) + "')");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFFu));
    }
  }
  return out;
}

void normalizeForm(AlignedText &text, unicode::NormalForm form)
{
  AlignedText out;
  std::size_t start = 0;
  auto flush = [&](std::size_t end) {
    if (end > start)
      appendReplacement(out, text, start, end, unicode::normalize(text.chars.substr(start, end - start), form));
    start = end;
  };
  for (std::size_t i = 1; i < text.chars.size(); ++i)
    if (unicode::boundaryBefore(text.chars[i], form))
      flush(i);
  flush(text.chars.size());
  text = std::move(out);
}

// Splits text at `matches`: the matched parts are dropped (Removed) or kept as pre-tokens of their
// own (Isolated), or joined to the next / previous part.
std::vector<AlignedText> splitAt(const AlignedText &text, const std::vector<std::pair<std::size_t, std::size_t>> &matches,
                                 const std::string &behavior)
{
  std::vector<std::pair<std::size_t, std::size_t>> parts;
  std::size_t at = 0;
  for (const auto &[b, e] : matches) {
    if (behavior == "Removed") {
      parts.emplace_back(at, b);
    } else if (behavior == "Isolated") {
      parts.emplace_back(at, b);
      parts.emplace_back(b, e);
    } else if (behavior == "MergedWithNext") {
      parts.emplace_back(at, b);
      at = b;
      continue;
    } else { // MergedWithPrevious
      parts.emplace_back(at, e);
    }
    at = e;
  }
  parts.emplace_back(at, text.chars.size());
  std::vector<AlignedText> out;
  for (const auto &[b, e] : parts)
    if (e > b)
      out.push_back(slice(text, b, e));
  return out;
}

} // namespace

HfPipeline::HfPipeline(const json &root, const std::string &source)
{
  const json normalizer = root.value("normalizer", json());
  if (!normalizer.is_null())
    addNormalizer(normalizer, source);
  const json pre = root.value("pre_tokenizer", json());
  if (!pre.is_null())
    addPreTokenizer(pre, source);
}

void HfPipeline::addNormalizer(const json &spec, const std::string &source)
{
  const std::string type = spec.value("type", std::string());
  const std::string where = source + ": normalizer " + type;
  if (type == "Sequence") {
    for (const json &n : spec.value("normalizers", json::array()))
      addNormalizer(n, source);
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    const auto form = type == "NFC"    ? unicode::NormalForm::NFC
                      : type == "NFD"  ? unicode::NormalForm::NFD
                      : type == "NFKC" ? unicode::NormalForm::NFKC
                                       : unicode::NormalForm::NFKD;
    m_normalizers.push_back([form](AlignedText &t) { normalizeForm(t, form); });
  } else if (type == "Lowercase") {
    m_normalizers.push_back([](AlignedText &t) {
      AlignedText out;
      for (std::size_t i = 0; i < t.chars.size(); ++i)
        appendReplacement(out, t, i, i + 1, unicode::toLowerFull(t.chars[i]));
      t = std::move(out);
    });
  } else if (type == "StripAccents") {
    m_normalizers.push_back([](AlignedText &t) {
      AlignedText out;
      for (std::size_t i = 0; i < t.chars.size(); ++i)
        if (!unicode::isMark(t.chars[i]))
          appendRange(out, t, i, i + 1);
      t = std::move(out);
    });
  } else if (type == "Strip") {
    const bool left = spec.value("strip_left", true);
    const bool right = spec.value("strip_right", true);
    m_normalizers.push_back([left, right](AlignedText &t) {
      std::size_t b = 0;
      std::size_t e = t.chars.size();
      while (left && b < e && unicode::isWhiteSpace(t.chars[b]))
        ++b;
      while (right && e > b && unicode::isWhiteSpace(t.chars[e - 1]))
        --e;
      t = slice(t, b, e);
    });
  } else if (type == "Prepend") {
    const std::u32string prefix = unicode::toU32(spec.value("prepend", std::string()));
    m_normalizers.push_back([prefix](AlignedText &t) {
      if (t.chars.empty())
        return;
      const auto at = t.spans.front();
      t.chars.insert(0, prefix);
      t.spans.insert(t.spans.begin(), prefix.size(), at);
    });
  } else if (type == "Replace") {
    auto matcher = patternMatcher(spec.value("pattern", json()), where);
    const std::u32string content = unicode::toU32(spec.value("content", std::string()));
    m_normalizers.push_back([matcher, content](AlignedText &t) { t = replaceMatches(t, matcher(t.chars), content); });
  } else if (type == "Precompiled") {
    const json charsmap = spec.value("precompiled_charsmap", json());
    if (charsmap.is_null()) // a charsmap-less model (identity normalisation)
      return;
    if (!charsmap.is_string())
      throw Error(where + ": precompiled_charsmap is not a base64 string");
    auto map = std::make_shared<Charsmap>(base64Decode(charsmap.get<std::string>(), where), where);
    m_normalizers.push_back([map](AlignedText &t) { map->apply(t); });
  } else {
    throw Error(source + ": normalizer type \"" + type +
                "\" is not supported here (Sequence, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Prepend, "
                "Replace, Precompiled are)");
  }
}

void HfPipeline::addPreTokenizer(const json &spec, const std::string &source)
{
  const std::string type = spec.value("type", std::string());
  const std::string where = source + ": pre_tokenizer " + type;
  if (type == "Sequence") {
    for (const json &p : spec.value("pretokenizers", json::array()))
      addPreTokenizer(p, source);
  } else if (type == "WhitespaceSplit") {
    m_preTokenizers.push_back([](AlignedText t, bool) {
      std::vector<std::pair<std::size_t, std::size_t>> spaces;
      for (std::size_t i = 0; i < t.chars.size(); ++i)
        if (unicode::isWhiteSpace(t.chars[i]))
          spaces.emplace_back(i, i + 1);
      return splitAt(t, spaces, "Removed");
    });
  } else if (type == "Whitespace") {
    m_preTokenizers.push_back([](AlignedText t, bool) {
      std::vector<AlignedText> out;
      for (const auto &[b, e] : unicode::regexMatches(t.chars, "\\w+|[^\\w\\s]+"))
        out.push_back(slice(t, b, e));
      return out;
    });
  } else if (type == "Split") {
    auto matcher = patternMatcher(spec.value("pattern", json()), where);
    const std::string behavior = spec.value("behavior", std::string("Removed"));
    if (behavior != "Removed" && behavior != "Isolated" && behavior != "MergedWithNext" &&
        behavior != "MergedWithPrevious")
      throw Error(where + ": behavior \"" + behavior + "\" is not supported");
    if (spec.value("invert", false))
      throw Error(where + ": invert is not supported");
    m_preTokenizers.push_back([matcher, behavior](AlignedText t, bool) { return splitAt(t, matcher(t.chars), behavior); });
  } else if (type == "Metaspace") {
    m_replacement = spec.value("replacement", std::string("\xE2\x96\x81"));
    const std::u32string rep = unicode::toU32(m_replacement);
    if (rep.size() != 1)
      throw Error(where + ": replacement must be one character");
    std::string scheme = spec.value("prepend_scheme", std::string());
    if (scheme.empty())
      scheme = spec.value("add_prefix_space", true) ? "always" : "never";
    const bool split = spec.value("split", true);
    const char32_t r = rep[0];
    m_preTokenizers.push_back([r, scheme, split](AlignedText t, bool first) {
      for (char32_t &c : t.chars)
        if (c == U' ')
          c = r;
      if ((scheme == "always" || (scheme == "first" && first)) && !t.chars.empty() && t.chars.front() != r) {
        const auto at = t.spans.front();
        t.chars.insert(t.chars.begin(), r);
        t.spans.insert(t.spans.begin(), at);
      }
      if (!split)
        return std::vector<AlignedText>{std::move(t)};
      std::vector<std::pair<std::size_t, std::size_t>> marks;
      for (std::size_t i = 0; i < t.chars.size(); ++i)
        if (t.chars[i] == r)
          marks.emplace_back(i, i + 1);
      return splitAt(t, marks, "MergedWithNext");
    });
  } else {
    throw Error(source + ": pre_tokenizer type \"" + type +
                "\" is not supported with this model (Sequence, WhitespaceSplit, Whitespace, Split, Metaspace are)");
  }
}

std::vector<AlignedText> HfPipeline::run(std::string_view text) const
{
  AlignedText normalized = AlignedText::fromUtf8(text);
  for (const Step &step : m_normalizers)
    step(normalized);
  std::vector<AlignedText> words;
  if (!normalized.chars.empty())
    words.push_back(std::move(normalized));
  for (const Split &split : m_preTokenizers) {
    std::vector<AlignedText> next;
    for (std::size_t i = 0; i < words.size(); ++i)
      for (AlignedText &part : split(std::move(words[i]), i == 0))
        if (!part.chars.empty())
          next.push_back(std::move(part));
    words = std::move(next);
  }
  return words;
}

} // namespace tunebench
