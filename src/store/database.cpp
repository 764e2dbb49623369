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

namespace facegate::store {
namespace fs = std::filesystem;

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

// The files SQLite keeps beside a database, and what to call them in a message.
struct Companion {
  std::string_view suffix;
  std::string_view role;
};
constexpr std::array<Companion, 3> kCompanions{{
    {"-wal", "write-ahead log"},
    {"-shm", "shared-memory index"},
    {"-journal", "rollback journal"},
}};

std::string userName(uid_t uid) {
  const long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<std::size_t>(size) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return fmt::format("uid {}", uid);
}

std::string_view kindOf(mode_t mode) {
  if (S_ISFIFO(mode)) {
    return "a FIFO";
  }
  if (S_ISSOCK(mode)) {
    return "a socket";
  }
  if (S_ISCHR(mode)) {
    return "a character device";
  }
  if (S_ISBLK(mode)) {
    return "a block device";
  }
  return "a special file";
}

// Which file a path named when it was checked: compared after SQLite has opened it.
struct FileIdentity {
  dev_t device;
  ino_t inode;
  bool operator==(const FileIdentity&) const = default;
};

// lstat()s `file` — the database `database` itself when `role` is empty, else its companion
// of that role — and says why it may not be used: not a regular file, a symbolic link,
// another user's, or open to group or others (it holds names, consent records and sealed
// templates). Returns its identity, or nothing when it does not exist.
Result<std::optional<FileIdentity>> statDatabaseFile(const fs::path& file, const fs::path& database,
                                                     std::string_view role) {
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return std::optional<FileIdentity>{};
    }
    return fail(ErrorCode::StorageFailure,
                fmt::format("cannot look at {}: {}", file.string(), std::strerror(errno)));
  }
  // "database X" or "X (the write-ahead log of database Y)".
  const std::string what = role.empty() ? fmt::format("database {}", file.string())
                                        : fmt::format("{} (the {} of database {})", file.string(),
                                                      role, database.string());
  if (S_ISLNK(st.st_mode)) {
    return fail(ErrorCode::Refused,
                role.empty()
                    ? fmt::format("{} is a symbolic link, which facegate does not follow to a "
                                  "database: give the path of the database file itself, after "
                                  "checking who owns it",
                                  what)
                    : fmt::format("{} is a symbolic link, which facegate does not follow: remove "
                                  "the link (SQLite makes the file itself when it needs one)",
                                  what));
  }
  if (S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::StorageFailure, fmt::format("{} is a directory, not a file", what));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::StorageFailure,
                fmt::format("{} is {}, not a regular file: give the path of a database file", what,
                            kindOf(st.st_mode)));
  }
  const uid_t me = ::geteuid();
  if (st.st_uid != me) {
    const std::string owner = userName(st.st_uid);
    const std::string example = st.st_uid == 0 ? std::string("`sudo facegate ...`")
                                               : fmt::format("`sudo -u {} facegate ...`", owner);
    if (me == 0) {
      // Root too: a database is used only as its owner, the account the gate runs as.
      return fail(ErrorCode::Refused,
                  fmt::format("{} belongs to {}, and facegate uses a database only as the user "
                              "who owns it, root included: run the command as that user, e.g. {}",
                              what, owner, example));
    }
    return fail(ErrorCode::Refused,
                fmt::format("{} belongs to {}, not to {} who runs this command: if {} is the "
                            "account facegate runs as, run the command as that user ({}); "
                            "otherwise the file is not facegate's: move it away or use another "
                            "path",
                            what, owner, userName(me), owner, example));
  }
  if ((st.st_mode & 077) != 0) {
    return fail(ErrorCode::Refused,
                fmt::format("{} can be read or written by group or others (mode {:04o}), and {}: "
                            "run `chmod 600 {}` so that only its owner can use it",
                            what, st.st_mode & 07777,
                            role.empty() ? "it holds pupils' names and sealed templates"
                                         : "the database's pages and locks go through it",
                            file.string()));
  }
  return std::optional<FileIdentity>{FileIdentity{st.st_dev, st.st_ino}};
}

// The database and each companion that exists; the database's identity if it exists.
Result<std::optional<FileIdentity>> checkFilesBeforeOpen(const fs::path& path) {
  auto found = statDatabaseFile(path, path, "");
  if (!found) {
    return tl::unexpected(found.error());
  }
  for (const Companion& companion : kCompanions) {
    const fs::path file = path.string() + std::string(companion.suffix);
    if (auto checked = statDatabaseFile(file, path, companion.role); !checked) {
      return tl::unexpected(checked.error());
    }
  }
  return found;
}

// Checks the database file and its companions before SQLite opens them, and creates a new
// database file; the identity of the file to open.
Result<std::optional<FileIdentity>> prepareFile(const fs::path& path,
                                                const Database::Options& options) {
  // Whose files these are is settled before SQLite reads a byte of them: it would replay a
  // -wal or roll back a -journal it finds, into the database.
  auto found = checkFilesBeforeOpen(path);
  if (!found) {
    return tl::unexpected(found.error());
  }
  if (*found) {
    return found;
  }
  // SQLite would delete a -wal found beside an empty database: the pages of the last
  // transactions (audit records among them) would be lost without a word.
  const fs::path wal = path.string() + "-wal";
  if (struct stat st{}; ::lstat(wal.c_str(), &st) == 0) {
    return fail(ErrorCode::StorageCorrupt,
                fmt::format("database {} does not exist but its write-ahead log {} does: the "
                            "database was moved or deleted without it; put the database back "
                            "beside it, or remove the -wal file to start afresh",
                            path.string(), wal.string()));
  }
  if (!options.create || options.readOnly) {
    return fail(ErrorCode::NotFound, fmt::format("database {} does not exist", path.string()));
  }
  // Created here, exclusively and never through a link, so that it is this user's and 0600
  // from the first byte whatever the umask: SQLite never creates it.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST) {
    return fail(ErrorCode::StorageFailure,
                fmt::format("cannot create database {}: {}", path.string(), std::strerror(errno)));
  }
  if (fd < 0) {
    // Someone created it since the check above: judged like any existing file.
    auto raced = statDatabaseFile(path, path, "");
    if (raced && !*raced) {
      return fail(ErrorCode::StorageFailure,
                  fmt::format("database {} appeared and vanished while it was being created: "
                              "check what else uses this path, and try again",
                              path.string()));
    }
    return raced;
  }
  struct stat st {};
  const bool stated = ::fstat(fd, &st) == 0;
  const int error = errno;
  ::close(fd);
  if (!stated) {
    return fail(ErrorCode::StorageFailure,
                fmt::format("cannot stat database {}: {}", path.string(), std::strerror(error)));
  }
  return std::optional<FileIdentity>{FileIdentity{st.st_dev, st.st_ino}};
}

}  // namespace

Result<void> Database::checkFiles(const fs::path& path) {
  if (path.empty() || path == ":memory:") {
    return {};
  }
  if (auto checked = checkFilesBeforeOpen(path); !checked) {
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
    auto checked = prepareFile(path, options);
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
    auto now = statDatabaseFile(path, path, "");
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
    if (auto checked = statDatabaseFile(file, path_, companion.role); !checked) {
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
