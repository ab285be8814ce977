#include "core/data/wordnet.h"

#include "core/util/error.h"
#include "core/util/text.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace tunebench {

namespace {

using text::lower;

// "that which is perceived; \"an example\"" → definition and examples. Quoted text is an example
// wherever it stands (after "; ", ": " or a plain space); an unclosed quote runs to the end.
void splitGloss(const std::string &gloss, std::string &definition, std::vector<std::string> &examples)
{
  std::string plain;
  for (std::size_t p = 0; p < gloss.size();) {
    if (gloss[p] != '"') {
      plain.push_back(gloss[p++]);
      continue;
    }
    const std::size_t close = gloss.find('"', p + 1);
    const std::size_t end = close == std::string::npos ? gloss.size() : close;
    std::string example = gloss.substr(p + 1, end - p - 1);
    while (!example.empty() && (example.back() == ' ' || example.back() == '\r'))
      example.pop_back();
    if (!example.empty())
      examples.push_back(example);
    p = end + 1;
    plain.push_back(';');
  }
  // The definition: the unquoted parts, trimmed of separators.
  std::size_t p = 0;
  while (p <= plain.size()) {
    const std::size_t q = std::min(plain.find(';', p), plain.size());
    std::string part = plain.substr(p, q - p);
    p = q + 1;
    const auto a = part.find_first_not_of(" \t\r:"), b = part.find_last_not_of(" \t\r:");
    if (a == std::string::npos)
      continue;
    definition += (definition.empty() ? "" : "; ") + part.substr(a, b - a + 1);
  }
}

} // namespace

WordNet WordNet::load(const std::filesystem::path &dir)
{
  WordNet wn;
  for (const char *name : {"data.noun", "data.verb", "data.adj", "data.adv"}) {
    const std::filesystem::path path = dir / name;
    std::ifstream in(path, std::ios::binary);
    if (!in)
      throw Error(path.string() + ": cannot open (Debian package wordnet-base; run packaging/fetch-assets.sh)");
    std::string line;
    for (int lineNo = 1; std::getline(in, line); ++lineNo) {
      if (line.empty() || line[0] == ' ')
        continue; // the licence header
      const std::size_t bar = line.find(" | ");
      std::istringstream fields(line.substr(0, bar));
      std::string offset, lexFile, type, countHex;
      if (!(fields >> offset >> lexFile >> type >> countHex) || type.size() != 1)
        throw Error(path.string() + ":" + std::to_string(lineNo) + ": not a WordNet data line");
      Synset s;
      s.pos = type[0] == 's' ? 'a' : type[0];
      const int count = static_cast<int>(std::strtol(countHex.c_str(), nullptr, 16));
      for (int i = 0; i < count; ++i) {
        std::string word, lexId;
        if (!(fields >> word >> lexId))
          throw Error(path.string() + ":" + std::to_string(lineNo) + ": fewer words than the count says");
        if (const auto paren = word.find('('); paren != std::string::npos)
          word.resize(paren); // adjective markers: (a), (p), (ip)
        std::replace(word.begin(), word.end(), '_', ' ');
        s.words.push_back(word);
      }
      if (bar != std::string::npos)
        splitGloss(line.substr(bar + 3), s.definition, s.examples);
      const int index = static_cast<int>(wn.m_synsets.size());
      for (const std::string &w : s.words)
        wn.m_byWord[lower(w)].push_back(index);
      wn.m_synsets.push_back(std::move(s));
    }
  }
  return wn;
}

std::vector<std::string> WordNet::synonyms(const std::string &word) const
{
  const std::string key = lower(word);
  const auto it = m_byWord.find(key);
  if (it == m_byWord.end())
    return {};
  std::vector<std::string> out;
  std::set<std::string> seen{key};
  for (int index : it->second)
    for (const std::string &w : m_synsets[static_cast<std::size_t>(index)].words)
      if (seen.insert(lower(w)).second)
        out.push_back(w);
  return out;
}

std::string WordNet::posName(char pos)
{
  switch (pos) {
  case 'n': return "noun";
  case 'v': return "verb";
  case 'a': return "adjective";
  case 'r': return "adverb";
  default: return "word";
  }
}

} // namespace tunebench
