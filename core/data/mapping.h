#pragma once

#include "core/data/dataset.h"
#include "core/data/datareport.h"
#include "core/data/table.h"

namespace tunebench {

// Which table column plays which part. Empty names are not used.
struct ColumnMapping
{
  std::string text;
  std::string textPair;
  std::string label;          // single label, or several joined by labelSeparator / a JSON array
  std::string tokens;         // JSON array or space-separated
  std::string tags;           // JSON array or space-separated
  std::string instruction;
  std::string input;
  std::string output;
  std::string messages;       // JSON array of {role, content}
  std::string split;
  std::string labelSeparator = "|";
};

// The usual column names for a task (text/sentence/review, label/sentiment/category, tokens/words,
// tags/ner_tags/pos_tags, instruction/input/output/response, messages/conversations, split).
ColumnMapping guessMapping(const Table &table, TaskKind kind);

struct MappingOptions
{
  TaskKind kind = TaskKind::SingleLabel;
  ColumnMapping columns;
  std::vector<std::string> allowedLabels; // empty: any label (or tag type) is accepted
  std::optional<TagScheme> scheme; // unset: detected from the tags (see detectTagScheme)
  bool reportDuplicates = true;
};

// Gives the table's rows their task meaning and validates them: missing columns, empty text,
// missing or unknown labels, token/tag counts that differ, malformed tags and invalid tag
// transitions, duplicates. Rows with errors are left out; warnings keep the row.
Dataset toDataset(const Table &table, const MappingOptions &options, DataReport &report);

} // namespace tunebench
