#include "core/runs/sqlite.h"

namespace tunebench::sqlite {

void exec(sqlite3 *db, const std::string &sql, const std::filesystem::path &path)
{
  char *message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : "error";
    sqlite3_free(message);
    throw Error(path.string() + ": " + text);
  }
}

Transaction::Transaction(sqlite3 *db, const std::filesystem::path &path)
  : m_db(db)
  , m_path(path)
{
  exec(m_db, "BEGIN IMMEDIATE", m_path);
}

Transaction::~Transaction()
{
  if (m_open)
    sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit()
{
  exec(m_db, "COMMIT", m_path);
  m_open = false;
}

} // namespace tunebench::sqlite
