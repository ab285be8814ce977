#include "core/tokenize/wordpiece.h"

#include "core/tokenize/unicode.h"
#include "core/util/error.h"
#include "core/util/files.h"

#include <fstream>
#include <sstream>

namespace tunebench {

namespace {

bool isBertWhitespace(char32_t c) { return c == '\t' || c == '\n' || c == '\r' || unicode::isWhiteSpace(c); }

bool isBertControl(char32_t c)
{
  if (c == '\t' || c == '\n' || c == '\r')
    return false;
  return unicode::isOther(c);
}

bool isBertPunctuation(char32_t c)
{
  const bool asciiPunct = (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
                          (c >= 123 && c <= 126);
  return asciiPunct || unicode::isPunctuation(c);
}

} // namespace

WordPieceTokenizer::WordPieceTokenizer(Vocabulary vocabulary, WordPieceOptions options)
  : m_vocab(std::move(vocabulary)), m_options(std::move(options))
{
  m_unkId = m_vocab.find(m_options.unkToken);
  m_specials.unk = m_unkId;
  m_specials.pad = m_vocab.find("[PAD]");
  m_specials.cls = m_vocab.find("[CLS]");
  m_specials.sep = m_vocab.find("[SEP]");
  m_specials.mask = m_vocab.find("[MASK]");
  for (const char *special : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"})
    if (const int id = m_vocab.find(special); id >= 0)
      addToken(special, id, true);
  if (m_specials.cls >= 0 && m_specials.sep >= 0)
    m_template = SpecialTemplate::Bert;
}

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::fromVocabFile(const std::filesystem::path &path,
                                                                      WordPieceOptions options)
{
  std::istringstream in(readInputFile(path, "the WordPiece vocabulary"));
  std::vector<std::string> tokens;
  std::string line;
  std::size_t lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    std::size_t bad = 0;
    if (!unicode::isValidUtf8(line, &bad))
      throw Error(path.string() + ":" + std::to_string(lineNo) + ":" + std::to_string(bad + 1) +
                  ": invalid UTF-8 in the vocabulary");
    tokens.push_back(line);
  }
  if (tokens.empty())
    throw Error(path.string() + ": the WordPiece vocabulary is empty");
  Vocabulary vocabulary(std::move(tokens));
  if (vocabulary.find(options.unkToken) < 0)
    throw Error(path.string() + ": the vocabulary has no unknown token \"" + options.unkToken + "\"");
  return std::make_unique<WordPieceTokenizer>(std::move(vocabulary), std::move(options));
}

std::string WordPieceTokenizer::idToToken(int id) const
{
  return m_vocab.contains(id) ? m_vocab.token(id) : std::string();
}

// Normalisation keeps, for every output character, the byte span of the input character it came
// from, so that every token can point back into the user's text.
std::vector<WordPieceTokenizer::Char> WordPieceTokenizer::normalize(std::string_view text) const
{
  const bool strip = m_options.stripAccents.value_or(m_options.lowercase);
  std::vector<Char> out;
  out.reserve(text.size() + 8);
  for (const unicode::CodePoint &c : unicode::decode(text)) {
    char32_t cp = c.cp;
    if (m_options.cleanText) {
      if (cp == 0 || cp == 0xFFFD || isBertControl(cp))
        continue;
      if (isBertWhitespace(cp))
        cp = ' ';
    }
    if (m_options.handleChineseChars && unicode::isCjkIdeograph(cp)) {
      out.push_back({' ', c.begin, c.end});
      out.push_back({cp, c.begin, c.end});
      out.push_back({' ', c.begin, c.end});
      continue;
    }
    const std::u32string decomposed = strip ? unicode::decomposeCanonical(cp) : std::u32string(1, cp);
    for (char32_t d : decomposed) {
      if (strip && unicode::isNonspacingMark(d))
        continue;
      if (m_options.lowercase) {
        for (char32_t l : unicode::toLowerFull(d))
          out.push_back({l, c.begin, c.end});
      } else {
        out.push_back({d, c.begin, c.end});
      }
    }
  }
  return out;
}

std::vector<Token> WordPieceTokenizer::tokenizeSegment(std::string_view text) const
{
  const std::vector<Char> chars = normalize(text);
  std::vector<Token> out;
  std::vector<Char> word;
  auto flush = [&] {
    if (!word.empty())
      wordPieces(word, out);
    word.clear();
  };
  for (const Char &c : chars) {
    if (isBertWhitespace(c.cp)) {
      flush();
    } else if (isBertPunctuation(c.cp)) {
      flush();
      word.push_back(c);
      flush();
    } else {
      word.push_back(c);
    }
  }
  flush();
  return out;
}

void WordPieceTokenizer::wordPieces(const std::vector<Char> &word, std::vector<Token> &out) const
{
  const auto span = [&](std::size_t from, std::size_t to) {
    std::uint32_t begin = word[from].begin, end = word[from].end;
    for (std::size_t k = from; k < to; ++k) {
      begin = std::min(begin, word[k].begin);
      end = std::max(end, word[k].end);
    }
    return std::pair{begin, end};
  };
  if (static_cast<int>(word.size()) > m_options.maxInputCharsPerWord) {
    const auto [b, e] = span(0, word.size());
    out.push_back({m_unkId, b, e});
    return;
  }
  // UTF-8 of the word and where each character starts in it.
  std::string utf8;
  std::vector<std::size_t> at;
  for (const Char &c : word) {
    at.push_back(utf8.size());
    unicode::append(utf8, c.cp);
  }
  at.push_back(utf8.size());

  const std::size_t firstOut = out.size();
  std::string candidate;
  std::size_t start = 0;
  while (start < word.size()) {
    int found = -1;
    std::size_t end = word.size();
    for (; end > start; --end) {
      const std::string_view piece(utf8.data() + at[start], at[end] - at[start]);
      if (start == 0) {
        found = m_vocab.find(piece);
      } else {
        candidate.assign(m_options.continuingPrefix).append(piece);
        found = m_vocab.find(candidate);
      }
      if (found >= 0)
        break;
    }
    if (found < 0) {
      // One unknown piece makes the whole word unknown.
      out.resize(firstOut);
      const auto [b, e] = span(0, word.size());
      out.push_back({m_unkId, b, e});
      return;
    }
    const auto [b, e] = span(start, end);
    out.push_back({found, b, e});
    start = end;
  }
}

std::string WordPieceTokenizer::decode(const std::vector<int> &ids, bool skipSpecialTokens) const
{
  std::string text;
  const std::string &prefix = m_options.continuingPrefix;
  for (int id : ids) {
    if (!m_vocab.contains(id) || (skipSpecialTokens && isSpecial(id)))
      continue;
    const std::string &token = m_vocab.token(id);
    if (token.compare(0, prefix.size(), prefix) == 0) {
      text += token.substr(prefix.size());
    } else {
      if (!text.empty())
        text += ' ';
      text += token;
    }
  }
  // Hugging Face's clean_up_tokenization_spaces.
  static const std::pair<const char *, const char *> cleanups[] = {
    {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
    {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto &[from, to] : cleanups) {
    const std::string f(from);
    for (std::size_t pos = text.find(f); pos != std::string::npos; pos = text.find(f, pos))
      text.replace(pos, f.size(), to);
  }
  return text;
}

} // namespace tunebench
