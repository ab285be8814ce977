#pragma once

// The run store's SQLite layer: prepared statements and a transaction that rolls back unless
// committed. Internal to core/runs.

#include "core/util/error.h"

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace tunebench::sqlite {
namespace fs = std::filesystem;

// Runs SQL without results; Error naming the file on failure.
void exec(sqlite3 *db, const std::string &sql, const std::filesystem::path &path);

// A prepared statement; bind with 1-based indices. Errors throw tunebench::Error naming the
// database file.
class Statement
{
public:
  Statement(sqlite3 *db, const std::string &sql, const fs::path &path)
    : m_db(db)
    , m_path(path)
  {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &m_stmt, nullptr) != SQLITE_OK)
      throw Error(path.string() + ": " + sqlite3_errmsg(db) + " (in: " + sql.substr(0, 80) + ")");
  }
  ~Statement() { sqlite3_finalize(m_stmt); }
  Statement(const Statement &) = delete;
  Statement &operator=(const Statement &) = delete;
  Statement &bind(int i, std::int64_t v)
  {
    sqlite3_bind_int64(m_stmt, i, v);
    return *this;
  }
  Statement &bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement &bind(int i, unsigned long v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement &bind(int i, double v)
  {
    sqlite3_bind_double(m_stmt, i, v);
    return *this;
  }
  Statement &bind(int i, const std::string &v)
  {
    sqlite3_bind_text(m_stmt, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement &bindNull(int i)
  {
    sqlite3_bind_null(m_stmt, i);
    return *this;
  }
  // true while there is a row
  bool step()
  {
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW)
      return true;
    if (rc != SQLITE_DONE)
      throw Error(m_path.string() + ": " + sqlite3_errmsg(m_db));
    return false;
  }
  void run()
  {
    step();
    reset();
  }
  void reset()
  {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(m_stmt, col); }
  double real(int col) const { return sqlite3_column_double(m_stmt, col); }
  bool null(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }
  std::string text(int col) const
  {
    const auto *p = sqlite3_column_text(m_stmt, col);
    return p ? std::string(reinterpret_cast<const char *>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)))
             : std::string();
  }

private:
  sqlite3 *m_db;
  fs::path m_path;
  sqlite3_stmt *m_stmt = nullptr;
};

// BEGIN IMMEDIATE now; ROLLBACK when it goes out of scope without commit().
class Transaction
{
public:
  Transaction(sqlite3 *db, const std::filesystem::path &path);
  ~Transaction();
  Transaction(const Transaction &) = delete;
  Transaction &operator=(const Transaction &) = delete;
  void commit();

private:
  sqlite3 *m_db;
  std::filesystem::path m_path;
  bool m_open = true;
};

} // namespace tunebench::sqlite
