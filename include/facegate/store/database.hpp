#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "facegate/core/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace facegate::store {

// How long a connection waits for another connection's lock before an operation fails with
// SQLITE_BUSY ("database is locked"), unless set otherwise with Database::setBusyTimeout.
inline constexpr std::chrono::milliseconds kDefaultBusyTimeout{5000};

// One forward-only schema step: `sql` takes the database from version `version - 1` to
// `version`. Steps are applied in order, each in its own transaction together with the
// PRAGMA user_version update, so a crash leaves the database at a whole version.
struct Migration {
  int version;
  std::string_view sql;
};

// facegate's schema history (store/schema.cpp).
std::span<const Migration> schemaMigrations();

class Database;

// A prepared statement (RAII over sqlite3_stmt). Bind indices are 1-based, column indices
// 0-based, as in SQLite. Borrowed from its Database: must not outlive it.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::span<const std::uint8_t> blob);
  Statement& bind(int index, std::nullopt_t);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, std::nullopt);
  }

  // true: a row is available; false: done. Errors carry SQLite's message.
  Result<bool> step();
  // step() until done, for statements that return no rows.
  Result<void> run();
  void reset();

  bool isNull(int column) const;
  std::int64_t integer(int column) const;
  double real(int column) const;
  std::string text(int column) const;
  std::vector<std::uint8_t> blob(int column) const;

 private:
  friend class Database;
  Statement(sqlite3_stmt* stmt, Database* db) : stmt_(stmt), db_(db) {}
  sqlite3_stmt* stmt_ = nullptr;
  Database* db_ = nullptr;
  Error bindError_{ErrorCode::Internal, ""};
};

// An open facegate database (RAII over sqlite3*). Opening applies the durability and
// privacy settings every connection needs — WAL journal, synchronous=FULL, secure_delete=ON
// (deleted rows are overwritten, not left in free pages), foreign keys on, a busy timeout
// (kDefaultBusyTimeout) —
// runs a quick integrity check and brings the schema up to date. A new file is created by
// open() itself, exclusively, never through a link, with mode 0600 (SQLite gives its -wal and
// -shm files the same mode and owner).
//
// Whose file it is: the database and its -wal, -shm and -journal must be regular files, not
// symbolic links, owned by the process's effective user (root included: a database is used
// as the account that owns it) and closed to group and others. Anything else is refused with
// ErrorCode::Refused (StorageFailure for a directory, FIFO or device) and a message saying
// how to put it right, before SQLite reads the files, and checked again once SQLite has
// them open and before anything is written. ":memory:" and "" (SQLite's temporary
// database) have no file and are not checked.
// One connection per thread; move-only.
class Database {
 public:
  struct Options {
    bool create = true;      // create the file if it does not exist
    bool readOnly = false;   // open read-only (no migration; an old schema is an error)
    bool migrate = true;     // apply pending migrations (tests open old versions with false)
    int targetVersion = -1;  // migrate only up to this version (-1 = latest); for tests
  };

  static Result<Database> open(const std::filesystem::path& path, const Options& options);
  static Result<Database> open(const std::filesystem::path& path) { return open(path, Options{}); }

  // The checks open() makes of the database and its companions (whose they are, their mode
  // and type), without opening or creating anything: for --check-config. A database that
  // does not exist yet passes.
  static Result<void> checkFiles(const std::filesystem::path& path);

  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  Result<Statement> prepare(std::string_view sql);
  Result<void> exec(std::string_view sql);

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back if it returns an error (or
  // throws, after which the exception propagates). Every write goes through here.
  Result<void> transaction(const std::function<Result<void>()>& body);

  // Runs `done` once the outermost transaction under way commits (dropped if it rolls
  // back); outside a transaction, at once. For what must only ever see committed state,
  // e.g. the audit log's witness (audit/witness.hpp). `done` must not throw nor write to
  // this database.
  void afterCommit(std::function<void()> done);
  // How long an operation of this connection waits for another connection's lock (BEGIN
  // IMMEDIATE waiting for a writer, a reader for an exclusive lock) before it fails with
  // SQLITE_BUSY; 0 fails at once. For the connection's whole life, until set again.
  void setBusyTimeout(std::chrono::milliseconds timeout);
  std::chrono::milliseconds busyTimeout() const { return busyTimeout_; }

  bool inTransaction() const;
  int schemaVersion() const;
  std::int64_t lastInsertRowId() const;
  const std::filesystem::path& path() const { return path_; }

  // An Error for the connection's last failure, with `what` saying what was attempted.
  Error lastError(std::string_view what) const;

 private:
  Database(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  Result<void> configure(const Options& options);
  Result<void> checkCompanionsInUse();
  void keepFilesOnClose() noexcept;
  Result<void> migrate(int target);
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
  std::vector<std::function<void()>> afterCommit_;
  std::chrono::milliseconds busyTimeout_{kDefaultBusyTimeout};
};

}  // namespace facegate::store
