#include "core/tokenize/vocabulary.h"

#include "core/util/error.h"

#include <algorithm>

namespace tunebench {

Vocabulary::Vocabulary(std::vector<std::string> tokens) : m_tokens(std::move(tokens))
{
  m_ids.reserve(m_tokens.size());
  // The first occurrence wins, as in Hugging Face's vocab.txt loader.
  for (std::size_t i = 0; i < m_tokens.size(); ++i)
    m_ids.emplace(m_tokens[i], static_cast<int>(i));
}

Vocabulary Vocabulary::fromPairs(const std::vector<std::pair<std::string, int>> &pairs,
                                 const std::string &source)
{
  int size = 0;
  for (const auto &p : pairs)
    size = std::max(size, p.second + 1);
  std::vector<std::string> tokens(static_cast<std::size_t>(size));
  std::vector<bool> taken(static_cast<std::size_t>(size), false);
  for (const auto &p : pairs) {
    const auto id = static_cast<std::size_t>(p.second);
    if (taken[id])
      throw Error(source + ": id " + std::to_string(id) + " is given to two tokens, \"" + tokens[id] +
                  "\" and \"" + p.first + "\"");
    taken[id] = true;
    tokens[id] = p.first;
  }
  Vocabulary v;
  v.m_tokens = std::move(tokens);
  v.m_ids.reserve(pairs.size());
  for (const auto &p : pairs)
    v.m_ids.emplace(p.first, p.second);
  return v;
}

} // namespace tunebench
