#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tunebench {

// Tagging schemes for token classification. BIO is another name for IOB2. Plain tags (POS) have
// no entity structure: any non-empty tag is valid.
enum class TagScheme { IOB1, IOB2, IOBES, Plain };

std::optional<TagScheme> parseTagScheme(const std::string &name); // "bio", "iob2", "iob1", "iobes", "bioes", "plain"
// IOBES when E-/S- prefixes occur, IOB2 when every tag is O or B-/I-TYPE, else Plain.
TagScheme detectTagScheme(const std::vector<std::vector<std::string>> &sequences);
std::string tagSchemeName(TagScheme scheme);

// A tag's prefix (O, B, I, E, S; '?' when malformed) and entity type ("B-PER": B, PER).
struct ParsedTag
{
  char prefix = 'O';
  std::string type;
};
ParsedTag parseTag(const std::string &tag);

// An entity: its type and token span [begin, end).
struct EntitySpan
{
  std::string type;
  int begin = 0;
  int end = 0;
  bool operator==(const EntitySpan &) const = default;
  bool operator<(const EntitySpan &o) const
  {
    return begin != o.begin ? begin < o.begin : end != o.end ? end < o.end : type < o.type;
  }
};

// Entities as conlleval and seqeval (default mode) read them: lenient, whatever the scheme (an I-
// with no B- starts an entity; a type change ends one).
std::vector<EntitySpan> extractEntities(const std::vector<std::string> &tags);

// Writes entity spans as tags of a scheme over n tokens.
std::vector<std::string> renderEntities(const std::vector<EntitySpan> &entities, int n, TagScheme scheme);

// Re-tags a sequence in another scheme (via its entities).
std::vector<std::string> convertTags(const std::vector<std::string> &tags, TagScheme to);

// One problem in a tag sequence: the token index and a message.
struct TagProblem
{
  int token = 0;
  bool syntax = false; // a malformed tag (not O or PREFIX-TYPE); otherwise an invalid transition
  std::string message;
};

// Checks tag syntax and the transitions the scheme allows.
std::vector<TagProblem> validateTags(const std::vector<std::string> &tags, TagScheme scheme);

// Repairs invalid transitions (an orphan I- becomes B-, an unfinished IOBES entity is closed),
// keeping every entity extractEntities() finds.
std::vector<std::string> repairTags(const std::vector<std::string> &tags, TagScheme scheme);

} // namespace tunebench
