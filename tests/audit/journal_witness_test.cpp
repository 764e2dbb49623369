// The audit log's witness in a real systemd journal: a journald of the test's own
// (tests/support/with-journald.sh, which ctest runs this program under), entries written
// with sd_journal_send and read back with sd_journal_*, and `facegate audit verify` as the
// school's administrator runs it, on the journal and on a copy of its files.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <systemd/sd-journal.h>

#include "facegate/audit/audit_log.hpp"
#include "facegate/audit/witness.hpp"
#include "test_support.hpp"

namespace facegate::audit {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCli = FACEGATE_CLI;

class JournalWitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* why = std::getenv("FACEGATE_PRIVATE_JOURNALD_UNAVAILABLE")) {
      GTEST_SKIP() << "no private journald: " << why;
    }
    if (std::getenv("FACEGATE_PRIVATE_JOURNALD") == nullptr) {
      GTEST_SKIP() << "run under tests/support/with-journald.sh (ctest does)";
    }
    auto opened = store::Database::open(db());
    ASSERT_TRUE(opened) << opened.error().message;
    db_.emplace(std::move(*opened));
    log_.emplace(*db_, &witness_);
    for (int i = 1; i <= 5; ++i) {
      AuditEvent e{1'700'000'000 + i, "gate-1",  "passage",    std::nullopt,
                   std::nullopt,      "GRANTED", std::nullopt, "frames=8"};
      ASSERT_TRUE(log_->append(e));
    }
    auto id = log_->logId();
    ASSERT_TRUE(id);
    id_ = *id;
  }

  fs::path db() const { return dir_ / "gate.db"; }

  // journald writes what it receives asynchronously: wait until it holds `n` heads.
  JournalHeads waitForHeads(std::size_t n, const std::optional<fs::path>& dir = std::nullopt) {
    JournalHeads seen;
    for (int i = 0; i < 200; ++i) {
      auto read = readJournalHeads(id_, db().string(), ::geteuid(), dir);
      EXPECT_TRUE(read) << read.error().message;
      if (read) {
        seen = *read;
      }
      if (seen.heads.size() >= n) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return seen;
  }

  test::TempDir dir_;
  JournalWitness witness_;
  std::optional<store::Database> db_;
  std::optional<AuditLog> log_;
  LogId id_{};
};

TEST_F(JournalWitnessTest, EveryHeadReachesTheJournalAndVerifyChecksThem) {
  const JournalHeads seen = waitForHeads(5);
  ASSERT_EQ(seen.heads.size(), 5U);
  auto records = log_->records(0, 10);
  ASSERT_TRUE(records);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(seen.heads[i].seq, static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(seen.heads[i].hash, (*records)[i].hash);
    EXPECT_EQ(seen.heads[i].database, db().string());
    EXPECT_GT(seen.heads[i].seenAt, 1'700'000'000);
  }
  EXPECT_TRUE(seen.others.empty());
  EXPECT_TRUE(seen.access.empty()) << "root reads the whole journal";

  const auto r = test::runCommand(kCli, {"audit", "verify", "--db", db().string()});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("audit log intact: 5 record(s) checked"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("journal: 5 head(s) of this log checked (0 older than the retention), "
                       "the latest record 5 seen on "),
            std::string::npos)
      << r.out;
}

// The review: the end of the log cut and the saved head rewritten to match passed `audit
// verify`; only a head copied by hand caught it. The journal saw the head.
TEST_F(JournalWitnessTest, ALogCutAtItsEndFailsVerify) {
  ASSERT_EQ(waitForHeads(5).heads.size(), 5U);
  ASSERT_TRUE(
      db_->exec("UPDATE audit_state SET head_seq = 3, head_hash = (SELECT hash FROM "
                "audit_events WHERE seq = 3); DELETE FROM audit_events WHERE seq > 3"));
  const auto r = test::runCommand(kCli, {"audit", "verify", "--db", db().string()});
  EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("audit log intact: 3 record(s) checked"), std::string::npos)
      << "the chain alone holds: " << r.out;
  EXPECT_NE(r.out.find("audit log BROKEN: the journal saw record 5 on "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("but the log ends at record 3: records were removed from the end"),
            std::string::npos)
      << r.out;
}

// The desk's own changes are witnessed too (here a retention purge by `facegate purge`),
// and an auditor can check a copy of the gate's journal files instead of the live journal.
TEST_F(JournalWitnessTest, TheDeskWitnessesItsChangesAndACopyOfTheJournalCanBeChecked) {
  const auto purged =
      test::runCommand(kCli, {"purge", "--db", db().string(), "--retention-days", "1"});
  ASSERT_EQ(purged.exitCode, 0) << purged.out << purged.err;
  EXPECT_NE(purged.out.find("5 audit record(s) older than 1 days removed"), std::string::npos)
      << purged.out;
  const JournalHeads seen = waitForHeads(6);
  ASSERT_EQ(seen.heads.size(), 6U) << "the purge record's head";
  EXPECT_EQ(seen.heads.back().seq, 6);

  // Copy the journal's files (journald keeps them under /run/log/journal/<machine id>/).
  const fs::path copy = dir_ / "journal-copy";
  fs::create_directories(copy);
  for (const char* root : {"/run/log/journal", "/var/log/journal"}) {
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(root, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".journal") {
        fs::copy_file(entry.path(), copy / entry.path().filename());
      }
    }
  }
  const auto r = test::runCommand(
      kCli, {"audit", "verify", "--db", db().string(), "--journal", copy.string()});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("journal: 6 head(s) of this log checked (4 older than the retention), "
                       "the latest record 6 seen on "),
            std::string::npos)
      << r.out;
  // An empty directory holds nothing: said, not failed.
  fs::create_directories(dir_ / "empty");
  const auto none = test::runCommand(
      kCli, {"audit", "verify", "--db", db().string(), "--journal", (dir_ / "empty").string()});
  EXPECT_EQ(none.exitCode, 0) << none.out << none.err;
  EXPECT_NE(none.out.find("journal: no head of this log found in "), std::string::npos) << none.out;
}

// Anyone on the machine can write to the journal: another user forges a head beyond the
// log's end (to make verify cry wolf) under this log's identity. journald records who sent
// it, and only the database owner's entries are heads.
TEST_F(JournalWitnessTest, AHeadForgedByAnotherUserIsIgnoredAndReported) {
  ASSERT_EQ(waitForHeads(5).heads.size(), 5U);
  const std::string log = toHex(id_);
  const std::string path = db().string();
  const std::string sent = test::runUnprivileged([&] {
    const int r = sd_journal_send("MESSAGE=forged head", "MESSAGE_ID=%s", kHeadMessageId,
                                  "FACEGATE_AUDIT_LOG=%s", log.c_str(), "FACEGATE_AUDIT_SEQ=999",
                                  "FACEGATE_AUDIT_HASH=%s", std::string(64, 'a').c_str(),
                                  "FACEGATE_AUDIT_DB=%s", path.c_str(), nullptr);
    return r < 0 ? std::string("sd_journal_send failed") : std::string();
  });
  ASSERT_EQ(sent, "");
  JournalHeads seen;
  for (int i = 0; i < 200 && seen.foreign == 0; ++i) {
    auto read = readJournalHeads(id_, path, ::geteuid(), std::nullopt);
    ASSERT_TRUE(read) << read.error().message;
    seen = *read;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(seen.foreign, 1);
  EXPECT_EQ(seen.heads.size(), 5U) << "the forged head is not one of the log's";
  const auto r = test::runCommand(kCli, {"audit", "verify", "--db", path});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("warning: the journal holds 1 entry for this log or this database sent "
                       "by another user"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("journal: 5 head(s) of this log checked"), std::string::npos) << r.out;
}

// A database replaced by another one at the same path (a fresh audit log): the journal's
// heads of the former log are reported.
TEST_F(JournalWitnessTest, AReplacedDatabaseIsReported) {
  ASSERT_EQ(waitForHeads(5).heads.size(), 5U);
  log_.reset();
  db_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::remove(db().string() + suffix);
  }
  auto fresh = store::Database::open(db());
  ASSERT_TRUE(fresh) << fresh.error().message;
  const auto r = test::runCommand(kCli, {"audit", "verify", "--db", db().string()});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("warning: the journal also holds the heads of another audit log written "
                       "to "),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace facegate::audit
