#include "facegate/audit/audit_log.hpp"

#include <chrono>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace facegate::audit {
namespace {

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::Database::open(dir_ / "audit.db");
    ASSERT_TRUE(opened) << opened.error().message;
    db_.emplace(std::move(*opened));
    log_.emplace(*db_);
    for (int i = 1; i <= 10; ++i) {
      AuditEvent e;
      e.at = 1'700'000'000 + i * 100;
      e.actor = "gate-1";
      e.action = "passage";
      e.badgeSerial = 0xF000000000000000ULL + static_cast<std::uint64_t>(i);
      e.outcome = i % 3 == 0 ? "MISMATCH" : "GRANTED";
      e.distance = 0.3 + i / 100.0;
      e.detail = "frames=5";
      auto seq = log_->append(e);
      ASSERT_TRUE(seq) << seq.error().message;
      ASSERT_EQ(*seq, i);
    }
  }

  ChainReport verify() {
    auto report = log_->verify();
    EXPECT_TRUE(report) << report.error().message;
    return report.value_or(ChainReport{});
  }

  void sql(const std::string& statement) { ASSERT_TRUE(db_->exec(statement)) << statement; }

  test::TempDir dir_;
  std::optional<store::Database> db_;
  std::optional<AuditLog> log_;
};

TEST_F(AuditLogTest, IntactChainVerifies) {
  const auto report = verify();
  EXPECT_TRUE(report.intact) << report.problem;
  EXPECT_EQ(report.records, 10);
  EXPECT_EQ(report.headSeq, 10);
  auto records = log_->records(0, 100);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 10U);
  EXPECT_EQ(report.headHash, records->back().hash);
  EXPECT_EQ((*records)[4].event.badgeSerial, 0xF000000000000005ULL);
  EXPECT_DOUBLE_EQ(*(*records)[4].event.distance, 0.35);
}

TEST_F(AuditLogTest, EditedRecordIsFound) {
  sql("UPDATE audit_events SET outcome = 'GRANTED' WHERE seq = 6");
  const auto report = verify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.firstBadSeq, 6);
  EXPECT_NE(report.problem.find("modified"), std::string::npos) << report.problem;
}

TEST_F(AuditLogTest, EditedDistanceByOneUlpIsFound) {
  sql("UPDATE audit_events SET distance = distance + 1e-15 WHERE seq = 2");
  EXPECT_EQ(verify().firstBadSeq, 2);
}

TEST_F(AuditLogTest, DeletedRecordIsFound) {
  sql("DELETE FROM audit_events WHERE seq = 4");
  const auto report = verify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.firstBadSeq, 4);
  EXPECT_NE(report.problem.find("missing"), std::string::npos);
}

TEST_F(AuditLogTest, DeletedAndRenumberedRecordsAreFound) {
  sql("DELETE FROM audit_events WHERE seq = 4");
  sql("UPDATE audit_events SET seq = seq - 1 WHERE seq > 4");
  sql("UPDATE audit_state SET head_seq = 9");
  const auto report = verify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.firstBadSeq, 4);
}

TEST_F(AuditLogTest, ReorderedRecordsAreFound) {
  // Swap the contents of records 3 and 7 (keeping each row's seq).
  sql("CREATE TEMP TABLE t AS SELECT * FROM audit_events WHERE seq IN (3, 7)");
  sql("UPDATE audit_events SET (at, outcome, distance, badge_serial, prev_hash, hash) = "
      "(SELECT at, outcome, distance, badge_serial, prev_hash, hash FROM t WHERE t.seq = 10 - "
      "audit_events.seq) "
      "WHERE seq IN (3, 7)");
  const auto report = verify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.firstBadSeq, 3);
}

TEST_F(AuditLogTest, TruncatedEndIsFound) {
  sql("DELETE FROM audit_events WHERE seq > 8");
  const auto report = verify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.firstBadSeq, 9);
  EXPECT_NE(report.problem.find("removed from the end"), std::string::npos);
}

TEST_F(AuditLogTest, TruncatedStartIsFound) {
  sql("DELETE FROM audit_events WHERE seq <= 2");
  EXPECT_EQ(verify().firstBadSeq, 1);
}

TEST_F(AuditLogTest, PurgeMovesTheAnchorAndTheChainStillVerifies) {
  // Events are at 1'700'000'100 + 100 k; cut before the 5th.
  auto removed = log_->purgeBefore(1'700'000'500, 1'800'000'000, "desk");
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, 4);
  const auto report = verify();
  EXPECT_TRUE(report.intact) << report.problem;
  EXPECT_EQ(report.anchorSeq, 4);
  EXPECT_EQ(report.records, 7);  // 5..10 and the purge record
  auto records = log_->records(0, 100);
  ASSERT_TRUE(records);
  EXPECT_EQ(records->front().seq, 5);
  EXPECT_EQ(records->back().event.action, "purge");
  EXPECT_NE(records->back().event.detail.find("removed=4"), std::string::npos);
  // Purging again with the same cutoff removes nothing and appends nothing.
  EXPECT_EQ(*log_->purgeBefore(1'700'000'500, 1'800'000'000, "desk"), 0);
  EXPECT_EQ(verify().records, 7);
}

TEST_F(AuditLogTest, PurgeStopsAtAClockThatWentBack) {
  AuditEvent old;
  old.at = 1'000;  // after a clock reset
  old.actor = "gate-1";
  old.action = "passage";
  ASSERT_TRUE(log_->append(old));
  auto removed = log_->purgeBefore(1'700'000'250, 1'800'000'000, "desk");
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 2);  // seq 1 and 2 (the prefix), not the out-of-order seq 11
  const auto report = verify();
  EXPECT_TRUE(report.intact);
  auto records = log_->records(0, 100);
  ASSERT_TRUE(records);
  EXPECT_EQ((*records)[8].seq, 11);
  EXPECT_EQ((*records)[8].event.at, 1'000);
}

TEST_F(AuditLogTest, MovedAnchorIsFound) {
  ASSERT_TRUE(log_->purgeBefore(1'700'000'500, 1'800'000'000, "desk"));
  sql("UPDATE audit_state SET anchor_seq = 5");  // pretend record 5 was purged too
  EXPECT_FALSE(verify().intact);
}

TEST_F(AuditLogTest, AppendJoinsTheCallersTransaction) {
  auto r = db_->transaction([&]() -> Result<void> {
    AuditEvent e{1, "desk", "enrol", "p-x", std::nullopt, std::nullopt, std::nullopt, ""};
    if (auto seq = log_->append(e); !seq) {
      return tl::unexpected(seq.error());
    }
    return fail(ErrorCode::Refused, "the action failed after its audit record");
  });
  ASSERT_FALSE(r);
  const auto report = verify();
  EXPECT_TRUE(report.intact);
  EXPECT_EQ(report.headSeq, 10) << "the audit record rolled back with the action";
}

// The gate's bounded wait (issue 11): while another connection holds the write lock, an
// append waits `lockWait` and no longer, leaves the chain as it was, and the connection's own
// busy timeout is what it was before.
TEST_F(AuditLogTest, AnAppendWaitsForALockedDatabaseOnlyAsLongAsItIsTold) {
  auto desk = store::Database::open(dir_ / "audit.db");
  ASSERT_TRUE(desk) << desk.error().message;
  ASSERT_TRUE(desk->exec("BEGIN IMMEDIATE"));
  AuditEvent e{1'700'010'000, "gate-1",  "passage", std::nullopt,
               std::nullopt,  "GRANTED", 0.4,       "frames=5"};
  using std::chrono::milliseconds;
  for (const milliseconds wait : {milliseconds(0), milliseconds(300)}) {
    const auto started = std::chrono::steady_clock::now();
    auto seq = log_->append(e, wait);
    const auto waited =
        std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
    ASSERT_FALSE(seq) << "appended while another connection holds the lock";
    EXPECT_NE(seq.error().message.find("database is locked"), std::string::npos)
        << seq.error().message;
    EXPECT_GE(waited, wait);
    EXPECT_LT(waited, wait + milliseconds(250)) << "waited " << waited.count() << " ms";
    EXPECT_EQ(db_->busyTimeout(), store::kDefaultBusyTimeout);
  }
  ASSERT_TRUE(desk->exec("ROLLBACK"));
  auto seq = log_->append(e, milliseconds(0));
  ASSERT_TRUE(seq) << seq.error().message;
  EXPECT_EQ(*seq, 11);
  EXPECT_TRUE(verify().intact);
}

}  // namespace
}  // namespace facegate::audit
