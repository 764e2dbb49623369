#include "facegate/store/database.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <sqlite3.h>

#include "file_checks.hpp"

namespace facegate::store {
namespace fs = std::filesystem;
using detail::Companion;
using detail::FileIdentity;
using detail::kCompanions;

namespace {

ErrorCode codeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return ErrorCode::StorageCorrupt;
    default: return ErrorCode::StorageFailure;
  }
}

// What an I/O failure means for the technician, beyond SQLite's generic "disk I/O error".
std::string_view ioMeaning(int rc) {
  switch (rc) {
    case SQLITE_FULL: return " (the disk is full)";
    case SQLITE_IOERR_FSYNC:
    case SQLITE_IOERR_DIR_FSYNC: return " (fsync failed: the data may not have reached the disk)";
    case SQLITE_IOERR_WRITE: return " (a write to the file failed)";
    case SQLITE_IOERR_SHORT_READ:
    case SQLITE_IOERR_READ: return " (a read from the file failed)";
    case SQLITE_IOERR_TRUNCATE: return " (the file could not be truncated)";
    case SQLITE_READONLY: return " (the file or its directory is read-only)";
    case SQLITE_BUSY:
      return " (another connection holds its write lock: a desk command under way, or an "
             "sqlite3 shell left in a transaction)";
    default: return "";
  }
}

}  // namespace

Result<void> Database::checkFiles(const fs::path& path) {
  if (path.empty() || path == ":memory:") {
    return {};
  }
  if (auto checked = detail::checkFilesBeforeOpen(path); !checked) {
    return tl::unexpected(checked.error());
  }
  return {};
}

// --- Statement ---------------------------------------------------------------

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)),
      db_(other.db_),
      bindError_(std::move(other.bindError_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = other.db_;
    bindError_ = std::move(other.bindError_);
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

// A failed bind is remembered and reported by the next step(): binding never fails for a
// valid index and type, so this keeps call sites readable without losing the error.
#define FACEGATE_BIND(call)                                       \
  do {                                                            \
    if (const int rc = (call); rc != SQLITE_OK) {                 \
      bindError_ = db_->lastError(fmt::format("bind {}", index)); \
    }                                                             \
  } while (false)

Statement& Statement::bind(int index, std::int64_t value) {
  FACEGATE_BIND(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}
Statement& Statement::bind(int index, double value) {
  FACEGATE_BIND(sqlite3_bind_double(stmt_, index, value));
  return *this;
}
Statement& Statement::bind(int index, std::string_view text) {
  FACEGATE_BIND(
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}
Statement& Statement::bind(int index, std::span<const std::uint8_t> blob) {
  FACEGATE_BIND(sqlite3_bind_blob64(stmt_, index, blob.data(), blob.size(), SQLITE_TRANSIENT));
  return *this;
}
Statement& Statement::bind(int index, std::nullopt_t) {
  FACEGATE_BIND(sqlite3_bind_null(stmt_, index));
  return *this;
}
#undef FACEGATE_BIND

Result<bool> Statement::step() {
  if (!bindError_.message.empty()) {
    return tl::unexpected(bindError_);
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return tl::unexpected(db_->lastError("step"));
}

Result<void> Statement::run() {
  for (;;) {
    auto more = step();
    if (!more) {
      return tl::unexpected(more.error());
    }
    if (!*more) {
      return {};
    }
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bindError_.message.clear();
}

bool Statement::isNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}
std::int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(stmt_, column);
}
double Statement::real(int column) const {
  return sqlite3_column_double(stmt_, column);
}
std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}
std::vector<std::uint8_t> Statement::blob(int column) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::vector<std::uint8_t>() : std::vector<std::uint8_t>(p, p + n);
}

// --- Database ----------------------------------------------------------------

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      path_(std::move(other.path_)),
      afterCommit_(std::move(other.afterCommit_)),
      busyTimeout_(other.busyTimeout_) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
    afterCommit_ = std::move(other.afterCommit_);
    busyTimeout_ = other.busyTimeout_;
  }
  return *this;
}

Database::~Database() {
  sqlite3_close_v2(db_);
}

Error Database::lastError(std::string_view what) const {
  const int rc = db_ == nullptr ? SQLITE_MISUSE : sqlite3_extended_errcode(db_);
  const char* msg = db_ == nullptr ? "no connection" : sqlite3_errmsg(db_);
  return Error{codeFor(rc), fmt::format("database {}: {} failed: {}{}", path_.string(), what, msg,
                                        ioMeaning(rc))};
}

Result<Database> Database::open(const fs::path& path, const Options& options) {
  // ":memory:" and "" (a temporary database) have no file anyone else could read. (An open
  // that must not create still finds that they "do not exist", as it always did.)
  const bool inMemory = path.empty() || path == ":memory:";
  std::optional<FileIdentity> identity;
  if (inMemory) {
    if (!options.create || options.readOnly) {
      return fail(ErrorCode::NotFound, fmt::format("database {} does not exist", path.string()));
    }
  } else {
    auto checked = detail::prepareFile(path, options);
    if (!checked) {
      return tl::unexpected(checked.error());
    }
    identity = *checked;
  }

  sqlite3* raw = nullptr;
  const int flags = (options.readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Database db(raw, path);
  if (rc != SQLITE_OK) {
    return tl::unexpected(db.lastError("open"));
  }
  sqlite3_extended_result_codes(raw, 1);
  if (identity) {
    // The file SQLite holds must be the one checked: not moved away since, and the path
    // still naming the same file (nothing swapped in between the check and SQLite's open).
    int moved = 0;
    if (sqlite3_file_control(raw, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK) {
      moved = 0;  // a VFS that cannot tell: the path is compared below in any case
    }
    auto now = detail::statDatabaseFile(path, path, "");
    if (!now) {
      db.keepFilesOnClose();
      return tl::unexpected(now.error());
    }
    if (moved != 0 || !*now || **now != *identity) {
      db.keepFilesOnClose();
      return fail(ErrorCode::Refused,
                  fmt::format("database {} was replaced while it was being opened: another "
                              "program is changing the files in its directory; stop it, check "
                              "who can write to the directory, and try again",
                              path.string()));
    }
  }
  if (auto ok = db.configure(options); !ok) {
    return tl::unexpected(ok.error());
  }
  return db;
}

void Database::keepFilesOnClose() noexcept {
  // A connection refused for a file that is not ours must not checkpoint a -wal someone
  // else wrote into the database, nor delete files that are not ours.
  (void)sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
}

Result<void> Database::checkCompanionsInUse() {
  for (const Companion& companion : kCompanions) {
    const fs::path file = path_.string() + std::string(companion.suffix);
    if (auto checked = detail::statDatabaseFile(file, path_, companion.role); !checked) {
      keepFilesOnClose();
      return tl::unexpected(checked.error());
    }
  }
  return {};
}

Result<void> Database::configure(const Options& options) {
  {
    // quick_check first: it is also what tells a corrupted or non-database file apart.
    // (Scoped: a live statement would hold a read transaction open.)
    auto check = prepare("PRAGMA quick_check");
    if (!check) {
      return tl::unexpected(check.error());
    }
    auto row = check->step();
    if (!row) {
      return tl::unexpected(row.error());
    }
    if (*row && check->text(0) != "ok") {
      return fail(ErrorCode::StorageCorrupt,
                  fmt::format("database {} fails its integrity check ({}); restore it from a "
                              "backup",
                              path_.string(), check->text(0)));
    }
  }
  setBusyTimeout(kDefaultBusyTimeout);
  if (auto ok = exec("PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; "
                     "PRAGMA synchronous = FULL;");
      !ok) {
    return ok;
  }
  // Whose file this is is settled before anything is written to it (switching to WAL
  // rewrites the header): a file that is not ours is refused untouched.
  const int latest = schemaMigrations().back().version;
  const int current = schemaVersion();
  if (current > latest) {
    return fail(ErrorCode::SchemaMismatch,
                fmt::format("database {} has schema version {}, newer than this facegate "
                            "understands ({}); use a newer facegate",
                            path_.string(), current, latest));
  }
  if (current < 0) {
    return fail(ErrorCode::SchemaMismatch,
                fmt::format("database {} has schema version {}, which no facegate writes: it is "
                            "not a facegate database",
                            path_.string(), current));
  }
  if (current > 0) {
    // Another application may use user_version too: a facegate database has its tables.
    auto tables =
        prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'pupils'");
    if (!tables) {
      return tl::unexpected(tables.error());
    }
    if (auto r = tables->step(); !r) {
      return tl::unexpected(r.error());
    }
    if (tables->integer(0) != 1) {
      return fail(ErrorCode::SchemaMismatch,
                  fmt::format("{} is an SQLite database with schema version {} but without "
                              "facegate's tables: not a facegate database",
                              path_.string(), current));
    }
  }
  if (current == 0) {
    // A non-empty database without our version is someone else's file: do not touch it.
    bool foreign = false;
    {
      auto tables = prepare("SELECT count(*) FROM sqlite_schema");
      if (!tables) {
        return tl::unexpected(tables.error());
      }
      if (auto r = tables->step(); !r) {
        return tl::unexpected(r.error());
      }
      foreign = tables->integer(0) != 0;
    }
    if (foreign) {
      return fail(
          ErrorCode::SchemaMismatch,
          fmt::format("{} is an SQLite database but not a facegate database", path_.string()));
    }
    // An empty file where a database must already exist (list, revoke, erase...) is a wrong
    // path, not a database to create.
    if (!options.create) {
      return fail(ErrorCode::SchemaMismatch,
                  fmt::format("database {} is empty: not a facegate database (enrol a pupil "
                              "first, or check the path)",
                              path_.string()));
    }
  }
  if (!options.readOnly) {
    if (auto ok = exec("PRAGMA journal_mode = WAL"); !ok) {
      return ok;
    }
  }
  // The -wal and -shm SQLite has now opened (created by it, or by someone else since the
  // checks in open()) are checked again before anything of ours is written through them.
  if (!path_.empty() && path_ != ":memory:") {
    if (auto ok = checkCompanionsInUse(); !ok) {
      return ok;
    }
  }
  const int target = options.targetVersion < 0 ? latest : options.targetVersion;
  if (current < target) {
    if (options.readOnly || !options.migrate) {
      return fail(ErrorCode::SchemaMismatch,
                  fmt::format("database {} has schema version {}, expected {}", path_.string(),
                              current, target));
    }
    return migrate(target);
  }
  return {};
}

Result<void> Database::migrate(int target) {
  for (const Migration& step : schemaMigrations()) {
    if (step.version <= schemaVersion() || step.version > target) {
      continue;
    }
    auto ok = transaction([&]() -> Result<void> {
      if (auto r = exec(step.sql); !r) {
        return r;
      }
      return exec(fmt::format("PRAGMA user_version = {}", step.version));
    });
    if (!ok) {
      return fail(ok.error().code, fmt::format("migrating to schema version {}: {}", step.version,
                                               ok.error().message));
    }
  }
  return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), 0, &stmt, nullptr) !=
      SQLITE_OK) {
    return tl::unexpected(lastError(fmt::format("prepare \"{}\"", sql.substr(0, 60))));
  }
  return Statement(stmt, this);
}

Result<void> Database::exec(std::string_view sql) {
  const std::string copy(sql);
  char* message = nullptr;
  if (sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    Error error = lastError(fmt::format("\"{}\"", sql.substr(0, 60)));
    sqlite3_free(message);
    return tl::unexpected(std::move(error));
  }
  return {};
}

Result<void> Database::transaction(const std::function<Result<void>()>& body) {
  if (inTransaction()) {
    return body();  // nested: the outermost transaction commits or rolls back
  }
  if (auto begin = exec("BEGIN IMMEDIATE"); !begin) {
    return begin;
  }
  Result<void> result;
  try {
    result = body();
  } catch (...) {
    (void)exec("ROLLBACK");
    afterCommit_.clear();
    throw;
  }
  if (!result) {
    (void)exec("ROLLBACK");
    afterCommit_.clear();
    return result;
  }
  if (auto commit = exec("COMMIT"); !commit) {
    (void)exec("ROLLBACK");
    afterCommit_.clear();
    return commit;
  }
  auto done = std::move(afterCommit_);
  afterCommit_.clear();
  for (const auto& f : done) {
    f();
  }
  return {};
}

void Database::afterCommit(std::function<void()> done) {
  if (inTransaction()) {
    afterCommit_.push_back(std::move(done));
  } else {
    done();
  }
}

int Database::schemaVersion() const {
  sqlite3_stmt* stmt = nullptr;
  int version = -1;
  if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    version = sqlite3_column_int(stmt, 0);
  }
  sqlite3_finalize(stmt);
  return version;
}

void Database::setBusyTimeout(std::chrono::milliseconds timeout) {
  busyTimeout_ = std::max(timeout, std::chrono::milliseconds::zero());
  sqlite3_busy_timeout(db_, static_cast<int>(std::min<std::int64_t>(
                                busyTimeout_.count(), std::numeric_limits<int>::max())));
}

bool Database::inTransaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

std::int64_t Database::lastInsertRowId() const {
  return sqlite3_last_insert_rowid(db_);
}

}  // namespace facegate::store
