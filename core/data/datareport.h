#pragma once

#include <string>
#include <vector>

namespace tunebench {

// One problem found in a data file, located as precisely as the format allows.
struct DataIssue
{
  enum class Severity { Error, Warning };
  Severity severity = Severity::Error;
  std::string file;
  int line = 0;   // 1-based; 0 when the problem is about the whole file
  int column = 0; // 1-based character column; 0 when unknown
  std::string field; // column/key name, when the problem is about one field
  std::string message;
  int row = -1;   // index of the affected row in the table/dataset, -1 if none

  // "file:line:column: error: field "label": message" — what the CLI prints and the GUI lists.
  std::string toString() const;
};

// Everything the readers and validation found. Reading never throws for problems in the data (only
// for a file that cannot be opened at all); the GUI shows the report and jumps to the rows.
class DataReport final
{
public:
  void error(const std::string &file, int line, int column, const std::string &field, const std::string &message,
             int row = -1);
  void warning(const std::string &file, int line, int column, const std::string &field,
               const std::string &message, int row = -1);
  void add(DataIssue issue) { m_issues.push_back(std::move(issue)); }

  const std::vector<DataIssue> &issues() const { return m_issues; }
  int errorCount() const;
  int warningCount() const;
  bool hasErrors() const { return errorCount() > 0; }
  // All issues, one per line.
  std::string toString() const;

private:
  std::vector<DataIssue> m_issues;
};

} // namespace tunebench
