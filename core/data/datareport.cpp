#include "core/data/datareport.h"

#include <algorithm>

namespace tunebench {

std::string DataIssue::toString() const
{
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0)
      out += ":" + std::to_string(column);
  }
  out += severity == Severity::Error ? ": error: " : ": warning: ";
  if (!field.empty())
    out += "field \"" + field + "\": ";
  return out + message;
}

void DataReport::error(const std::string &file, int line, int column, const std::string &field,
                       const std::string &message, int row)
{
  m_issues.push_back({DataIssue::Severity::Error, file, line, column, field, message, row});
}

void DataReport::warning(const std::string &file, int line, int column, const std::string &field,
                         const std::string &message, int row)
{
  m_issues.push_back({DataIssue::Severity::Warning, file, line, column, field, message, row});
}

int DataReport::errorCount() const
{
  return static_cast<int>(std::count_if(m_issues.begin(), m_issues.end(), [](const DataIssue &i) {
    return i.severity == DataIssue::Severity::Error;
  }));
}

int DataReport::warningCount() const { return static_cast<int>(m_issues.size()) - errorCount(); }

std::string DataReport::toString() const
{
  std::string out;
  for (const DataIssue &i : m_issues)
    out += i.toString() + '\n';
  return out;
}

} // namespace tunebench
