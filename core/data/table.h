#pragma once

#include <string>
#include <vector>

namespace tunebench {

// A data file read into named columns of text cells, before any task meaning is given to them.
// JSON values that are not strings (numbers, arrays, objects) are kept as their JSON text.
struct Table
{
  std::string source;               // the file it came from
  std::vector<std::string> columns; // header names (CSV) or keys in first-seen order (JSON)
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;           // 1-based line where each row starts
  std::vector<std::vector<bool>> present; // JSON: whether the key existed in that object
  std::vector<std::vector<int>> fieldColumns; // CSV: 1-based character column of each field

  // Where a cell starts, for messages: its character column, or 0 when the format does not say.
  int columnOf(std::size_t row, std::size_t column) const
  {
    if (row < fieldColumns.size() && column < fieldColumns[row].size())
      return fieldColumns[row][column];
    return 0;
  }

  int columnIndex(const std::string &name) const;
  std::size_t size() const { return rows.size(); }
};

} // namespace tunebench
