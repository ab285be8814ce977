#include "core/tokenize/unigram.h"

#include "core/tokenize/unicode.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <limits>

namespace tunebench {
using nlohmann::json;

UnigramTokenizer::UnigramTokenizer(const json &root, const std::string &source) : m_pipeline(root, source)
{
  const json &model = root.at("model");
  const json vocab = model.value("vocab", json::array());
  if (!vocab.is_array() || vocab.empty())
    throw Error(source + ": model.vocab of a Unigram model must be a non-empty [[piece, score], ...] list");
  double minScore = std::numeric_limits<double>::max();
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    const json &entry = vocab[i];
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number())
      throw Error(source + ": model.vocab[" + std::to_string(i) + "] is not [piece, score]");
    std::string piece = entry[0].get<std::string>();
    const double score = entry[1].get<double>();
    minScore = std::min(minScore, score);
    m_maxPieceBytes = std::max(m_maxPieceBytes, piece.size());
    m_ids.emplace(piece, static_cast<int>(i));
    m_pieces.emplace_back(std::move(piece), score);
  }
  m_unkScore = minScore - 10.0;
  if (model.contains("unk_id") && model["unk_id"].is_number_integer()) {
    m_unkId = model["unk_id"].get<int>();
    if (m_unkId < 0 || m_unkId >= vocabSize())
      throw Error(source + ": model.unk_id " + std::to_string(m_unkId) + " is outside the vocabulary of " +
                  std::to_string(vocabSize()));
  }
  m_specials.unk = m_unkId;
  m_byteFallback = model.value("byte_fallback", false);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    m_byteIds[b] = tokenToId(name);
  }
}

std::string UnigramTokenizer::idToToken(int id) const
{
  return id >= 0 && id < vocabSize() ? m_pieces[static_cast<std::size_t>(id)].first : std::string();
}

int UnigramTokenizer::tokenToId(std::string_view token) const
{
  const auto it = m_ids.find(token);
  return it == m_ids.end() ? -1 : it->second;
}

std::vector<Token> UnigramTokenizer::tokenizeSegment(std::string_view text) const
{
  std::vector<Token> out;
  for (const AlignedText &word : m_pipeline.run(text))
    encodeWord(word, out);
  return out;
}

void UnigramTokenizer::encodeWord(const AlignedText &word, std::vector<Token> &out) const
{
  // The word in UTF-8; charAt maps a byte offset to its character's index, starts marks where
  // characters begin.
  std::string bytes;
  std::vector<std::size_t> charAt;
  std::vector<char> starts;
  for (std::size_t i = 0; i < word.chars.size(); ++i) {
    const std::size_t before = bytes.size();
    unicode::append(bytes, word.chars[i]);
    charAt.resize(bytes.size(), i);
    starts.resize(bytes.size(), 0);
    starts[before] = 1;
  }
  charAt.push_back(word.chars.size());
  starts.push_back(1);

  const std::vector<Piece> pieces = segment(bytes, starts);
  for (const Piece &p : pieces) {
    const auto span = word.span(charAt[p.begin], charAt[p.end]);
    int id = p.id;
    if (id == m_unkId) {
      // A fused run that happens to spell a piece is that piece (as the reference looks strings up).
      if (const int known = tokenToId(std::string_view(bytes).substr(p.begin, p.end - p.begin)); known >= 0)
        id = known;
    }
    if (id == m_unkId && m_byteFallback) {
      bool all = true;
      for (std::size_t b = p.begin; b < p.end; ++b)
        all = all && m_byteIds[static_cast<unsigned char>(bytes[b])] >= 0;
      if (all) {
        for (std::size_t b = p.begin; b < p.end; ++b)
          out.push_back({m_byteIds[static_cast<unsigned char>(bytes[b])], span.first, span.second});
        continue;
      }
    }
    out.push_back({id, span.first, span.second});
  }
}

// The best-scoring segmentation of the word's bytes into vocabulary pieces (Viterbi over
// character boundaries; a character no piece covers is unknown), consecutive unknown pieces fused.
std::vector<UnigramTokenizer::Piece> UnigramTokenizer::segment(const std::string &bytes,
                                                               const std::vector<char> &starts) const
{
  const std::size_t size = bytes.size();
  struct Node
  {
    int id = -1;
    double score = 0.0;
    std::size_t startsAt = SIZE_MAX;
  };
  std::vector<Node> best(size + 1);
  best[0].startsAt = 0;
  std::size_t start = 0;
  while (start < size) {
    const double base = best[start].score;
    std::size_t charLen = 1;
    while (!starts[start + charLen])
      ++charLen;
    bool single = false;
    // Every vocabulary entry that is a prefix of the rest, shortest first (ends at character starts).
    const std::size_t limit = std::min(m_maxPieceBytes, size - start);
    for (std::size_t len = charLen; len <= limit; ++len) {
      if (!starts[start + len])
        continue; // not a character boundary
      const auto it = m_ids.find(std::string_view(bytes).substr(start, len));
      if (it == m_ids.end())
        continue;
      Node &target = best[start + len];
      const double candidate = base + m_pieces[static_cast<std::size_t>(it->second)].second;
      if (target.startsAt == SIZE_MAX || candidate > target.score) {
        target.score = candidate;
        target.startsAt = start;
        target.id = it->second;
      }
      if (len == charLen)
        single = true;
    }
    if (!single) {
      if (m_unkId < 0)
        throw Error("Unigram tokenizer: \"" + bytes.substr(start, charLen) +
                    "\" is not in the vocabulary and the model has no unk_id");
      Node &target = best[start + charLen];
      const double candidate = base + m_unkScore;
      if (target.startsAt == SIZE_MAX || candidate > target.score) {
        target.score = candidate;
        target.startsAt = start;
        target.id = m_unkId;
      }
    }
    start += charLen;
  }

  // Back-trace; consecutive unknown pieces fuse into one.
  std::vector<Piece> pieces;
  for (std::size_t end = size; end > 0;) {
    const Node &node = best[end];
    if (node.id == m_unkId && !pieces.empty() && pieces.back().id == m_unkId && pieces.back().begin == end)
      pieces.back().begin = node.startsAt;
    else
      pieces.push_back({node.id, node.startsAt, end});
    end = node.startsAt;
  }
  std::reverse(pieces.begin(), pieces.end());
  return pieces;
}

std::string UnigramTokenizer::decode(const std::vector<int> &ids, bool skipSpecialTokens) const
{
  std::string text;
  for (int id : ids) {
    if (id < 0 || id >= vocabSize() || (skipSpecialTokens && isSpecial(id)))
      continue;
    const std::string &piece = m_pieces[static_cast<std::size_t>(id)].first;
    if (m_byteFallback && piece.size() == 6 && piece.rfind("<0x", 0) == 0 && piece.back() == '>') {
      text.push_back(static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
      continue;
    }
    text += piece;
  }
  const std::string &rep = m_pipeline.metaspaceReplacement();
  if (rep.empty())
    return text;
  std::string out;
  for (std::size_t at = 0;;) {
    const std::size_t next = text.find(rep, at);
    out.append(text, at, next == std::string::npos ? std::string::npos : next - at);
    if (next == std::string::npos)
      break;
    out.push_back(' ');
    at = next + rep.size();
  }
  if (!out.empty() && out.front() == ' ')
    out.erase(0, 1);
  return out;
}

} // namespace tunebench
