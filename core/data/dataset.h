#pragma once

#include "core/data/tagging.h"

#include <optional>
#include <string>
#include <vector>

namespace tunebench {

enum class TaskKind {
  SingleLabel,   // one class per text (sentiment)
  MultiLabel,    // any number of classes per text
  TokenTagging,  // a tag per token (NER, POS)
  Instruction,   // instruction [+ input] → output (Alpaca style) or a chat
  LanguageModel, // plain text (pre-training, domain adaptation)
};

std::optional<TaskKind> parseTaskKind(const std::string &name);
std::string taskKindName(TaskKind kind);

// One turn of a chat example.
struct ChatTurn
{
  std::string role; // "system", "user", "assistant"
  std::string content;
};

// One example, whatever the task; fields a task does not use stay empty.
struct Example
{
  std::string text;
  std::string textPair;
  std::vector<std::string> labels;  // one for single-label
  std::vector<std::string> tokens;  // token tagging
  std::vector<std::string> tags;
  std::string instruction;          // instruction tuning
  std::string input;
  std::string output;
  std::vector<ChatTurn> messages;   // chat form
  std::string split;                // "train", "validation", "test" when the file says
  int line = 0;                     // where it starts in the source file
  int sourceRow = -1;               // augmented rows: the row they were made from
  std::string augmentation;         // augmented rows: the operation
};

// Examples of one task with their label set (classification) or tag set (tagging).
struct Dataset
{
  std::string source;
  TaskKind kind = TaskKind::SingleLabel;
  std::vector<Example> examples;
  std::vector<std::string> labels; // sorted label or tag names

  std::size_t size() const { return examples.size(); }
  // The label of a single-label example ("" when none), for stratification and counts.
  static const std::string &primaryLabel(const Example &e);
};

} // namespace tunebench
