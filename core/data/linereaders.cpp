// The line-based formats: CoNLL (a token and its tag per line, sentences between blank lines)
// and plain text (a row per line).
#include "core/data/datareport.h"
#include "core/data/readers.h"
#include "core/data/readersdetail.h"
#include "core/util/text.h"

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

Table readConll(const fs::path &path, const ConllOptions &options, DataReport &report)
{
  std::set<int> badLines;
  const std::string data = detail::readDataText(path, report, badLines);
  const std::string file = path.string();
  Table table;
  table.source = file;
  table.columns = {"tokens", "tags"};
  json tokens = json::array(), tags = json::array();
  int sentenceLine = 0;
  bool sentenceBad = false;
  auto flush = [&] {
    if (!tokens.empty() && !sentenceBad) {
      table.rows.push_back({tokens.dump(), tags.dump()});
      table.lines.push_back(sentenceLine);
    }
    tokens = json::array();
    tags = json::array();
    sentenceBad = false;
  };
  text::forEachLine(data, [&](int line, std::string_view view, std::size_t) {
    const std::string text(view);
    if (text.find_first_not_of(" \t") == std::string::npos) {
      flush();
      return;
    }
    // CoNLL-U metadata ("# sent_id = 3") is a comment; a token "#" ("#\t#", "# #") is not.
    const bool comment =
        text[0] == '#' && text.find('\t') == std::string::npos && text.find('=') != std::string::npos;
    if (text.rfind("-DOCSTART-", 0) == 0 || comment) {
      flush();
      return;
    }
    if (badLines.count(line)) {
      sentenceBad = true;
      return;
    }
    std::vector<std::string> cols;
    const char *sep = text.find('\t') != std::string::npos ? "\t" : " ";
    for (std::size_t p = 0; p <= text.size();) {
      const std::size_t q = std::min(text.find(sep, p), text.size());
      if (q > p)
        cols.push_back(text.substr(p, q - p));
      p = q + 1;
    }
    const int tagColumn = options.tagColumn < 0 ? static_cast<int>(cols.size()) - 1 : options.tagColumn;
    if (cols.size() < 2 || tagColumn <= options.tokenColumn || tagColumn >= static_cast<int>(cols.size())) {
      report.error(file, line, 1, "tags",
                   "expected a token and a tag column, found " + std::to_string(cols.size()) +
                       " column(s): \"" + text + "\"");
      sentenceBad = true;
      return;
    }
    if (tokens.empty())
      sentenceLine = line;
    tokens.push_back(cols[static_cast<std::size_t>(options.tokenColumn)]);
    tags.push_back(cols[static_cast<std::size_t>(tagColumn)]);
  });
  flush();
  if (table.rows.empty() && !report.hasErrors())
    report.error(file, 0, 0, "", "the file holds no sentences");
  return table;
}

Table readPlainText(const fs::path &path, DataReport &report)
{
  std::set<int> badLines;
  const std::string data = detail::readDataText(path, report, badLines);
  Table table;
  table.source = path.string();
  table.columns = {"text"};
  text::forEachLine(data, [&](int line, std::string_view text, std::size_t) {
    if (text.find_first_not_of(" \t") == std::string_view::npos || badLines.count(line))
      return;
    table.rows.push_back({std::string(text)});
    table.lines.push_back(line);
  });
  if (table.rows.empty() && badLines.empty())
    report.error(path.string(), 0, 0, "", "the file holds no lines of text");
  return table;
}

} // namespace tunebench
