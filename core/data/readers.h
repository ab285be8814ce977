#pragma once

#include "core/data/datareport.h"
#include "core/data/table.h"

#include <filesystem>

namespace tunebench {

struct CsvOptions
{
  char delimiter = ',';  // '\t' for TSV
  bool header = true;    // false: columns are named column1, column2, ...
};

struct ConllOptions
{
  int tokenColumn = 0;   // 0-based
  int tagColumn = -1;    // -1: the last column
};

// Readers turn a file into a Table and record every problem in the report with its line and
// column; they throw tunebench::Error only when the file cannot be read at all. Rows with errors
// are left out of the table (the report says which and why). Invalid UTF-8 is an error at the
// exact line:column of the bad byte.
//
// CSV/TSV: RFC 4180 (quoted fields, doubled quotes, embedded newlines, CRLF), a UTF-8 BOM, blank
// lines skipped.
Table readCsv(const std::filesystem::path &path, const CsvOptions &options, DataReport &report);
// JSON Lines: one object per line; blank lines skipped.
Table readJsonLines(const std::filesystem::path &path, DataReport &report);
// JSON: an array of objects (or {"data": [...]}).
Table readJson(const std::filesystem::path &path, DataReport &report);
// CoNLL: token and tag columns separated by tabs or spaces, a blank line between sentences,
// -DOCSTART- and CoNLL-U comment lines ("# key = value") ignored. Columns "tokens" and "tags" hold JSON arrays.
Table readConll(const std::filesystem::path &path, const ConllOptions &options, DataReport &report);
// Plain text: one example per non-blank line, in the column "text".
Table readPlainText(const std::filesystem::path &path, DataReport &report);

// By extension: .csv, .tsv/.tab, .jsonl/.ndjson, .json, .conll/.conllu/.iob/.bio, .txt.
Table readTable(const std::filesystem::path &path, DataReport &report);

} // namespace tunebench
