#include "core/data/readers.h"

#include "core/data/readersdetail.h"
#include "core/tokenize/unicode.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"
#include "core/util/text.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace detail {

// The file's bytes with a UTF-8 BOM removed; every invalid byte is reported at its line:column.
// Returns the 1-based lines that hold invalid bytes.
std::string readDataText(const fs::path &path, DataReport &report, std::set<int> &badLines)
{
  std::string data = readInputFile(path, "a data file");
  if (data.rfind("\xFF\xFE", 0) == 0 || data.rfind("\xFE\xFF", 0) == 0)
    throw Error(path.string() +
                ": the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8");
  if (data.rfind("\xEF\xBB\xBF", 0) == 0)
    data.erase(0, 3);
  // Walk the bad bytes in order (invalid UTF-8, then NUL bytes: a binary file, or UTF-16 without a
  // byte-order mark), counting lines as we go (not from the start for each one).
  std::size_t counted = 0;
  int line = 1;
  const auto badByte = [&](std::size_t at, const std::string &what) {
    line += static_cast<int>(std::count(data.begin() + static_cast<std::ptrdiff_t>(counted),
                                        data.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
    counted = at;
    if (badLines.size() < 50) {
      const std::size_t lineStart = at == 0 ? std::string::npos : data.rfind('\n', at - 1);
      const std::size_t begin = lineStart == std::string::npos ? 0 : lineStart + 1;
      const int column = static_cast<int>(unicode::decode(std::string_view(data).substr(begin, at - begin)).size()) + 1;
      report.error(path.string(), line, column, "", what);
    }
    badLines.insert(line);
  };
  std::size_t from = 0, bad = 0;
  while (!unicode::isValidUtf8(std::string_view(data).substr(from), &bad)) {
    const auto byte = static_cast<unsigned char>(data[from + bad]);
    badByte(from + bad, "invalid UTF-8 byte 0x" + std::string(1, "0123456789abcdef"[byte >> 4]) +
                            std::string(1, "0123456789abcdef"[byte & 15]) + " (save the file as UTF-8)");
    from += bad + 1;
  }
  counted = 0;
  line = 1;
  for (std::size_t at = data.find('\0'); at != std::string::npos; at = data.find('\0', at + 1))
    badByte(at, "a NUL byte (a binary file, or UTF-16 without a byte-order mark?)");
  return data;
}

} // namespace detail

using detail::readDataText;

namespace {

// Line and character column of a byte offset.
std::pair<int, int> locate(const std::string &data, std::size_t offset)
{
  offset = std::min(offset, data.size());
  const int line = static_cast<int>(std::count(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(offset), '\n')) + 1;
  const std::size_t lineStart = offset == 0 ? std::string::npos : data.rfind('\n', offset - 1);
  const std::size_t begin = lineStart == std::string::npos ? 0 : lineStart + 1;
  return {line, static_cast<int>(unicode::decode(std::string_view(data).substr(begin, offset - begin)).size()) + 1};
}

std::string cellText(const json &v)
{
  if (v.is_string())
    return v.get<std::string>();
  if (v.is_null())
    return {};
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Adds one JSON object as a row; keys become columns in first-seen order.
void addObject(Table &table, std::map<std::string, int> &index, const json &object, int line)
{
  std::vector<std::string> row(table.columns.size());
  std::vector<bool> present(table.columns.size(), false);
  for (const auto &[key, value] : object.items()) {
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, static_cast<int>(table.columns.size())).first;
      table.columns.push_back(key);
      for (auto &r : table.rows)
        r.emplace_back();
      for (auto &p : table.present)
        p.push_back(false);
      row.emplace_back();
      present.push_back(false);
    }
    row[static_cast<std::size_t>(it->second)] = cellText(value);
    present[static_cast<std::size_t>(it->second)] = !value.is_null();
  }
  table.rows.push_back(std::move(row));
  table.present.push_back(std::move(present));
  table.lines.push_back(line);
}

class CsvParser
{
public:
  CsvParser(const std::string &data, const std::string &file, char delimiter, DataReport &report)
    : m_data(data), m_file(file), m_delimiter(delimiter), m_report(report)
  {
  }

  bool atEnd() const { return m_pos >= m_data.size(); }
  int line() const { return m_line; }
  // 1-based character column where each field of the last record started.
  const std::vector<int> &fieldColumns() const { return m_columns; }

  // One record; false when it could not be parsed (the problem is reported).
  bool record(std::vector<std::string> &fields)
  {
    fields.clear();
    m_columns.clear();
    bool ok = true;
    while (true) {
      std::string field;
      m_columns.push_back(columnAt(m_pos));
      if (m_pos < m_data.size() && m_data[m_pos] == '"')
        ok = quoted(field) && ok;
      else
        unquoted(field, fields.size());
      fields.push_back(std::move(field));
      if (m_pos >= m_data.size())
        return ok;
      if (m_data[m_pos] == m_delimiter) {
        ++m_pos;
        continue;
      }
      endOfLine();
      return ok;
    }
  }

  bool fatal() const { return m_fatal; }

private:
  void endOfLine()
  {
    if (m_pos < m_data.size() && m_data[m_pos] == '\r')
      ++m_pos;
    if (m_pos < m_data.size() && m_data[m_pos] == '\n') {
      ++m_pos;
      ++m_line;
      m_lineStart = m_pos;
    }
  }

  // Character column of a byte on the current line (counted from the line's start, not the file's:
  // fields are located once each, so this must not rescan the file).
  int columnAt(std::size_t pos) const
  {
    int column = 1;
    for (std::size_t i = m_lineStart; i < pos; ++i)
      column += (static_cast<unsigned char>(m_data[i]) & 0xC0) != 0x80 ? 1 : 0;
    return column;
  }

  // Counts the newlines in [from, to) into the line number and line start.
  void passNewlines(std::size_t from, std::size_t to)
  {
    for (std::size_t i = from; i < to; ++i)
      if (m_data[i] == '\n') {
        ++m_line;
        m_lineStart = i + 1;
      }
  }

  bool isEnd(std::size_t p) const
  {
    return p >= m_data.size() || m_data[p] == m_delimiter || m_data[p] == '\n' ||
           (m_data[p] == '\r' && (p + 1 >= m_data.size() || m_data[p + 1] == '\n'));
  }

  void unquoted(std::string &field, std::size_t index)
  {
    const std::size_t start = m_pos;
    while (!isEnd(m_pos))
      ++m_pos;
    field.assign(m_data, start, m_pos - start);
    if (const auto q = field.find('"'); q != std::string::npos) {
      const auto [l, c] = locate(m_data, start + q);
      m_report.warning(m_file, l, c, "", "a quote inside an unquoted field " + std::to_string(index + 1) +
                                             " is kept as text (quote the whole field and double the quote)");
    }
  }

  bool quoted(std::string &field)
  {
    const std::size_t open = m_pos++;
    while (true) {
      const std::size_t q = m_data.find('"', m_pos);
      if (q == std::string::npos) {
        const auto [l, c] = locate(m_data, open);
        m_report.error(m_file, l, c, "", "quoted field never closed: the quote opened here has no closing quote");
        passNewlines(m_pos, m_data.size());
        m_pos = m_data.size();
        m_fatal = true;
        return false;
      }
      field.append(m_data, m_pos, q - m_pos);
      passNewlines(m_pos, q);
      m_pos = q + 1;
      if (m_pos < m_data.size() && m_data[m_pos] == '"') {
        field.push_back('"');
        ++m_pos;
        continue;
      }
      if (isEnd(m_pos))
        return true;
      const auto [l, c] = locate(m_data, m_pos);
      m_report.error(m_file, l, c, "", "unexpected text after a closing quote (a quote inside a quoted field must "
                                       "be doubled); the row is skipped");
      while (!isEnd(m_pos))
        field.push_back(m_data[m_pos++]);
      return false;
    }
  }

  const std::string &m_data;
  const std::string &m_file;
  char m_delimiter;
  DataReport &m_report;
  std::size_t m_pos = 0;
  std::size_t m_lineStart = 0;
  int m_line = 1;
  bool m_fatal = false;
  std::vector<int> m_columns;
};

// Where a JSON parse error starts: nlohmann reports the last byte it read, at the end of the token
// it choked on; step back to that token's start (a string's opening quote, a literal's first char).
std::size_t jsonErrorOffset(std::string_view text, const nlohmann::json::parse_error &e)
{
  std::size_t offset = e.byte > 0 ? std::min<std::size_t>(e.byte - 1, text.empty() ? 0 : text.size() - 1) : 0;
  if (offset >= text.size())
    return offset;
  if (text[offset] == '"' && offset > 0) {
    std::size_t open = offset;
    while (open > 0) {
      --open;
      if (text[open] == '"' && (open == 0 || text[open - 1] != '\\'))
        return open;
    }
    return offset;
  }
  const auto literal = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.'; };
  if (literal(text[offset]))
    while (offset > 0 && literal(text[offset - 1]))
      --offset;
  return offset;
}

bool blankRecord(const std::vector<std::string> &fields) { return fields.size() == 1 && fields[0].empty(); }

} // namespace

int Table::columnIndex(const std::string &name) const
{
  const auto it = std::find(columns.begin(), columns.end(), name);
  return it == columns.end() ? -1 : static_cast<int>(it - columns.begin());
}

Table readCsv(const fs::path &path, const CsvOptions &options, DataReport &report)
{
  std::set<int> badLines;
  const std::string data = readDataText(path, report, badLines);
  const std::string file = path.string();
  Table table;
  table.source = file;
  CsvParser parser(data, file, options.delimiter, report);
  std::vector<std::string> fields;
  int headerLine = 0;
  while (!parser.atEnd() && table.columns.empty()) {
    const int line = parser.line();
    const bool ok = parser.record(fields);
    if (blankRecord(fields))
      continue;
    if (!options.header) {
      for (std::size_t i = 0; i < fields.size(); ++i)
        table.columns.push_back("column" + std::to_string(i + 1));
      if (ok && !badLines.count(line)) {
        table.rows.push_back(fields);
        table.lines.push_back(line);
        table.fieldColumns.push_back(parser.fieldColumns());
      }
      break;
    }
    headerLine = line;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].empty())
        report.error(file, line, parser.fieldColumns()[i], "", "header column " + std::to_string(i + 1) + " has no name");
      else if (!seen.insert(fields[i]).second)
        report.error(file, line, parser.fieldColumns()[i], fields[i], "the header names this column twice");
    }
    table.columns = fields;
  }
  if (table.columns.empty()) {
    report.error(file, 0, 0, "", "the file is empty");
    return table;
  }
  while (!parser.atEnd() && !parser.fatal()) {
    const int line = parser.line();
    const bool ok = parser.record(fields);
    if (blankRecord(fields))
      continue;
    if (fields.size() != table.columns.size()) {
      report.error(file, line, 1, "",
                   "expected " + std::to_string(table.columns.size()) + " fields" +
                       (headerLine ? " (as the header on line " + std::to_string(headerLine) + ")" : std::string()) +
                       ", found " + std::to_string(fields.size()) + "; the row is skipped");
      continue;
    }
    const int lastLine = parser.line();
    const bool bad = std::any_of(badLines.begin(), badLines.end(), [&](int l) { return l >= line && l <= lastLine; });
    if (ok && !bad) {
      table.rows.push_back(fields);
      table.lines.push_back(line);
      table.fieldColumns.push_back(parser.fieldColumns());
    } else if (ok) {
      report.error(file, line, 0, "", "the row is skipped: it holds invalid UTF-8");
    }
  }
  if (table.rows.empty() && !report.hasErrors())
    report.error(file, headerLine, 0, "", "the file has a header but no data rows");
  return table;
}

Table readJsonLines(const fs::path &path, DataReport &report)
{
  std::set<int> badLines;
  const std::string data = readDataText(path, report, badLines);
  const std::string file = path.string();
  Table table;
  table.source = file;
  std::map<std::string, int> index;
  text::forEachLine(data, [&](int line, std::string_view text, std::size_t lineStart) {
    if (text.find_first_not_of(" \t") == std::string_view::npos || badLines.count(line))
      return;
    if (const std::size_t deep = jsonTooDeepAt(text); deep != std::string_view::npos) {
      const auto [l, c] = locate(data, lineStart + deep);
      report.error(file, l, c, "", "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      return;
    }
    try {
      const json object = json::parse(text);
      if (!object.is_object()) {
        report.error(file, line, 1, "", "expected a JSON object, found " + std::string(object.type_name()));
        return;
      }
      addObject(table, index, object, line);
    } catch (const json::parse_error &e) {
      const auto [l, c] = locate(data, lineStart + jsonErrorOffset(text, e));
      report.error(file, l, c, "", "invalid JSON: " + jsonErrorReason(e));
    } catch (const json::out_of_range &) {
      report.error(file, line, 1, "", "invalid JSON: a number is too large to be represented");
    }
  });
  if (table.rows.empty() && !report.hasErrors())
    report.error(file, 0, 0, "", "the file holds no JSON objects");
  return table;
}

Table readJson(const fs::path &path, DataReport &report)
{
  std::set<int> badLines;
  const std::string data = readDataText(path, report, badLines);
  const std::string file = path.string();
  Table table;
  table.source = file;
  if (!badLines.empty())
    return table;
  if (data.find_first_not_of(" \t\r\n") == std::string::npos) {
    report.error(file, 0, 0, "", "the file is empty");
    return table;
  }
  if (const std::size_t deep = jsonTooDeepAt(data); deep != std::string_view::npos) {
    const auto [l, c] = locate(data, deep);
    report.error(file, l, c, "", "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return table;
  }
  json root;
  try {
    root = json::parse(data);
  } catch (const json::parse_error &e) {
    const auto [l, c] = locate(data, jsonErrorOffset(data, e));
    report.error(file, l, c, "", "invalid JSON: " + jsonErrorReason(e));
    return table;
  } catch (const json::out_of_range &) {
    report.error(file, 1, 1, "", "invalid JSON: a number is too large to be represented");
    return table;
  }
  if (root.is_object() && root.contains("data") && root["data"].is_array())
    root = root["data"];
  if (!root.is_array()) {
    report.error(file, 1, 1, "", "expected an array of objects (or {\"data\": [...]})");
    return table;
  }
  // Line numbers of array elements are not kept by the parser; rows count from 1 instead.
  std::map<std::string, int> index;
  for (std::size_t i = 0; i < root.size(); ++i) {
    if (!root[i].is_object()) {
      report.error(file, 0, 0, "", "element " + std::to_string(i) + " of the array is not an object");
      continue;
    }
    addObject(table, index, root[i], static_cast<int>(i) + 1);
  }
  return table;
}

Table readTable(const fs::path &path, DataReport &report)
{
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".csv")
    return readCsv(path, {}, report);
  if (ext == ".tsv" || ext == ".tab")
    return readCsv(path, {'\t', true}, report);
  if (ext == ".jsonl" || ext == ".ndjson")
    return readJsonLines(path, report);
  if (ext == ".json")
    return readJson(path, report);
  if (ext == ".conll" || ext == ".conllu" || ext == ".iob" || ext == ".bio")
    return readConll(path, {}, report);
  if (ext == ".txt" || ext == ".text")
    return readPlainText(path, report);
  throw Error(path.string() + ": unknown data format \"" + ext +
              "\" (expected .csv, .tsv, .jsonl, .json, .conll or .txt)");
}

} // namespace tunebench
