#pragma once

#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

namespace tunebench {

// Princeton WordNet 3.0 as Debian's wordnet-base installs it (dict/data.noun, data.verb, data.adj,
// data.adv). Read-only after loading; safe to share between threads.
class WordNet final
{
public:
  struct Synset
  {
    char pos = 'n';                     // n, v, a (s = satellite adjective), r
    std::vector<std::string> words;     // lemmas, underscores turned into spaces
    std::string definition;             // the gloss without its examples
    std::vector<std::string> examples;  // the gloss's quoted example sentences
  };

  // Throws tunebench::Error naming the file and line of anything it cannot read.
  static WordNet load(const std::filesystem::path &dictDir);

  const std::vector<Synset> &synsets() const { return m_synsets; }
  // Other lemmas sharing a synset with word (lower-cased look-up), without word itself.
  std::vector<std::string> synonyms(const std::string &word) const;
  static std::string posName(char pos);

private:
  std::vector<Synset> m_synsets;
  std::unordered_map<std::string, std::vector<int>> m_byWord; // lower-case lemma → synsets
};

} // namespace tunebench
