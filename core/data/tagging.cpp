#include "core/data/tagging.h"

#include <algorithm>

namespace tunebench {

ParsedTag parseTag(const std::string &tag)
{
  if (tag == "O" || tag.empty())
    return {};
  if (tag.size() >= 2 && (tag[1] == '-' || tag[1] == '_'))
    return {tag[0], tag.substr(2)};
  return {'?', tag};
}

namespace {

using Parsed = ParsedTag;
Parsed parse(const std::string &tag) { return parseTag(tag); }

// conlleval's chunk boundary rules.
bool endOfChunk(const Parsed &prev, const Parsed &cur)
{
  if (prev.prefix == 'E' || prev.prefix == 'S')
    return true;
  if ((prev.prefix == 'B' || prev.prefix == 'I') && (cur.prefix == 'B' || cur.prefix == 'S' || cur.prefix == 'O'))
    return true;
  return prev.prefix != 'O' && prev.type != cur.type;
}

bool startOfChunk(const Parsed &prev, const Parsed &cur)
{
  if (cur.prefix == 'B' || cur.prefix == 'S')
    return true;
  if ((prev.prefix == 'E' || prev.prefix == 'S' || prev.prefix == 'O') && (cur.prefix == 'E' || cur.prefix == 'I'))
    return true;
  return cur.prefix != 'O' && prev.type != cur.type;
}

} // namespace

std::optional<TagScheme> parseTagScheme(const std::string &name)
{
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n == "bio" || n == "iob2")
    return TagScheme::IOB2;
  if (n == "iob1" || n == "iob")
    return TagScheme::IOB1;
  if (n == "iobes" || n == "bioes" || n == "bilou")
    return TagScheme::IOBES;
  if (n == "plain" || n == "none" || n == "pos")
    return TagScheme::Plain;
  return std::nullopt;
}

TagScheme detectTagScheme(const std::vector<std::vector<std::string>> &sequences)
{
  bool endOrSingle = false;
  for (const auto &tags : sequences)
    for (const std::string &tag : tags) {
      if (tag == "O")
        continue;
      const Parsed p = parse(tag);
      if (p.type.empty() || std::string("BIES").find(p.prefix) == std::string::npos)
        return TagScheme::Plain;
      endOrSingle = endOrSingle || p.prefix == 'E' || p.prefix == 'S';
    }
  return endOrSingle ? TagScheme::IOBES : TagScheme::IOB2;
}

std::string tagSchemeName(TagScheme scheme)
{
  switch (scheme) {
  case TagScheme::IOB1: return "IOB1";
  case TagScheme::IOB2: return "IOB2";
  case TagScheme::IOBES: return "IOBES";
  case TagScheme::Plain: return "plain";
  }
  return {};
}

std::vector<EntitySpan> extractEntities(const std::vector<std::string> &tags)
{
  std::vector<EntitySpan> out;
  Parsed prev;
  int start = -1;
  for (int i = 0; i <= static_cast<int>(tags.size()); ++i) {
    Parsed cur = i < static_cast<int>(tags.size()) ? parse(tags[static_cast<std::size_t>(i)]) : Parsed{};
    if (cur.prefix == '?') // malformed: read as I- of its whole text, as seqeval does with a bare tag
      cur.prefix = 'I';
    if (cur.prefix == 'L')
      cur.prefix = 'E';
    if (cur.prefix == 'U')
      cur.prefix = 'S';
    if (start >= 0 && endOfChunk(prev, cur)) {
      out.push_back({prev.type, start, i});
      start = -1;
    }
    if (startOfChunk(prev, cur))
      start = i;
    prev = cur;
  }
  return out;
}

std::vector<std::string> renderEntities(const std::vector<EntitySpan> &entities, int n, TagScheme scheme)
{
  std::vector<std::string> tags(static_cast<std::size_t>(n), "O");
  int previousEnd = -1;
  std::string previousType;
  for (const EntitySpan &e : entities) {
    for (int i = e.begin; i < e.end && i < n; ++i) {
      char prefix = 'I';
      if (scheme == TagScheme::IOBES)
        prefix = e.end - e.begin == 1 ? 'S' : i == e.begin ? 'B' : i == e.end - 1 ? 'E' : 'I';
      else if (scheme == TagScheme::IOB2)
        prefix = i == e.begin ? 'B' : 'I';
      else // IOB1: B- only where an entity directly follows one of the same type
        prefix = i == e.begin && previousEnd == e.begin && previousType == e.type ? 'B' : 'I';
      tags[static_cast<std::size_t>(i)] = std::string(1, prefix) + "-" + e.type;
    }
    previousEnd = e.end;
    previousType = e.type;
  }
  return tags;
}

std::vector<std::string> convertTags(const std::vector<std::string> &tags, TagScheme to)
{
  if (to == TagScheme::Plain)
    return tags;
  return renderEntities(extractEntities(tags), static_cast<int>(tags.size()), to);
}

std::vector<TagProblem> validateTags(const std::vector<std::string> &tags, TagScheme scheme)
{
  std::vector<TagProblem> problems;
  if (scheme == TagScheme::Plain) {
    for (int i = 0; i < static_cast<int>(tags.size()); ++i)
      if (tags[static_cast<std::size_t>(i)].empty())
        problems.push_back({i, true, "the tag is empty"});
    return problems;
  }
  const std::string allowed = scheme == TagScheme::IOBES ? "BIES" : "BI";
  Parsed prev;
  for (int i = 0; i < static_cast<int>(tags.size()); ++i) {
    const Parsed cur = parse(tags[static_cast<std::size_t>(i)]);
    const std::string &tag = tags[static_cast<std::size_t>(i)];
    if (cur.prefix != 'O' && (allowed.find(cur.prefix) == std::string::npos || cur.type.empty())) {
      problems.push_back({i, true, "tag \"" + tag + "\" is not O or " +
                                       std::string(scheme == TagScheme::IOBES ? "B-/I-/E-/S-" : "B-/I-") + "TYPE"});
      prev = {};
      continue;
    }
    const bool continues = (prev.prefix == 'B' || prev.prefix == 'I') && prev.type == cur.type;
    if (scheme == TagScheme::IOB2 && cur.prefix == 'I' && !continues)
      problems.push_back({i, false, "\"" + tag + "\" does not continue an entity (" +
                                        (prev.prefix == 'O' ? std::string("after O") : "after a different type") +
                                        "); an entity starts with B-"});
    if (scheme == TagScheme::IOBES) {
      if ((cur.prefix == 'I' || cur.prefix == 'E') && !continues)
        problems.push_back({i, false, "\"" + tag + "\" does not continue a B-/I- of the same type"});
      if ((prev.prefix == 'B' || prev.prefix == 'I') && !((cur.prefix == 'I' || cur.prefix == 'E') && prev.type == cur.type))
        problems.push_back({i, false, "the entity before token " + std::to_string(i + 1) + " is not closed by E-" + prev.type});
    }
    prev = cur;
  }
  if (scheme == TagScheme::IOBES && (prev.prefix == 'B' || prev.prefix == 'I'))
    problems.push_back({static_cast<int>(tags.size()) - 1, false, "the last entity is not closed by E-" + prev.type});
  return problems;
}

std::vector<std::string> repairTags(const std::vector<std::string> &tags, TagScheme scheme)
{
  return convertTags(tags, scheme);
}

} // namespace tunebench
