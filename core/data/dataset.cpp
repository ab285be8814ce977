#include "core/data/dataset.h"

#include <algorithm>

namespace tunebench {

std::optional<TaskKind> parseTaskKind(const std::string &name)
{
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n == "classification" || n == "single_label" || n == "text_classification" || n == "sentiment")
    return TaskKind::SingleLabel;
  if (n == "multi_label" || n == "multilabel")
    return TaskKind::MultiLabel;
  if (n == "token_classification" || n == "token_tagging" || n == "tagging" || n == "ner" || n == "pos")
    return TaskKind::TokenTagging;
  if (n == "instruction" || n == "instruction_tuning" || n == "chat" || n == "generation" || n == "seq2seq" ||
      n == "text_to_text")
    return TaskKind::Instruction;
  if (n == "language_model" || n == "lm" || n == "text" || n == "causal_lm" || n == "masked_lm" ||
      n == "span_corruption")
    return TaskKind::LanguageModel;
  return std::nullopt;
}

std::string taskKindName(TaskKind kind)
{
  switch (kind) {
  case TaskKind::SingleLabel: return "classification";
  case TaskKind::MultiLabel: return "multi_label";
  case TaskKind::TokenTagging: return "token_classification";
  case TaskKind::Instruction: return "instruction";
  case TaskKind::LanguageModel: return "language_model";
  }
  return {};
}

const std::string &Dataset::primaryLabel(const Example &e)
{
  static const std::string none;
  return e.labels.empty() ? none : e.labels.front();
}

} // namespace tunebench
