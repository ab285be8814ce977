#include "core/data/mapping.h"

#include "core/util/jsonfile.h"
#include "core/util/text.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

namespace tunebench {

namespace {

using text::lower;

std::string findColumn(const Table &table, std::initializer_list<const char *> candidates)
{
  for (const char *candidate : candidates)
    for (const std::string &c : table.columns)
      if (lower(c) == candidate)
        return c;
  return {};
}

bool blank(const std::string &s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

// A list cell: a JSON array of strings, or text split on `separator` (whitespace when empty).
bool parseList(const std::string &cell, const std::string &separator, std::vector<std::string> &out, std::string &error)
{
  out.clear();
  const auto first = cell.find_first_not_of(" \t");
  if (first != std::string::npos && cell[first] == '[') {
    if (jsonTooDeepAt(cell) != std::string::npos) {
      error = "the list nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
      return false;
    }
    try {
      const nlohmann::json j = nlohmann::json::parse(cell);
      for (const auto &v : j) {
        if (!v.is_string() && !v.is_number()) {
          error = "the list holds a " + std::string(v.type_name()) + ", expected strings";
          return false;
        }
        out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      }
      return true;
    } catch (const nlohmann::json::exception &) {
      error = "not a valid JSON list";
      return false;
    }
  }
  if (separator.empty()) {
    out = text::splitWhitespace(cell);
    return true;
  }
  for (std::size_t p = 0; p <= cell.size();) {
    const std::size_t q = std::min(cell.find(separator, p), cell.size());
    if (std::string item = text::trim(std::string_view(cell).substr(p, q - p)); !item.empty())
      out.push_back(std::move(item));
    p = q + separator.size();
  }
  return true;
}

std::string joinList(const std::vector<std::string> &items) { return text::join(items, ", "); }

} // namespace

ColumnMapping guessMapping(const Table &table, TaskKind kind)
{
  ColumnMapping m;
  m.split = findColumn(table, {"split", "subset", "fold"});
  switch (kind) {
  case TaskKind::SingleLabel:
  case TaskKind::MultiLabel:
    m.text = findColumn(table, {"text", "sentence", "review", "content", "document", "body", "sentence1", "question"});
    m.textPair = findColumn(table, {"text_pair", "sentence2", "pair", "hypothesis", "context"});
    m.label = findColumn(table, {"label", "labels", "sentiment", "category", "class", "target", "polarity", "y"});
    break;
  case TaskKind::TokenTagging:
    m.tokens = findColumn(table, {"tokens", "words", "token"});
    m.tags = findColumn(table, {"tags", "ner_tags", "pos_tags", "labels", "label"});
    break;
  case TaskKind::Instruction:
    m.instruction = findColumn(table, {"instruction", "prompt", "question", "query"});
    m.input = findColumn(table, {"input", "context"});
    m.output = findColumn(table, {"output", "response", "answer", "completion"});
    m.messages = findColumn(table, {"messages", "conversations", "conversation", "chat"});
    break;
  case TaskKind::LanguageModel:
    m.text = findColumn(table, {"text", "content", "document", "body"});
    if (m.text.empty() && table.columns.size() == 1)
      m.text = table.columns.front();
    break;
  }
  return m;
}

Dataset toDataset(const Table &table, const MappingOptions &options, DataReport &report)
{
  Dataset dataset;
  dataset.source = table.source;
  dataset.kind = options.kind;
  const ColumnMapping &m = options.columns;
  const std::string &file = table.source;

  // Which columns this task needs, and where they are.
  std::vector<std::pair<std::string, std::string>> required; // (role, column)
  switch (options.kind) {
  case TaskKind::SingleLabel:
  case TaskKind::MultiLabel: required = {{"text", m.text}, {"label", m.label}}; break;
  case TaskKind::TokenTagging: required = {{"tokens", m.tokens}, {"tags", m.tags}}; break;
  case TaskKind::Instruction:
    if (!m.messages.empty() && m.instruction.empty())
      required = {{"messages", m.messages}};
    else
      required = {{"instruction", m.instruction}, {"output", m.output}};
    break;
  case TaskKind::LanguageModel: required = {{"text", m.text}}; break;
  }
  bool missing = false;
  for (const auto &[role, column] : required) {
    if (column.empty()) {
      report.error(file, 1, 0, role, "no column is mapped to " + role + "; the file has: " + joinList(table.columns));
      missing = true;
    } else if (table.columnIndex(column) < 0) {
      report.error(file, 1, 0, column, "column not found (mapped to " + role + "); the file has: " + joinList(table.columns));
      missing = true;
    }
  }
  for (const std::string *optional : {&m.textPair, &m.input, &m.split})
    if (!optional->empty() && table.columnIndex(*optional) < 0) {
      report.error(file, 1, 0, *optional, "column not found; the file has: " + joinList(table.columns));
      missing = true;
    }
  if (missing)
    return dataset;

  const std::set<std::string> allowed(options.allowedLabels.begin(), options.allowedLabels.end());
  TagScheme scheme = options.scheme.value_or(TagScheme::IOB2);
  if (options.kind == TaskKind::TokenTagging && !options.scheme) {
    std::vector<std::vector<std::string>> sample;
    const int c = table.columnIndex(m.tags);
    std::string ignored;
    for (std::size_t r = 0; r < table.rows.size() && r < 2000; ++r) {
      sample.emplace_back();
      parseList(table.rows[r][static_cast<std::size_t>(c)], "", sample.back(), ignored);
    }
    scheme = detectTagScheme(sample);
  }
  std::set<std::string> labelSet;
  std::unordered_map<std::string, std::pair<int, std::string>> seen; // key → (line, label)

  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const int line = r < table.lines.size() ? table.lines[r] : 0;
    const int row = static_cast<int>(r);
    bool rowOk = true;
    auto cell = [&](const std::string &column) -> const std::string & {
      static const std::string none;
      const int c = column.empty() ? -1 : table.columnIndex(column);
      return c < 0 ? none : table.rows[r][static_cast<std::size_t>(c)];
    };
    auto columnAt = [&](const std::string &column) {
      const int c = table.columnIndex(column);
      return c < 0 ? 0 : table.columnOf(r, static_cast<std::size_t>(c));
    };
    auto fail = [&](const std::string &column, const std::string &message) {
      report.error(file, line, columnAt(column), column, message, row);
      rowOk = false;
    };
    auto absent = [&](const std::string &column) {
      const int c = table.columnIndex(column);
      return c >= 0 && r < table.present.size() && !table.present[r][static_cast<std::size_t>(c)];
    };

    Example e;
    e.line = line;
    e.split = lower(cell(m.split));
    std::string key;
    switch (options.kind) {
    case TaskKind::SingleLabel:
    case TaskKind::MultiLabel: {
      e.text = cell(m.text);
      e.textPair = cell(m.textPair);
      if (absent(m.text))
        fail(m.text, "missing");
      else if (blank(e.text))
        fail(m.text, "the text is empty");
      const std::string &labelCell = cell(m.label);
      if (options.kind == TaskKind::SingleLabel) {
        std::string label = text::trim(labelCell);
        if (absent(m.label) || label.empty())
          fail(m.label, "the label is missing");
        else
          e.labels = {std::move(label)};
      } else {
        std::string error;
        if (!parseList(labelCell, m.labelSeparator, e.labels, error))
          fail(m.label, error);
      }
      for (const std::string &l : e.labels)
        if (!allowed.empty() && !allowed.count(l))
          fail(m.label, "unknown label \"" + l + "\" (expected one of: " + joinList(options.allowedLabels) + ")");
      key = e.text + '\x1f' + e.textPair;
      break;
    }
    case TaskKind::TokenTagging: {
      std::string error;
      if (!parseList(cell(m.tokens), "", e.tokens, error))
        fail(m.tokens, error);
      if (!parseList(cell(m.tags), "", e.tags, error))
        fail(m.tags, error);
      if (rowOk && e.tokens.empty())
        fail(m.tokens, "the sentence has no tokens");
      if (rowOk && e.tokens.size() != e.tags.size())
        fail(m.tags, std::to_string(e.tokens.size()) + " tokens but " + std::to_string(e.tags.size()) + " tags");
      if (rowOk) {
        for (const TagProblem &p : validateTags(e.tags, scheme)) {
          const std::string message = "token " + std::to_string(p.token + 1) + " (\"" +
                                      e.tokens[static_cast<std::size_t>(p.token)] + "\"): " + p.message;
          if (p.syntax)
            fail(m.tags, message + " in " + tagSchemeName(scheme));
          else
            report.warning(file, line, columnAt(m.tags), m.tags, message, row);
        }
        for (const EntitySpan &s : scheme == TagScheme::Plain ? std::vector<EntitySpan>{} : extractEntities(e.tags))
          if (!allowed.empty() && !allowed.count(s.type))
            fail(m.tags, "unknown entity type \"" + s.type + "\" (expected one of: " +
                             joinList(options.allowedLabels) + ")");
      }
      for (const std::string &t : e.tokens)
        key += t + '\x1f';
      break;
    }
    case TaskKind::Instruction: {
      if (!m.messages.empty() && m.instruction.empty()) {
        const std::string turnsText = cell(m.messages);
        if (jsonTooDeepAt(turnsText) != std::string::npos) {
          fail(m.messages, "the conversation nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        } else {
          try {
            const nlohmann::json turns = nlohmann::json::parse(turnsText);
            bool assistant = false;
            for (const auto &t : turns) {
              const std::string role = t.value("role", t.value("from", std::string()));
              const std::string content = t.value("content", t.value("value", std::string()));
              if (role != "system" && role != "user" && role != "assistant" && role != "human" &&
                  role != "gpt")
                fail(m.messages, "unknown role \"" + role + "\" (expected system, user or assistant)");
              const std::string normalized = role == "human" ? "user" : role == "gpt" ? "assistant" : role;
              assistant = assistant || normalized == "assistant";
              e.messages.push_back({normalized, content});
            }
            if (!assistant)
              fail(m.messages, "the conversation has no assistant turn to learn from");
          } catch (const nlohmann::json::exception &) {
            fail(m.messages, "not a JSON list of {role, content} turns");
          }
        }
        key = turnsText;
      } else {
        e.instruction = cell(m.instruction);
        e.input = cell(m.input);
        e.output = cell(m.output);
        if (blank(e.instruction))
          fail(m.instruction, "the instruction is empty");
        if (blank(e.output))
          fail(m.output, "the output is empty");
        key = e.instruction + '\x1f' + e.input;
      }
      break;
    }
    case TaskKind::LanguageModel:
      e.text = cell(m.text);
      if (blank(e.text))
        fail(m.text, "the text is empty");
      key = e.text;
      break;
    }
    if (!rowOk)
      continue;
    if (options.reportDuplicates) {
      const std::string label = joinList(e.labels);
      const auto [it, inserted] = seen.emplace(key, std::make_pair(line, label));
      if (!inserted)
        report.warning(file, line, 0, "",
                       "duplicate of the example on line " + std::to_string(it->second.first) +
                           (it->second.second != label ? " with a different label (\"" + it->second.second +
                                                             "\" there, \"" + label + "\" here)"
                                                       : std::string()),
                       row);
    }
    for (const std::string &l : e.labels)
      labelSet.insert(l);
    for (const std::string &t : e.tags)
      labelSet.insert(t);
    dataset.examples.push_back(std::move(e));
  }
  dataset.labels.assign(labelSet.begin(), labelSet.end());
  return dataset;
}

} // namespace tunebench
