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

// "alpaca" (Stanford Alpaca's prompt) and "chat" (<|system|>/<|user|>/<|assistant|> turns).
std::optional<PromptTemplate> promptTemplate(const std::string &name);
std::vector<std::string> promptTemplateNames();

// Segments of an instruction example or chat: prompt parts not trainable, responses trainable.
std::vector<PromptSegment> renderExample(const Example &example, const PromptTemplate &t);

// The prompt alone (what generation is given at inference).
std::string renderPrompt(const Example &example, const PromptTemplate &t);

} // namespace tunebench
