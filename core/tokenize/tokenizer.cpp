#include "core/tokenize/tokenizer.h"

#include "core/util/error.h"

#include <algorithm>

namespace tunebench {

namespace {

int addedBy(SpecialTemplate t, bool pair)
{
  switch (t) {
  case SpecialTemplate::None: return 0;
  case SpecialTemplate::Bert: return pair ? 3 : 2;
  case SpecialTemplate::Roberta: return pair ? 4 : 2;
  case SpecialTemplate::EosSuffix: return pair ? 2 : 1;
  }
  return 0;
}

void cut(std::vector<Token> &tokens, std::size_t keep, Side side)
{
  if (tokens.size() <= keep)
    return;
  if (side == Side::Right)
    tokens.resize(keep);
  else
    tokens.erase(tokens.begin(), tokens.end() - static_cast<std::ptrdiff_t>(keep));
}

} // namespace

Tokenizer::~Tokenizer() = default;

void Tokenizer::addToken(const std::string &text, int id, bool special)
{
  if (text.empty())
    return;
  m_added.erase(std::remove_if(m_added.begin(), m_added.end(), [&](const auto &a) { return a.first == text; }),
                m_added.end());
  m_added.emplace_back(text, id);
  std::stable_sort(m_added.begin(), m_added.end(),
                   [](const auto &a, const auto &b) { return a.first.size() > b.first.size(); });
  if (special && !isSpecial(id))
    m_specialIds.push_back(id);
}

bool Tokenizer::isSpecial(int id) const
{
  if (std::find(m_specialIds.begin(), m_specialIds.end(), id) != m_specialIds.end())
    return true;
  const SpecialTokens &s = m_specials;
  return id >= 0 && (id == s.pad || id == s.cls || id == s.sep || id == s.mask || id == s.bos || id == s.eos);
}

std::vector<Token> Tokenizer::tokenize(std::string_view text) const
{
  std::vector<Token> out;
  std::size_t segmentStart = 0;
  auto flush = [&](std::size_t end) {
    if (end <= segmentStart)
      return;
    for (Token t : tokenizeSegment(text.substr(segmentStart, end - segmentStart))) {
      t.begin += static_cast<std::uint32_t>(segmentStart);
      t.end += static_cast<std::uint32_t>(segmentStart);
      out.push_back(t);
    }
  };
  std::size_t i = 0;
  while (i < text.size() && !m_added.empty()) {
    const auto match = std::find_if(m_added.begin(), m_added.end(), [&](const auto &a) {
      return text.compare(i, a.first.size(), a.first) == 0;
    });
    if (match == m_added.end()) {
      ++i;
      continue;
    }
    flush(i);
    out.push_back({match->second, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i + match->first.size())});
    i += match->first.size();
    segmentStart = i;
  }
  flush(text.size());
  return out;
}

namespace {

// The texts cut to max_length less the special tokens, by the truncation strategy.
void truncateToFit(std::vector<Token> &first, std::vector<Token> *second, const EncodeOptions &options,
                   int specials)
{
  const bool pair = second != nullptr;
  const std::size_t before = first.size() + (pair ? second->size() : 0);
  if (options.maxLength <= 0 || before + specials <= static_cast<std::size_t>(options.maxLength))
    return;
  const std::size_t budget = static_cast<std::size_t>(std::max(0, options.maxLength - specials));
  if (!pair || options.truncation == TruncationStrategy::OnlyFirst) {
    const std::size_t other = pair ? second->size() : 0;
    if (other > budget)
      throw Error("truncation only_first cannot fit: the second text alone has " + std::to_string(other) +
                  " tokens for a budget of " + std::to_string(budget));
    cut(first, budget - other, options.truncationSide);
  } else if (options.truncation == TruncationStrategy::OnlySecond) {
    if (first.size() > budget)
      throw Error("truncation only_second cannot fit: the first text alone has " +
                  std::to_string(first.size()) + " tokens for a budget of " + std::to_string(budget));
    cut(*second, budget - first.size(), options.truncationSide);
  } else {
    // Longest first, as Hugging Face tokenizers does it: the shorter keeps what it can (at least
    // half the budget), the longer gets the rest.
    std::size_t n1 = first.size();
    std::size_t n2 = second->size();
    const bool swap = n1 > n2;
    if (swap)
      std::swap(n1, n2);
    n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
    if (n1 + n2 > budget) {
      n1 = budget / 2;
      n2 = n1 + budget % 2;
    }
    if (swap)
      std::swap(n1, n2);
    cut(first, n1, options.truncationSide);
    cut(*second, n2, options.truncationSide);
  }
}

} // namespace

Encoding Tokenizer::assemble(std::vector<Token> first, std::vector<Token> *second,
                             const EncodeOptions &options) const
{
  Encoding enc;
  const bool pair = second != nullptr;
  const int specials = options.addSpecialTokens ? addedBy(m_template, pair) : 0;
  const std::size_t before = first.size() + (pair ? second->size() : 0);
  truncateToFit(first, second, options, specials);
  enc.truncated = static_cast<int>(before - first.size() - (pair ? second->size() : 0));

  auto special = [&](int id, int type) {
    enc.ids.push_back(id);
    enc.typeIds.push_back(type);
    enc.specialTokensMask.push_back(1);
    enc.sequenceIds.push_back(-1);
    enc.offsets.emplace_back(0, 0);
  };
  auto tokens = [&](const std::vector<Token> &list, int sequence, int type) {
    for (const Token &t : list) {
      enc.ids.push_back(t.id);
      enc.typeIds.push_back(type);
      enc.specialTokensMask.push_back(isSpecial(t.id) ? 1 : 0);
      enc.sequenceIds.push_back(sequence);
      enc.offsets.emplace_back(t.begin, t.end);
    }
  };
  const bool add = options.addSpecialTokens;
  const SpecialTokens &s = m_specials;
  switch (add ? m_template : SpecialTemplate::None) {
  case SpecialTemplate::None:
    tokens(first, 0, 0);
    if (pair)
      tokens(*second, 1, 1);
    break;
  case SpecialTemplate::Bert:
    special(s.cls, 0);
    tokens(first, 0, 0);
    special(s.sep, 0);
    if (pair) {
      tokens(*second, 1, 1);
      special(s.sep, 1);
    }
    break;
  case SpecialTemplate::Roberta:
    special(s.bos, 0);
    tokens(first, 0, 0);
    special(s.eos, 0);
    if (pair) {
      special(s.eos, 0);
      tokens(*second, 1, 0);
      special(s.eos, 0);
    }
    break;
  case SpecialTemplate::EosSuffix:
    tokens(first, 0, 0);
    special(s.eos, 0);
    if (pair) {
      tokens(*second, 1, 0);
      special(s.eos, 0);
    }
    break;
  }
  enc.attentionMask.assign(enc.ids.size(), 1);
  enc.wordIds.assign(enc.ids.size(), -1);
  if (options.padding == PaddingStrategy::MaxLength) {
    std::vector<Encoding> one{std::move(enc)};
    pad(one, options);
    return std::move(one.front());
  }
  return enc;
}

Encoding Tokenizer::encode(std::string_view text, const EncodeOptions &options) const
{
  return assemble(tokenize(text), nullptr, options);
}

Encoding Tokenizer::encodePair(std::string_view text, std::string_view pair, const EncodeOptions &options) const
{
  std::vector<Token> second = tokenize(pair);
  return assemble(tokenize(text), &second, options);
}

Encoding Tokenizer::encodeWords(const std::vector<std::string> &words, const EncodeOptions &options) const
{
  std::vector<Token> tokens;
  std::vector<int> wordOf;
  for (std::size_t w = 0; w < words.size(); ++w)
    for (const Token &t : tokenize(words[w])) {
      tokens.push_back(t);
      wordOf.push_back(static_cast<int>(w));
    }
  EncodeOptions noPadding = options;
  noPadding.padding = PaddingStrategy::None;
  Encoding enc = assemble(tokens, nullptr, noPadding);
  // Map each kept token back to its word: tokens keep their order, so walk both lists.
  const std::size_t dropFront =
      options.truncationSide == Side::Left ? static_cast<std::size_t>(enc.truncated) : 0;
  std::size_t next = dropFront;
  for (std::size_t i = 0; i < enc.size(); ++i)
    if (enc.sequenceIds[i] == 0)
      enc.wordIds[i] = wordOf[next++];
  if (options.padding == PaddingStrategy::MaxLength) {
    std::vector<Encoding> one{std::move(enc)};
    pad(one, options);
    return std::move(one.front());
  }
  return enc;
}

std::vector<Encoding> Tokenizer::encodeBatch(const std::vector<std::string> &texts, const EncodeOptions &options) const
{
  std::vector<Encoding> batch;
  batch.reserve(texts.size());
  EncodeOptions each = options;
  each.padding = PaddingStrategy::None;
  for (const std::string &t : texts)
    batch.push_back(encode(t, each));
  pad(batch, options);
  return batch;
}

void Tokenizer::pad(std::vector<Encoding> &batch, const EncodeOptions &options) const
{
  if (options.padding == PaddingStrategy::None || batch.empty())
    return;
  std::size_t target = 0;
  if (options.padding == PaddingStrategy::MaxLength && options.maxLength > 0)
    target = static_cast<std::size_t>(options.maxLength);
  else
    for (const Encoding &e : batch)
      target = std::max(target, e.size());
  if (options.padToMultipleOf > 0 && target % options.padToMultipleOf != 0)
    target += options.padToMultipleOf - target % options.padToMultipleOf;
  const int padId = m_specials.pad >= 0 ? m_specials.pad : 0;
  for (Encoding &e : batch) {
    if (e.size() >= target)
      continue;
    const std::size_t n = target - e.size();
    const bool left = options.paddingSide == Side::Left;
    auto fill = [&](auto &v, auto value) { v.insert(left ? v.begin() : v.end(), n, value); };
    fill(e.ids, padId);
    fill(e.typeIds, 0);
    fill(e.attentionMask, 0);
    fill(e.specialTokensMask, 1);
    fill(e.sequenceIds, -1);
    fill(e.wordIds, -1);
    fill(e.offsets, std::pair<std::uint32_t, std::uint32_t>(0, 0));
  }
}

std::vector<int> alignWordLabels(const Encoding &encoding, const std::vector<int> &wordLabels, int ignore)
{
  std::vector<int> labels(encoding.size(), ignore);
  int previous = -1;
  for (std::size_t i = 0; i < encoding.size(); ++i) {
    const int word = encoding.wordIds[i];
    if (word >= 0 && word != previous && static_cast<std::size_t>(word) < wordLabels.size())
      labels[i] = wordLabels[static_cast<std::size_t>(word)];
    previous = word;
  }
  return labels;
}

} // namespace tunebench
