#include "facegate/store/database.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <initializer_list>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "faulty_vfs.hpp"
#include "test_support.hpp"

namespace facegate::store {
namespace {

namespace fs = std::filesystem;

std::string pragma(Database& db, const std::string& name) {
  auto q = db.prepare("PRAGMA " + name);
  EXPECT_TRUE(q);
  EXPECT_TRUE(q->step().value_or(false));
  return q->text(0);
}

std::int64_t count(Database& db, const std::string& table) {
  auto q = db.prepare("SELECT count(*) FROM " + table);
  EXPECT_TRUE(q && q->step().value_or(false));
  return q->integer(0);
}

TEST(Database, NewFileIsPrivateDurableAndAtTheLatestSchema) {
  test::TempDir dir;
  auto db = Database::open(dir / "gate.db");
  ASSERT_TRUE(db) << db.error().message;
  struct stat st {};
  ASSERT_EQ(stat((dir / "gate.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  EXPECT_EQ(pragma(*db, "journal_mode"), "wal");
  EXPECT_EQ(pragma(*db, "synchronous"), "2");  // FULL
  EXPECT_EQ(pragma(*db, "secure_delete"), "1");
  EXPECT_EQ(pragma(*db, "foreign_keys"), "1");
  EXPECT_EQ(db->schemaVersion(), schemaMigrations().back().version);
  // The WAL file SQLite creates next to it (the migration wrote through it) has the same mode.
  ASSERT_EQ(stat((dir / "gate.db-wal").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
}

TEST(Database, MigratesADatabaseOfThePreviousVersionKeepingItsData) {
  test::TempDir dir;
  {
    Database::Options v1;
    v1.targetVersion = 1;
    auto db = Database::open(dir / "old.db", v1);
    ASSERT_TRUE(db) << db.error().message;
    ASSERT_EQ(db->schemaVersion(), 1);
    ASSERT_TRUE(
        db->exec("INSERT INTO pupils VALUES ('P1', NULL, 1, 'p-ref', 1700000000);"
                 "INSERT INTO badges VALUES (42, 'P1', 'plain', 1700000000, 1800000000, NULL);"));
    auto audit = db->prepare("SELECT 1 FROM audit_events");
    EXPECT_FALSE(audit) << "version 1 has no audit table";
  }
  auto db = Database::open(dir / "old.db");
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ(db->schemaVersion(), schemaMigrations().back().version);
  EXPECT_EQ(count(*db, "pupils"), 1);
  EXPECT_EQ(count(*db, "badges"), 1);
  EXPECT_EQ(count(*db, "audit_state"), 1);
  EXPECT_EQ(count(*db, "audit_events"), 0);
  EXPECT_EQ(count(*db, "audit_keys"), 1) << "version 3: every pupil gets an audit key";
  EXPECT_EQ(count(*db, "audit_identity"), 1);
}

// Version 2 -> 3 renames audit_events.badge_serial: the rows and their hashes are kept as
// they were (a chain written before still verifies; see audit_log_test for that).
TEST(Database, MigratesAVersion2AuditLogKeepingItsRows) {
  test::TempDir dir;
  {
    Database::Options v2;
    v2.targetVersion = 2;
    auto db = Database::open(dir / "old.db", v2);
    ASSERT_TRUE(db) << db.error().message;
    ASSERT_TRUE(
        db->exec("INSERT INTO pupils VALUES ('P1', NULL, 1, 'p-ref', 1700000000);"
                 "INSERT INTO pupils VALUES ('P2', NULL, 1, 'p-ref2', 1700000000);"
                 "INSERT INTO audit_events VALUES (1, 1700000000, 'gate-1', 'passage', NULL, 42, "
                 "'GRANTED', 0.4, '', zeroblob(32), zeroblob(32));"));
  }
  auto db = Database::open(dir / "old.db");
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ(count(*db, "audit_keys"), 2);
  auto q = db->prepare("SELECT badge_ref FROM audit_events WHERE seq = 1");
  ASSERT_TRUE(q) << q.error().message;
  ASSERT_TRUE(q->step().value_or(false));
  EXPECT_EQ(q->integer(0), 42);
  auto keys = db->prepare("SELECT count(DISTINCT badge_ref_key) FROM audit_keys");
  ASSERT_TRUE(keys);
  ASSERT_TRUE(keys->step().value_or(false));
  EXPECT_EQ(keys->integer(0), 2) << "one random key per pupil";
}

TEST(Database, RefusesAnOldSchemaWhenNotMigrating) {
  test::TempDir dir;
  Database::Options v1;
  v1.targetVersion = 1;
  ASSERT_TRUE(Database::open(dir / "old.db", v1));
  Database::Options readOnly;
  readOnly.readOnly = true;
  auto db = Database::open(dir / "old.db", readOnly);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::SchemaMismatch);
  EXPECT_NE(db.error().message.find("schema version 1, expected 3"), std::string::npos);
}

TEST(Database, RefusesANewerSchema) {
  test::TempDir dir;
  {
    auto db = Database::open(dir / "new.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA user_version = 99"));
  }
  auto db = Database::open(dir / "new.db");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::SchemaMismatch);
  EXPECT_NE(db.error().message.find("schema version 99"), std::string::npos);
}

TEST(Database, RefusesSomeoneElsesSqliteFile) {
  test::TempDir dir;
  {
    auto db =
        Database::open(dir / "other.db", Database::Options{.migrate = false, .targetVersion = 0});
    ASSERT_TRUE(db) << db.error().message;
    ASSERT_TRUE(db->exec("CREATE TABLE recipes (name TEXT)"));
  }
  auto db = Database::open(dir / "other.db");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::SchemaMismatch);
  EXPECT_NE(db.error().message.find("not a facegate database"), std::string::npos);
}

TEST(Database, NotADatabase) {
  test::TempDir dir;
  test::writeFile(dir / "notes.db", std::string(8192, 'x'));
  fs::permissions(dir / "notes.db", fs::perms::owner_read | fs::perms::owner_write);
  auto db = Database::open(dir / "notes.db");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::StorageCorrupt);
  EXPECT_NE(db.error().message.find("notes.db"), std::string::npos);
}

TEST(Database, CorruptedPageIsReportedNotUsed) {
  test::TempDir dir;
  {
    auto db = Database::open(dir / "gate.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA journal_mode = DELETE"));  // all pages in the main file
    ASSERT_TRUE(db->transaction([&]() -> Result<void> {
      for (int i = 0; i < 3000; ++i) {
        auto q = db->prepare(
            "INSERT INTO audit_events (seq, at, actor, action, detail, prev_hash, hash) "
            "VALUES (?1, 0, 'test', 'fill', 'some padding text to fill pages', zeroblob(32), "
            "zeroblob(32))");
        if (!q) {
          return tl::unexpected(q.error());
        }
        q->bind(1, std::int64_t{i + 1});
        if (auto r = q->run(); !r) {
          return r;
        }
      }
      return {};
    }));
  }
  std::string bytes = test::readFile(dir / "gate.db");
  ASSERT_GT(bytes.size(), 40'000U);
  // Overwrite the middle of several pages (4096 bytes each; page 1 holds the header).
  for (std::size_t page = 3; page * 4096 < bytes.size(); page += 4) {
    for (std::size_t i = 100; i < 400; ++i) {
      bytes[page * 4096 + i] = static_cast<char>(0xA5);
    }
  }
  test::writeFile(dir / "gate.db", bytes);
  auto db = Database::open(dir / "gate.db");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::StorageCorrupt);
  EXPECT_NE(db.error().message.find("integrity"), std::string::npos) << db.error().message;
}

TEST(Database, MissingFileWithoutCreateIsNotFound) {
  test::TempDir dir;
  auto db = Database::open(dir / "absent.db", Database::Options{.create = false});
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::NotFound);
  EXPECT_FALSE(fs::exists(dir / "absent.db"));
}

TEST(Database, UnwritableDirectoryIsAClearError) {
  auto db = Database::open("/proc/facegate-test.db");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::StorageFailure);
  EXPECT_NE(db.error().message.find("cannot create database"), std::string::npos);
}

TEST(Database, FailedTransactionLeavesNothingBehind) {
  test::TempDir dir;
  auto db = Database::open(dir / "gate.db");
  ASSERT_TRUE(db);
  auto r = db->transaction([&]() -> Result<void> {
    if (auto ok = db->exec("INSERT INTO pupils VALUES ('P1', NULL, 0, 'r1', 0)"); !ok) {
      return ok;
    }
    return fail(ErrorCode::Refused, "changed my mind");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(count(*db, "pupils"), 0);
  // A constraint violation inside is also rolled back as a whole.
  r = db->transaction([&]() -> Result<void> {
    if (auto ok = db->exec("INSERT INTO pupils VALUES ('P2', NULL, 0, 'r2', 0)"); !ok) {
      return ok;
    }
    return db->exec("INSERT INTO badges VALUES (1, 'nobody', 'plain', 0, 10, NULL)");  // FK
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(count(*db, "pupils"), 0);
}

TEST(Database, SchemaConstraintsGuardTheData) {
  test::TempDir dir;
  auto db = Database::open(dir / "gate.db");
  ASSERT_TRUE(db);
  EXPECT_FALSE(db->exec("INSERT INTO pupils VALUES ('', NULL, 0, 'r', 0)"));
  EXPECT_FALSE(db->exec("INSERT INTO pupils VALUES ('P', NULL, 2, 'r', 0)"));
  EXPECT_FALSE(db->exec("INSERT INTO pupils VALUES ('P', NULL, 'yes', 'r', 0)"));  // STRICT
  ASSERT_TRUE(db->exec("INSERT INTO pupils VALUES ('P', NULL, 0, 'r', 0)"));
  EXPECT_FALSE(db->exec("INSERT INTO badges VALUES (1, 'P', 'plain', 10, 5, NULL)"));  // expiry
  EXPECT_FALSE(db->exec("INSERT INTO badges VALUES (1, 'P', 'gold', 0, 5, NULL)"));
}

// ---- Whose file it is ------------------------------------------------------------------------
// A database holds pupils' names, consent records and sealed templates. One that group or
// others can read, that belongs to another user (pre-created in a shared directory such as
// /tmp), that is a link or not a regular file, or whose -wal/-shm/-journal is any of these,
// is refused before SQLite reads or writes a byte of it, saying how to put it right.

// A user who is not the one running the tests (only root can give a file to them).
constexpr uid_t kOtherUid = 65534;
constexpr gid_t kOtherGid = 65534;

// A facegate database holding one pupil, closed (its WAL checkpointed and removed).
void makeDatabase(const fs::path& path) {
  auto db = Database::open(path);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(db->exec("INSERT INTO pupils VALUES ('P1', NULL, 1, 'p-ref', 1700000000)"));
}

void expectRefused(const Result<Database>& db, ErrorCode code,
                   std::initializer_list<std::string> fragments) {
  ASSERT_FALSE(db) << "opened";
  EXPECT_EQ(db.error().code, code) << toString(db.error().code) << ": " << db.error().message;
  for (const auto& fragment : fragments) {
    EXPECT_NE(db.error().message.find(fragment), std::string::npos)
        << "no '" << fragment << "' in: " << db.error().message;
  }
}

void chmodOrFail(const fs::path& path, mode_t mode) {
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

#define FACEGATE_REQUIRE_ROOT()                                                               \
  do {                                                                                        \
    if (::geteuid() != 0) {                                                                   \
      GTEST_SKIP() << "giving a file to another user needs root (CI runs the tests as root)"; \
    }                                                                                         \
  } while (false)

class DatabaseMode : public ::testing::TestWithParam<mode_t> {};

TEST_P(DatabaseMode, ADatabaseGroupOrOthersCanAccessIsRefusedUntouched) {
  const mode_t mode = GetParam();
  test::TempDir dir;
  const fs::path path = dir / "gate.db";
  makeDatabase(path);
  chmodOrFail(path, mode);
  const std::string bytes = test::readFile(path);
  for (const bool readOnly : {false, true}) {
    expectRefused(Database::open(path, Database::Options{.readOnly = readOnly}), ErrorCode::Refused,
                  {path.string(), fmt::format("mode {:04o}", mode),
                   fmt::format("chmod 600 {}", path.string())});
  }
  EXPECT_EQ(test::readFile(path), bytes);
  EXPECT_FALSE(fs::exists(dir / "gate.db-wal")) << "SQLite opened it";
  EXPECT_FALSE(fs::exists(dir / "gate.db-shm")) << "SQLite opened it";
  // Put right as the message says, it opens with its data.
  chmodOrFail(path, 0600);
  auto db = Database::open(path);
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ(count(*db, "pupils"), 1);
}

INSTANTIATE_TEST_SUITE_P(Modes, DatabaseMode,
                         ::testing::Values(0666, 0644, 0640, 0604, 0660, 0620, 0602, 0601),
                         [](const auto& param) { return fmt::format("mode_{:04o}", param.param); });

// `touch facegate.db` under the usual umask 022 makes it 0644: taken as a new database, it
// would hold names readable by everyone from the first enrolment.
TEST(DatabaseAccess, AnEmptyFileOthersCanReadIsNotTakenAsANewDatabase) {
  test::TempDir dir;
  test::writeFile(dir / "new.db", "");
  chmodOrFail(dir / "new.db", 0644);
  expectRefused(Database::open(dir / "new.db"), ErrorCode::Refused,
                {"chmod 600 " + (dir / "new.db").string()});
  EXPECT_EQ(fs::file_size(dir / "new.db"), 0U);
}

class CompanionMode : public ::testing::TestWithParam<std::string> {};

TEST_P(CompanionMode, ACompanionFileOthersCanReadIsRefused) {
  test::TempDir dir;
  const fs::path path = dir / "gate.db";
  const fs::path companion = path.string() + GetParam();
  makeDatabase(path);
  test::writeFile(companion, "");
  chmodOrFail(companion, 0644);
  const std::string bytes = test::readFile(path);
  expectRefused(
      Database::open(path), ErrorCode::Refused,
      {companion.string(), path.string(), "mode 0644", "chmod 600 " + companion.string()});
  EXPECT_EQ(test::readFile(path), bytes);
}

INSTANTIATE_TEST_SUITE_P(Companions, CompanionMode, ::testing::Values("-wal", "-shm", "-journal"),
                         [](const auto& param) { return param.param.substr(1); });

// The WAL of a database in use holds its latest transactions: a -wal made readable by others
// while the gate has the database open is refused to the next connection (the desk's).
TEST(DatabaseAccess, ALiveWalOthersCanReadIsRefusedToTheNextConnection) {
  test::TempDir dir;
  const fs::path path = dir / "gate.db";
  auto gate = Database::open(path);
  ASSERT_TRUE(gate) << gate.error().message;
  ASSERT_TRUE(
      gate->exec("PRAGMA wal_autocheckpoint = 0;"
                 "INSERT INTO pupils VALUES ('P1', NULL, 1, 'p-ref', 1700000000)"));
  ASSERT_GT(fs::file_size(path.string() + "-wal"), 0U);
  chmodOrFail(path.string() + "-wal", 0644);
  expectRefused(Database::open(path), ErrorCode::Refused,
                {path.string() + "-wal", "write-ahead log", "chmod 600"});
  EXPECT_EQ(count(*gate, "pupils"), 1) << "the connection already open is not disturbed";
}

TEST(DatabaseAccess, ADatabaseOfAnotherUserIsRefused) {
  FACEGATE_REQUIRE_ROOT();
  test::TempDir dir;
  const fs::path path = dir / "gate.db";
  makeDatabase(path);
  ASSERT_EQ(::chown(path.c_str(), kOtherUid, kOtherGid), 0);
  const std::string bytes = test::readFile(path);
  // Root included: the database is used only as its owner (here: the facegate user's
  // database opened by a desk command run with sudo but without -u facegate).
  auto db = Database::open(path);
  expectRefused(db, ErrorCode::Refused, {path.string(), "belongs to", "sudo -u"});
  if (!db) {
    EXPECT_NE(db.error().message.find("nobody"), std::string::npos) << db.error().message;
  }
  EXPECT_EQ(test::readFile(path), bytes);
  EXPECT_FALSE(fs::exists(dir / "gate.db-wal")) << "SQLite opened it";
}

// The /tmp case of the review: someone else pre-creates the file 0666 where the desk will
// create its database.
TEST(DatabaseAccess, AFilePreCreatedByAnotherUserInAStickyDirectoryIsRefused) {
  FACEGATE_REQUIRE_ROOT();
  test::TempDir dir;
  chmodOrFail(dir.path(), 01777);
  const fs::path path = dir / "school.db";
  test::writeFile(path, "");
  ASSERT_EQ(::chown(path.c_str(), kOtherUid, kOtherGid), 0);
  chmodOrFail(path, 0666);
  expectRefused(Database::open(path), ErrorCode::Refused, {path.string(), "belongs to"});
  EXPECT_EQ(fs::file_size(path), 0U) << "nothing may be written into it";
}

TEST(DatabaseAccess, ACompanionOfAnotherUserIsRefused) {
  FACEGATE_REQUIRE_ROOT();
  for (const std::string suffix : {"-wal", "-shm", "-journal"}) {
    test::TempDir dir;
    const fs::path path = dir / "gate.db";
    const fs::path companion = path.string() + suffix;
    makeDatabase(path);
    test::writeFile(companion, "");
    chmodOrFail(companion, 0600);
    ASSERT_EQ(::chown(companion.c_str(), kOtherUid, kOtherGid), 0);
    expectRefused(Database::open(path), ErrorCode::Refused,
                  {companion.string(), "belongs to", "nobody"});
  }
}

TEST(DatabaseAccess, ASymbolicLinkIsRefusedNotFollowed) {
  test::TempDir dir;
  makeDatabase(dir / "real.db");
  fs::create_symlink(dir / "real.db", dir / "gate.db");
  expectRefused(Database::open(dir / "gate.db"), ErrorCode::Refused,
                {(dir / "gate.db").string(), "symbolic link"});
  // A dangling link where a new database would be created: nothing is created at its target.
  fs::create_symlink(dir / "elsewhere.db", dir / "new.db");
  expectRefused(Database::open(dir / "new.db"), ErrorCode::Refused,
                {(dir / "new.db").string(), "symbolic link"});
  EXPECT_FALSE(fs::exists(dir / "elsewhere.db"));
  // A link in place of a companion.
  test::writeFile(dir / "wal-target", "");
  chmodOrFail(dir / "wal-target", 0600);
  fs::create_symlink(dir / "wal-target", dir / "real.db-wal");
  expectRefused(Database::open(dir / "real.db"), ErrorCode::Refused,
                {(dir / "real.db-wal").string(), "symbolic link"});
}

TEST(DatabaseAccess, AFifoOrADirectoryIsRefusedWithoutWaiting) {
  test::TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo.db").c_str(), 0600), 0);
  expectRefused(Database::open(dir / "fifo.db"), ErrorCode::StorageFailure,
                {(dir / "fifo.db").string(), "FIFO", "not a regular file"});
  fs::create_directory(dir / "dir.db");
  expectRefused(Database::open(dir / "dir.db"), ErrorCode::StorageFailure,
                {(dir / "dir.db").string(), "is a directory, not a file"});
  makeDatabase(dir / "gate.db");
  ASSERT_EQ(::mkfifo((dir / "gate.db-wal").c_str(), 0600), 0);
  expectRefused(Database::open(dir / "gate.db"), ErrorCode::StorageFailure,
                {(dir / "gate.db-wal").string(), "not a regular file"});
}

TEST(DatabaseAccess, InMemoryAndTemporaryDatabasesNeedNoFile) {
  for (const char* name : {":memory:", ""}) {
    auto db = Database::open(name);
    ASSERT_TRUE(db) << db.error().message;
    EXPECT_EQ(db->schemaVersion(), schemaMigrations().back().version);
  }
}

// Between facegate's checks and SQLite's open another process may change the files; the
// checks run again once SQLite has the file open (and before anything is written), so the
// change is caught. The test VFS plays the other process, at the moment SQLite opens.
class DatabaseRace : public ::testing::Test {
 protected:
  void SetUp() override { test::installFaultyVfs(); }
  void TearDown() override { test::beforeOpen({}); }
};

TEST_F(DatabaseRace, AWalPlantedAsTheDatabaseIsOpenedIsRefused) {
  test::TempDir dir;
  const fs::path path = dir / "gate.db";
  makeDatabase(path);
  const fs::path wal = path.string() + "-wal";
  // Not empty: SQLite itself gives an empty -wal it opens the database's mode (and, run as
  // root, its owner), so only a -wal with content can stay someone else's.
  test::beforeOpen([&](const std::string& name) {
    if (name == path.string() && !fs::exists(wal)) {
      test::writeFile(wal, std::string(4096, 'x'));
      ::chmod(wal.c_str(), 0666);
      if (::geteuid() == 0) {
        (void)::chown(wal.c_str(), kOtherUid, kOtherGid);
      }
    }
  });
  expectRefused(Database::open(path), ErrorCode::Refused, {wal.string()});
}

TEST_F(DatabaseRace, ADatabaseSwappedAsItIsOpenedIsRefused) {
  test::TempDir dir;
  const fs::path path = dir / "gate.db";
  makeDatabase(path);
  makeDatabase(dir / "other.db");
  bool swapped = false;
  test::beforeOpen([&](const std::string& name) {
    if (name == path.string() && !swapped) {
      swapped = true;
      fs::rename(dir / "other.db", path);
    }
  });
  expectRefused(Database::open(path), ErrorCode::Refused, {path.string(), "replaced"});
  EXPECT_TRUE(swapped);
}

}  // namespace
}  // namespace facegate::store
