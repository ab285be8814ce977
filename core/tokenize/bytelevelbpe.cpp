#include "core/tokenize/bytelevelbpe.h"

#include "core/tokenize/unicode.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <array>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tunebench {

namespace {

// GPT-2's byte → printable character table: printable Latin-1 bytes map to themselves, the others
// to U+0100 onwards, in byte order.
struct ByteTable
{
  std::array<std::string, 256> byteToText;
  std::unordered_map<char32_t, unsigned char> charToByte;

  ByteTable()
  {
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t c = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next++);
      unicode::append(byteToText[b], c);
      charToByte[c] = static_cast<unsigned char>(b);
    }
  }
};

const ByteTable &byteTable()
{
  static const ByteTable table;
  return table;
}

// \s as the reference implementations' JavaScript regular expressions define it.
bool isPatternSpace(char32_t c)
{
  return c == '\t' || c == '\n' || c == 0x0B || c == 0x0C || c == '\r' || c == ' ' || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

std::string readFile(const std::filesystem::path &path, const char *what)
{
  return readInputFile(path, std::string("the ") + what);
}

} // namespace

ByteLevelBpeTokenizer::ByteLevelBpeTokenizer(Vocabulary vocabulary,
                                             std::vector<std::pair<std::string, std::string>> merges,
                                             bool addPrefixSpace)
  : m_vocab(std::move(vocabulary)), m_addPrefixSpace(addPrefixSpace)
{
  m_ranks.reserve(merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i)
    m_ranks.emplace(merges[i].first + ' ' + merges[i].second, static_cast<int>(i));
  if (const int eot = m_vocab.find("<|endoftext|>"); eot >= 0) {
    m_specials.bos = m_specials.eos = eot;
    addToken("<|endoftext|>", eot, true);
  }
}

std::unique_ptr<ByteLevelBpeTokenizer> ByteLevelBpeTokenizer::fromFiles(const std::filesystem::path &vocabJson,
                                                                        const std::filesystem::path &mergesTxt,
                                                                        bool addPrefixSpace)
{
  std::vector<std::pair<std::string, int>> pairs;
  try {
    const nlohmann::json vocab = parseJson(readFile(vocabJson, "BPE vocabulary"), vocabJson.string());
    if (!vocab.is_object())
      throw Error(vocabJson.string() + ": expected a JSON object of token → id");
    for (const auto &[token, id] : vocab.items()) {
      if (!id.is_number_integer() || id.get<long long>() < 0 || id.get<long long>() >= (1LL << 24))
        throw Error(vocabJson.string() + ": token \"" + token + "\" has no id from 0 to 16777215 (got " +
                    id.dump() + ")");
      pairs.emplace_back(token, id.get<int>());
    }
  } catch (const nlohmann::json::exception &e) {
    throw Error(vocabJson.string() + ": not valid JSON: " + jsonErrorReason(e));
  }
  std::istringstream in(readFile(mergesTxt, "BPE merges"));
  std::vector<std::pair<std::string, std::string>> merges;
  std::string line;
  for (std::size_t lineNo = 1; std::getline(in, line); ++lineNo) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty() || (lineNo == 1 && line.rfind("#version", 0) == 0))
      continue;
    const auto space = line.find(' ');
    if (space == std::string::npos || space == 0 || line.find(' ', space + 1) != std::string::npos)
      throw Error(mergesTxt.string() + ":" + std::to_string(lineNo) + ": expected \"left right\", got \"" +
                  line + "\"");
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  return std::make_unique<ByteLevelBpeTokenizer>(Vocabulary::fromPairs(pairs, vocabJson.string()),
                                                 std::move(merges), addPrefixSpace);
}

std::string ByteLevelBpeTokenizer::idToToken(int id) const
{
  return m_vocab.contains(id) ? m_vocab.token(id) : std::string();
}

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ — by hand, over code
// points, alternative by alternative in the pattern's order.
std::vector<std::pair<std::uint32_t, std::uint32_t>> ByteLevelBpeTokenizer::preTokenize(std::string_view text)
{
  const std::vector<unicode::CodePoint> cps = unicode::decode(text);
  const std::size_t n = cps.size();
  std::vector<std::pair<std::uint32_t, std::uint32_t>> pieces;
  auto emit = [&](std::size_t from, std::size_t to) { pieces.emplace_back(cps[from].begin, cps[to - 1].end); };
  auto is = [&](std::size_t k, char32_t c) { return k < n && cps[k].cp == c; };
  // The three character classes of " ?\p{L}+", " ?\p{N}+" and " ?[^\s\p{L}\p{N}]+".
  const auto inClass = [](int klass, char32_t c) {
    switch (klass) {
    case 0: return unicode::isLetter(c);
    case 1: return unicode::isNumber(c);
    default: return !isPatternSpace(c) && !unicode::isLetter(c) && !unicode::isNumber(c);
    }
  };

  std::size_t i = 0;
  while (i < n) {
    if (cps[i].cp == '\'') {
      std::size_t len = 0;
      if (is(i + 1, 's') || is(i + 1, 't') || is(i + 1, 'm') || is(i + 1, 'd'))
        len = 2;
      else if ((is(i + 1, 'r') && is(i + 2, 'e')) || (is(i + 1, 'v') && is(i + 2, 'e')) ||
               (is(i + 1, 'l') && is(i + 2, 'l')))
        len = 3;
      if (len) {
        emit(i, i + len);
        i += len;
        continue;
      }
    }
    bool matched = false;
    for (int klass = 0; klass < 3; ++klass) {
      const std::size_t start = cps[i].cp == ' ' ? i + 1 : i;
      if (start < n && inClass(klass, cps[start].cp)) {
        std::size_t end = start;
        while (end < n && inClass(klass, cps[end].cp))
          ++end;
        emit(i, end);
        i = end;
        matched = true;
        break;
      }
    }
    if (matched)
      continue;
    // Whitespace: a run followed by non-space leaves its last character for the next piece.
    std::size_t end = i;
    while (end < n && isPatternSpace(cps[end].cp))
      ++end;
    if (end < n && end - i >= 2)
      --end;
    emit(i, end);
    i = end;
  }
  return pieces;
}

std::vector<int> ByteLevelBpeTokenizer::bpe(std::string_view piece) const
{
  {
    std::lock_guard<std::mutex> lock(m_cacheMutex);
    if (const auto it = m_cache.find(std::string(piece)); it != m_cache.end())
      return it->second;
  }
  const ByteTable &table = byteTable();
  std::vector<std::string> symbols;
  symbols.reserve(piece.size());
  for (unsigned char b : piece)
    symbols.push_back(table.byteToText[b]);

  std::string key;
  while (symbols.size() > 1) {
    int bestRank = std::numeric_limits<int>::max();
    std::size_t bestAt = 0;
    for (std::size_t k = 0; k + 1 < symbols.size(); ++k) {
      key.assign(symbols[k]).append(" ").append(symbols[k + 1]);
      const auto it = m_ranks.find(key);
      if (it != m_ranks.end() && it->second < bestRank) {
        bestRank = it->second;
        bestAt = k;
      }
    }
    if (bestRank == std::numeric_limits<int>::max())
      break;
    // Merge every occurrence of the best pair, left to right.
    const std::string left = symbols[bestAt], right = symbols[bestAt + 1];
    std::vector<std::string> merged;
    merged.reserve(symbols.size());
    for (std::size_t k = 0; k < symbols.size(); ++k) {
      if (k + 1 < symbols.size() && symbols[k] == left && symbols[k + 1] == right) {
        merged.push_back(left + right);
        ++k;
      } else {
        merged.push_back(symbols[k]);
      }
    }
    symbols = std::move(merged);
  }
  std::vector<int> ids;
  ids.reserve(symbols.size());
  for (const std::string &s : symbols) {
    const int id = m_vocab.find(s);
    if (id >= 0) {
      ids.push_back(id);
      continue;
    }
    // A symbol missing from the vocabulary (a damaged vocab.json): fall back to its bytes.
    for (const unicode::CodePoint &c : unicode::decode(s))
      ids.push_back(m_vocab.find(unicode::encode(std::u32string(1, c.cp))));
  }
  std::lock_guard<std::mutex> lock(m_cacheMutex);
  if (m_cache.size() > 200000)
    m_cache.clear();
  m_cache.emplace(std::string(piece), ids);
  return ids;
}

std::vector<Token> ByteLevelBpeTokenizer::tokenizeSegment(std::string_view text) const
{
  std::string prefixed;
  std::uint32_t shift = 0;
  if (m_addPrefixSpace && !text.empty() && text.front() != ' ') {
    prefixed = " " + std::string(text);
    text = prefixed;
    shift = 1;
  }
  // Offsets cover whole characters even when a token holds only some bytes of one.
  const std::vector<unicode::CodePoint> cps = unicode::decode(text);
  std::vector<std::uint32_t> charStart(text.size() + 1), charEnd(text.size() + 1);
  for (const unicode::CodePoint &c : cps)
    for (std::uint32_t b = c.begin; b < c.end; ++b) {
      charStart[b] = c.begin;
      charEnd[b] = c.end;
    }
  auto original = [&](std::uint32_t b) { return b >= shift ? b - shift : 0; };

  std::vector<Token> out;
  for (const auto &[begin, end] : preTokenize(text)) {
    std::uint32_t at = begin;
    for (int id : bpe(text.substr(begin, end - begin))) {
      const std::uint32_t length = static_cast<std::uint32_t>(
          id >= 0 ? unicode::decode(m_vocab.token(id)).size() : 1); // one symbol per byte
      if (at >= end)
        break; // a vocabulary whose token is longer than the text it came from: nothing left
      const std::uint32_t last = std::min(at + length, end) - 1;
      out.push_back({id, original(charStart[at]), original(charEnd[last])});
      at += length;
    }
  }
  return out;
}

std::string ByteLevelBpeTokenizer::decode(const std::vector<int> &ids, bool skipSpecialTokens) const
{
  const ByteTable &table = byteTable();
  std::string bytes;
  for (int id : ids) {
    if (!m_vocab.contains(id) || (skipSpecialTokens && isSpecial(id)))
      continue;
    for (const unicode::CodePoint &c : unicode::decode(m_vocab.token(id))) {
      const auto it = table.charToByte.find(c.cp);
      if (it != table.charToByte.end())
        bytes.push_back(static_cast<char>(it->second));
      else
        unicode::append(bytes, c.cp); // an added token written as text
    }
  }
  // Invalid UTF-8 (a sequence cut by max-length generation) becomes U+FFFD, as Python's
  // errors="replace" does.
  if (unicode::isValidUtf8(bytes))
    return bytes;
  std::string valid;
  for (const unicode::CodePoint &c : unicode::decode(bytes))
    unicode::append(valid, c.cp);
  return valid;
}

} // namespace tunebench
