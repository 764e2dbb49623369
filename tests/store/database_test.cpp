#include "facegate/store/database.hpp"

#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace facegate::store
