#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tunebench {

// A token ↔ id table with allocation-free lookups by string_view.
class Vocabulary final
{
public:
  Vocabulary() = default;
  explicit Vocabulary(std::vector<std::string> tokens);
  // Explicit ids (vocab.json); gaps are filled with empty tokens. An id given to two tokens (a
  // damaged vocabulary: encoding would mis-measure the tokens) is an Error naming `source`.
  static Vocabulary fromPairs(const std::vector<std::pair<std::string, int>> &pairs,
                              const std::string &source = "the vocabulary");

  int find(std::string_view token) const
  {
    const auto it = m_ids.find(token);
    return it == m_ids.end() ? -1 : it->second;
  }
  const std::string &token(int id) const { return m_tokens.at(static_cast<std::size_t>(id)); }
  bool contains(int id) const { return id >= 0 && static_cast<std::size_t>(id) < m_tokens.size(); }
  int size() const { return static_cast<int>(m_tokens.size()); }

private:
  struct Hash
  {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::string> m_tokens;
  std::unordered_map<std::string, int, Hash, std::equal_to<>> m_ids;
};

} // namespace tunebench
