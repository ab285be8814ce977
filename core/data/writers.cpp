#include "core/data/writers.h"


#include <nlohmann/json.hpp>


namespace tunebench {

std::string toCsv(const std::vector<std::string> &header, const std::vector<std::vector<std::string>> &rows)
{
  std::string out;
  auto line = [&out](const std::vector<std::string> &fields) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i)
        out.push_back(',');
      out.push_back('"');
      for (char c : fields[i]) {
        if (c == '"')
          out.push_back('"');
        out.push_back(c);
      }
      out.push_back('"');
    }
    out.push_back('\n');
  };
  line(header);
  for (const auto &r : rows)
    line(r);
  return out;
}

std::string toConll(const Dataset &dataset)
{
  std::string out;
  for (const Example &e : dataset.examples) {
    for (std::size_t i = 0; i < e.tokens.size(); ++i)
      out += e.tokens[i] + '\t' + (i < e.tags.size() ? e.tags[i] : std::string("O")) + '\n';
    out += '\n';
  }
  return out;
}

std::string toJsonLines(const Dataset &dataset)
{
  std::string out;
  for (const Example &e : dataset.examples) {
    nlohmann::ordered_json j;
    if (!e.text.empty())
      j["text"] = e.text;
    if (!e.textPair.empty())
      j["text_pair"] = e.textPair;
    if (dataset.kind == TaskKind::MultiLabel)
      j["labels"] = e.labels;
    else if (!e.labels.empty())
      j["label"] = e.labels.front();
    if (!e.tokens.empty()) {
      j["tokens"] = e.tokens;
      j["tags"] = e.tags;
    }
    if (!e.instruction.empty()) {
      j["instruction"] = e.instruction;
      j["input"] = e.input;
      j["output"] = e.output;
    }
    if (!e.messages.empty()) {
      nlohmann::ordered_json turns = nlohmann::ordered_json::array();
      for (const ChatTurn &t : e.messages)
        turns.push_back({{"role", t.role}, {"content", t.content}});
      j["messages"] = turns;
    }
    if (!e.split.empty())
      j["split"] = e.split;
    if (e.sourceRow >= 0) {
      j["source_row"] = e.sourceRow;
      j["augmentation"] = e.augmentation;
    }
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + '\n';
  }
  return out;
}

} // namespace tunebench
