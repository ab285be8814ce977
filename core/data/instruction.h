#pragma once

#include "core/data/dataset.h"

#include <optional>
#include <string>
#include <vector>

namespace tunebench {

// A piece of a rendered example and whether the loss counts on it (only the responses train).
struct PromptSegment
{
  std::string text;
  bool trainable = false;
};

// How instruction examples and chats become one training text.
struct PromptTemplate
{
  std::string name;
  std::string withInput;     // {instruction} and {input} are replaced
  std::string withoutInput;  // {instruction} is replaced
  std::string userTurn;      // chats: {content} is replaced
  std::string assistantTurn; // chats: the prefix before an assistant's content
  std::string systemTurn;
  std::string endOfTurn;     // appended after every assistant turn (trainable: the model learns to stop)
};

// "alpaca" (Stanford Alpaca's prompt), "chat" (<|system|>/<|user|>/<|assistant|> turns) and
// "plain" (the instruction, then the input on a new line: text-to-text sources).
std::optional<PromptTemplate> promptTemplate(const std::string &name);
std::vector<std::string> promptTemplateNames();

// Segments of an instruction example or chat: prompt parts not trainable, responses trainable.
std::vector<PromptSegment> renderExample(const Example &example, const PromptTemplate &t);

// The prompt alone (what generation is given at inference).
std::string renderPrompt(const Example &example, const PromptTemplate &t);

// Text-to-text: the source (everything before the last answer, earlier turns included) and the
// target (the last answer, without the template's end-of-turn mark).
struct SourceTarget
{
  std::string source, target;
};
SourceTarget sourceAndTarget(const Example &example, const PromptTemplate &t);

} // namespace tunebench
