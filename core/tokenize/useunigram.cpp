#include "core/tokenize/useunigram.h"

#include "core/tokenize/unicode.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

namespace tunebench {

namespace {

const std::string kSeparator = "\xE2\x96\x81"; // U+2581

// NFKC-normalises text in chunks that start at normalisation boundaries, so that every output
// character knows the input span it came from (whole-text NFKC is the concatenation of the chunks).
std::vector<unicode::CodePoint> normalizeWithSpans(std::string_view text)
{
  // ASCII is its own NFKC: one symbol per byte (most text, and no per-character normalisation).
  if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    std::vector<unicode::CodePoint> out(text.size());
    for (std::uint32_t i = 0; i < text.size(); ++i)
      out[i] = {static_cast<char32_t>(text[i]), i, i + 1};
    return out;
  }
  const std::vector<unicode::CodePoint> input = unicode::decode(text);
  std::vector<unicode::CodePoint> out;
  std::size_t chunkStart = 0;
  auto flush = [&](std::size_t chunkEnd) {
    if (chunkEnd <= chunkStart)
      return;
    const std::uint32_t begin = input[chunkStart].begin, end = input[chunkEnd - 1].end;
    for (const unicode::CodePoint &c : unicode::decode(unicode::nfkc(text.substr(begin, end - begin))))
      out.push_back({c.cp, begin, end});
    chunkStart = chunkEnd;
  };
  for (std::size_t i = 1; i < input.size(); ++i)
    if (unicode::nfkcBoundaryBefore(input[i].cp))
      flush(i);
  flush(input.size());
  return out;
}

int utf16Length(const std::u32string &s)
{
  int n = 0;
  for (char32_t c : s)
    n += c > 0xFFFF ? 2 : 1;
  return n;
}

} // namespace

UseUnigramTokenizer::UseUnigramTokenizer(std::vector<std::pair<std::string, double>> pieces)
{
  m_pieces.reserve(pieces.size());
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const std::u32string cps = unicode::toU32(pieces[i].first);
    m_pieces.push_back({pieces[i].first, pieces[i].second, static_cast<int>(cps.size()), utf16Length(cps)});
    if (static_cast<int>(i) >= kReservedSymbols && !cps.empty()) {
      m_lookup[pieces[i].first] = static_cast<int>(i); // a later duplicate wins, as in the trie
      m_maxCodePoints = std::max(m_maxCodePoints, static_cast<int>(cps.size()));
    }
  }
  m_specials.unk = 0;
  m_specials.bos = pieces.size() > 1 ? 1 : -1;
  m_specials.eos = pieces.size() > 2 ? 2 : -1;
}

std::unique_ptr<UseUnigramTokenizer> UseUnigramTokenizer::fromVocabJson(const std::filesystem::path &path)
{
  if (!fileExists(path))
    throw Error(path.string() + ": cannot open the unigram vocabulary");
  const nlohmann::json json = readJsonFile(path);
  if (!json.is_array() || json.size() <= kReservedSymbols)
    throw Error(path.string() + ": expected a list of [piece, score] entries");
  std::vector<std::pair<std::string, double>> pieces;
  pieces.reserve(json.size());
  for (std::size_t i = 0; i < json.size(); ++i) {
    const auto &entry = json[i];
    // A few entries (":", "://", "▁:)" ...) have a null score; the reference adds it as 0.
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() ||
        !(entry[1].is_number() || entry[1].is_null()))
      throw Error(path.string() + ": entry " + std::to_string(i) + " is not [piece, score]");
    pieces.emplace_back(entry[0].get<std::string>(), entry[1].is_null() ? 0.0 : entry[1].get<double>());
  }
  return std::make_unique<UseUnigramTokenizer>(std::move(pieces));
}

std::string UseUnigramTokenizer::idToToken(int id) const
{
  return id >= 0 && id < vocabSize() ? m_pieces[static_cast<std::size_t>(id)].text : std::string();
}

int UseUnigramTokenizer::tokenToId(std::string_view token) const
{
  const auto it = m_lookup.find(token);
  return it == m_lookup.end() ? -1 : it->second;
}

std::vector<Token> UseUnigramTokenizer::tokenizeSegment(std::string_view text) const
{
  std::vector<unicode::CodePoint> symbols = normalizeWithSpans(text);
  if (symbols.empty())
    return {};
  // "▁" before the text and for every space; the leading one points at the start of the text.
  const char32_t separator = 0x2581;
  for (unicode::CodePoint &s : symbols)
    if (s.cp == ' ')
      s.cp = separator;
  symbols.insert(symbols.begin(), unicode::CodePoint{separator, symbols.front().begin, symbols.front().begin});
  const std::size_t n = symbols.size();

  // UTF-8 of the symbols and where each starts, for substring look-ups.
  std::string utf8;
  std::vector<std::size_t> at;
  for (const unicode::CodePoint &s : symbols) {
    at.push_back(utf8.size());
    unicode::append(utf8, s.cp);
  }
  at.push_back(utf8.size());

  // Lattice, visited exactly as the reference does: by end position, then start position.
  std::vector<double> best(n + 1, 0.0);
  std::vector<int> word(n + 1, 0);
  struct Edge
  {
    std::size_t end, start;
    int id;
    bool operator<(const Edge &o) const { return end != o.end ? end < o.end : start < o.start; }
  };
  std::vector<Edge> edges; // every piece found, one flat list (no allocation per position)
  edges.reserve(4 * n);
  for (std::size_t i = 0; i < n; ++i) {
    bool any = false;
    const std::size_t longest = std::min(n - i, static_cast<std::size_t>(m_maxCodePoints));
    for (std::size_t len = 1; len <= longest; ++len) {
      const auto it = m_lookup.find(std::string_view(utf8).substr(at[i], at[i + len] - at[i]));
      if (it != m_lookup.end()) {
        edges.push_back({i + len, i, it->second});
        any = true;
      }
    }
    if (!any)
      edges.push_back({i + 1, i, 0}); // unknown character: id 0, score 0
  }
  std::sort(edges.begin(), edges.end()); // by end, then start: the reference's visiting order
  for (const Edge &e : edges) {
    const double score = (e.id == 0 ? 0.0 : m_pieces[static_cast<std::size_t>(e.id)].score) + best[e.start];
    if (best[e.end] == 0.0 || score >= best[e.end]) {
      best[e.end] = score;
      word[e.end] = e.id;
    }
  }
  // Back-trace by UTF-16 length (the reference's quirk), collapsing runs of unknowns.
  std::vector<Token> reversed;
  bool previousUnknown = false;
  for (std::ptrdiff_t iter = static_cast<std::ptrdiff_t>(n); iter > 0;) {
    const int id = word[static_cast<std::size_t>(iter)];
    const int step = std::max(1, m_pieces[static_cast<std::size_t>(id)].utf16Length);
    const std::size_t start = static_cast<std::size_t>(std::max<std::ptrdiff_t>(0, iter - step));
    const std::uint32_t begin = symbols[start].begin;
    const std::uint32_t end = symbols[static_cast<std::size_t>(iter) - 1].end;
    if (previousUnknown && id == 0)
      reversed.back().begin = begin;
    else
      reversed.push_back({id, begin, end});
    previousUnknown = id == 0;
    iter -= step;
  }
  return std::vector<Token>(reversed.rbegin(), reversed.rend());
}

std::string UseUnigramTokenizer::decode(const std::vector<int> &ids, bool skipSpecialTokens) const
{
  std::string text;
  for (int id : ids) {
    if (id < 0 || id >= vocabSize() || (skipSpecialTokens && id < kReservedSymbols && id != 0))
      continue;
    text += m_pieces[static_cast<std::size_t>(id)].text;
  }
  for (std::size_t pos = text.find(kSeparator); pos != std::string::npos; pos = text.find(kSeparator, pos))
    text.replace(pos, kSeparator.size(), " ");
  if (!text.empty() && text.front() == ' ')
    text.erase(0, 1);
  return text;
}

} // namespace tunebench
