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

// The first 20 names (a file with 100,000 columns makes a message, not a megabyte).
std::string joinList(const std::vector<std::string> &items)
{
  constexpr std::size_t kShown = 20;
  if (items.size() <= kShown)
    return text::join(items, ", ");
  return text::join(std::vector<std::string>(items.begin(), items.begin() + kShown), ", ") + ", … (" +
         std::to_string(items.size()) + " columns in all)";
}

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
    m.instruction = findColumn(table, {"instruction", "prompt", "question", "query", "source"});
    m.input = findColumn(table, {"input", "context"});
    m.output = findColumn(table, {"output", "response", "answer", "completion", "target"});
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

namespace {

// The columns the task needs (and the optional ones it names) exist; errors otherwise.
bool columnsPresent(const Table &table, const MappingOptions &options, DataReport &report)
{
  const ColumnMapping &m = options.columns;
  const std::string &file = table.source;
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
  bool present = true;
  for (const auto &[role, column] : required) {
    if (column.empty()) {
      report.error(file, 1, 0, role, "no column is mapped to " + role + "; the file has: " + joinList(table.columns));
      present = false;
    } else if (table.columnIndex(column) < 0) {
      report.error(file, 1, 0, column, "column not found (mapped to " + role + "); the file has: " + joinList(table.columns));
      present = false;
    }
  }
  for (const std::string *optional : {&m.textPair, &m.input, &m.split})
    if (!optional->empty() && table.columnIndex(*optional) < 0) {
      report.error(file, 1, 0, *optional, "column not found; the file has: " + joinList(table.columns));
      present = false;
    }
  return present;
}

// The tag scheme named, or the one the first 2,000 rows' tags follow.
TagScheme tagSchemeOf(const Table &table, const MappingOptions &options)
{
  if (options.kind != TaskKind::TokenTagging || options.scheme)
    return options.scheme.value_or(TagScheme::IOB2);
  std::vector<std::vector<std::string>> sample;
  const int c = table.columnIndex(options.columns.tags);
  std::string ignored;
  for (std::size_t r = 0; r < table.rows.size() && r < 2000; ++r) {
    sample.emplace_back();
    parseList(table.rows[r][static_cast<std::size_t>(c)], "", sample.back(), ignored);
  }
  return detectTagScheme(sample);
}

// One row of the table as it is read into an Example: its cells, and its problems reported with
// the row's line and the cell's column.
struct RowReader
{
  const Table &table;
  const MappingOptions &options;
  DataReport &report;
  const std::set<std::string> &allowed;
  std::size_t r;
  int line;
  bool ok = true;

  const std::string &cell(const std::string &column) const
  {
    static const std::string none;
    const int c = column.empty() ? -1 : table.columnIndex(column);
    return c < 0 ? none : table.rows[r][static_cast<std::size_t>(c)];
  }
  int columnAt(const std::string &column) const
  {
    const int c = table.columnIndex(column);
    return c < 0 ? 0 : table.columnOf(r, static_cast<std::size_t>(c));
  }
  void fail(const std::string &column, const std::string &message)
  {
    report.error(table.source, line, columnAt(column), column, message, static_cast<int>(r));
    ok = false;
  }
  void warn(const std::string &column, const std::string &message)
  {
    report.warning(table.source, line, columnAt(column), column, message, static_cast<int>(r));
  }
  bool absent(const std::string &column) const
  {
    const int c = table.columnIndex(column);
    return c >= 0 && r < table.present.size() && !table.present[r][static_cast<std::size_t>(c)];
  }
  void checkAllowed(const std::string &column, const std::string &what, const std::string &value)
  {
    if (!allowed.empty() && !allowed.count(value))
      fail(column, "unknown " + what + " \"" + value +
                       "\" (expected one of: " + joinList(options.allowedLabels) + ")");
  }
};

// Each reader fills the example from its row and returns the key duplicates are found by.
std::string readClassification(RowReader &row, Example &e)
{
  const ColumnMapping &m = row.options.columns;
  e.text = row.cell(m.text);
  e.textPair = row.cell(m.textPair);
  if (row.absent(m.text))
    row.fail(m.text, "missing");
  else if (blank(e.text))
    row.fail(m.text, "the text is empty");
  const std::string &labelCell = row.cell(m.label);
  if (row.options.kind == TaskKind::SingleLabel) {
    std::string label = text::trim(labelCell);
    if (row.absent(m.label) || label.empty())
      row.fail(m.label, "the label is missing");
    else
      e.labels = {std::move(label)};
  } else {
    std::string error;
    if (!parseList(labelCell, m.labelSeparator, e.labels, error))
      row.fail(m.label, error);
  }
  for (const std::string &l : e.labels)
    row.checkAllowed(m.label, "label", l);
  return e.text + '\x1f' + e.textPair;
}

std::string readTagging(RowReader &row, Example &e, TagScheme scheme)
{
  const ColumnMapping &m = row.options.columns;
  std::string error;
  if (!parseList(row.cell(m.tokens), "", e.tokens, error))
    row.fail(m.tokens, error);
  if (!parseList(row.cell(m.tags), "", e.tags, error))
    row.fail(m.tags, error);
  if (row.ok && e.tokens.empty())
    row.fail(m.tokens, "the sentence has no tokens");
  if (row.ok && e.tokens.size() != e.tags.size())
    row.fail(m.tags,
             std::to_string(e.tokens.size()) + " tokens but " + std::to_string(e.tags.size()) + " tags");
  if (row.ok) {
    for (const TagProblem &p : validateTags(e.tags, scheme)) {
      const std::string message = "token " + std::to_string(p.token + 1) + " (\"" +
                                  e.tokens[static_cast<std::size_t>(p.token)] + "\"): " + p.message;
      if (p.syntax)
        row.fail(m.tags, message + " in " + tagSchemeName(scheme));
      else
        row.warn(m.tags, message);
    }
    for (const EntitySpan &s :
         scheme == TagScheme::Plain ? std::vector<EntitySpan>{} : extractEntities(e.tags))
      row.checkAllowed(m.tags, "entity type", s.type);
  }
  std::string key;
  for (const std::string &t : e.tokens)
    key += t + '\x1f';
  return key;
}

std::string readConversation(RowReader &row, Example &e)
{
  const std::string &column = row.options.columns.messages;
  const std::string turnsText = row.cell(column);
  if (jsonTooDeepAt(turnsText) != std::string::npos) {
    row.fail(column, "the conversation nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return turnsText;
  }
  try {
    const nlohmann::json turns = nlohmann::json::parse(turnsText);
    bool assistant = false;
    for (const auto &t : turns) {
      const std::string role = t.value("role", t.value("from", std::string()));
      const std::string content = t.value("content", t.value("value", std::string()));
      if (role != "system" && role != "user" && role != "assistant" && role != "human" && role != "gpt")
        row.fail(column, "unknown role \"" + role + "\" (expected system, user or assistant)");
      const std::string normalized = role == "human" ? "user" : role == "gpt" ? "assistant" : role;
      assistant = assistant || normalized == "assistant";
      e.messages.push_back({normalized, content});
    }
    if (!assistant)
      row.fail(column, "the conversation has no assistant turn to learn from");
  } catch (const nlohmann::json::exception &) {
    row.fail(column, "not a JSON list of {role, content} turns");
  }
  return turnsText;
}

std::string readInstruction(RowReader &row, Example &e)
{
  const ColumnMapping &m = row.options.columns;
  if (!m.messages.empty() && m.instruction.empty())
    return readConversation(row, e);
  e.instruction = row.cell(m.instruction);
  e.input = row.cell(m.input);
  e.output = row.cell(m.output);
  if (blank(e.instruction))
    row.fail(m.instruction, "the instruction is empty");
  if (blank(e.output))
    row.fail(m.output, "the output is empty");
  return e.instruction + '\x1f' + e.input;
}

std::string readText(RowReader &row, Example &e)
{
  e.text = row.cell(row.options.columns.text);
  if (blank(e.text))
    row.fail(row.options.columns.text, "the text is empty");
  return e.text;
}

} // namespace

Dataset toDataset(const Table &table, const MappingOptions &options, DataReport &report)
{
  Dataset dataset;
  dataset.source = table.source;
  dataset.kind = options.kind;
  if (!columnsPresent(table, options, report))
    return dataset;
  const std::set<std::string> allowed(options.allowedLabels.begin(), options.allowedLabels.end());
  const TagScheme scheme = tagSchemeOf(table, options);
  std::set<std::string> labelSet;
  std::unordered_map<std::string, std::pair<int, std::string>> seen; // key → (line, label)
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    RowReader row{table, options, report, allowed, r, r < table.lines.size() ? table.lines[r] : 0};
    Example e;
    e.line = row.line;
    e.split = lower(row.cell(options.columns.split));
    std::string key;
    switch (options.kind) {
    case TaskKind::SingleLabel:
    case TaskKind::MultiLabel:
      key = readClassification(row, e);
      break;
    case TaskKind::TokenTagging:
      key = readTagging(row, e, scheme);
      break;
    case TaskKind::Instruction:
      key = readInstruction(row, e);
      break;
    case TaskKind::LanguageModel:
      key = readText(row, e);
      break;
    }
    if (!row.ok)
      continue;
    if (options.reportDuplicates) {
      const std::string label = joinList(e.labels);
      const auto [it, inserted] = seen.emplace(key, std::make_pair(row.line, label));
      if (!inserted)
        row.warn("", "duplicate of the example on line " + std::to_string(it->second.first) +
                         (it->second.second != label ? " with a different label (\"" + it->second.second +
                                                           "\" there, \"" + label + "\" here)"
                                                     : std::string()));
    }
    labelSet.insert(e.labels.begin(), e.labels.end());
    labelSet.insert(e.tags.begin(), e.tags.end());
    dataset.examples.push_back(std::move(e));
  }
  dataset.labels.assign(labelSet.begin(), labelSet.end());
  return dataset;
}

} // namespace tunebench
