#include "core/data/instruction.h"

namespace tunebench {

namespace {

std::string replaceAll(std::string text, const std::string &key, const std::string &value)
{
  for (std::size_t p = text.find(key); p != std::string::npos; p = text.find(key, p + value.size()))
    text.replace(p, key.size(), value);
  return text;
}

} // namespace

std::optional<PromptTemplate> promptTemplate(const std::string &name)
{
  if (name == "alpaca")
    return PromptTemplate{
        "alpaca",
        "Below is an instruction that describes a task, paired with an input that provides further context. "
        "Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n"
        "### Input:\n{input}\n\n### Response:\n",
        "Below is an instruction that describes a task. Write a response that appropriately completes the "
        "request.\n\n### Instruction:\n{instruction}\n\n### Response:\n",
        "### Instruction:\n{content}\n\n", "### Response:\n", "{content}\n\n", "\n\n"};
  if (name == "chat")
    return PromptTemplate{"chat", "<|user|>\n{instruction}\n\n{input}\n<|assistant|>\n", "<|user|>\n{instruction}\n<|assistant|>\n",
                          "<|user|>\n{content}\n", "<|assistant|>\n", "<|system|>\n{content}\n", "\n"};
  if (name == "plain") // the instruction (and input) as they are: T5's own text-to-text style
    return PromptTemplate{
        "plain", "{instruction}\n{input}", "{instruction}", "{content}\n", "", "{content}\n", ""};
  return std::nullopt;
}

std::vector<std::string> promptTemplateNames()
{
  return {"alpaca", "chat", "plain"};
}

std::string renderPrompt(const Example &e, const PromptTemplate &t)
{
  std::string out;
  for (const PromptSegment &s : renderExample(e, t)) {
    if (s.trainable)
      break;
    out += s.text;
  }
  return out;
}

std::vector<PromptSegment> renderExample(const Example &e, const PromptTemplate &t)
{
  std::vector<PromptSegment> out;
  if (e.messages.empty()) {
    const std::string prompt = e.input.empty()
                                   ? replaceAll(t.withoutInput, "{instruction}", e.instruction)
                                   : replaceAll(replaceAll(t.withInput, "{instruction}", e.instruction), "{input}", e.input);
    out.push_back({prompt, false});
    out.push_back({e.output + t.endOfTurn, true});
    return out;
  }
  for (const ChatTurn &turn : e.messages) {
    if (turn.role == "assistant") {
      out.push_back({t.assistantTurn, false});
      out.push_back({turn.content + t.endOfTurn, true});
    } else {
      out.push_back({replaceAll(turn.role == "system" ? t.systemTurn : t.userTurn, "{content}", turn.content), false});
    }
  }
  return out;
}

SourceTarget sourceAndTarget(const Example &e, const PromptTemplate &t)
{
  const std::vector<PromptSegment> segments = renderExample(e, t);
  std::size_t last = segments.size(); // one past the last answer
  while (last > 0 && !segments[last - 1].trainable)
    --last;
  SourceTarget out;
  for (std::size_t i = 0; i + 1 < last; ++i)
    out.source += segments[i].text;
  if (last > 0) {
    out.target = segments[last - 1].text;
    if (!t.endOfTurn.empty() && out.target.size() >= t.endOfTurn.size() &&
        out.target.compare(out.target.size() - t.endOfTurn.size(), t.endOfTurn.size(), t.endOfTurn) == 0)
      out.target.resize(out.target.size() - t.endOfTurn.size());
  }
  return out;
}

} // namespace tunebench
