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
      e.badgeRef = 0xF000000000000000ULL + static_cast<std::uint64_t>(i);
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
  EXPECT_EQ((*records)[4].event.badgeRef, 0xF000000000000005ULL);
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
  sql("UPDATE audit_events SET (at, outcome, distance, badge_ref, prev_hash, hash) = "
      "(SELECT at, outcome, distance, badge_ref, prev_hash, hash FROM t WHERE t.seq = 10 - "
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

// The records are dated kBase + 100 s ... kBase + 1000 s; a retention of one day seen from
// kBase + 500 s + one day removes the first four.
constexpr std::int64_t kBase = 1'700'000'000;
constexpr std::int64_t kDay = 86'400;

TEST_F(AuditLogTest, PurgeMovesTheAnchorAndTheChainStillVerifies) {
  auto records = log_->records(0, 100);
  ASSERT_TRUE(records);
  const Hash fourth = (*records)[3].hash;
  auto purged = log_->purge(1, kBase + 500 + kDay, "desk");
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_EQ(purged->removed, 4);
  EXPECT_EQ(purged->removedFutureDated, 0);
  EXPECT_EQ(purged->remainingFutureDated.count, 0);
  const auto report = verify();
  EXPECT_TRUE(report.intact) << report.problem;
  EXPECT_EQ(report.anchorSeq, 4);
  EXPECT_EQ(report.anchorSetBy, 11);
  EXPECT_EQ(report.retentionDays, 1);
  EXPECT_EQ(report.records, 7);  // 5..10 and the purge record
  records = log_->records(0, 100);
  ASSERT_TRUE(records);
  EXPECT_EQ(records->front().seq, 5);
  EXPECT_EQ(records->back().event.action, "purge");
  EXPECT_EQ(records->back().event.detail,
            "removed=4 from_seq=1 up_to_seq=4 anchor_hash=" + toHex(fourth) +
                " cutoff=1700000500 retention_days=1 future_dated_removed=0");
  // Purging again with the same retention removes nothing and appends nothing.
  EXPECT_EQ(log_->purge(1, kBase + 500 + kDay, "desk")->removed, 0);
  EXPECT_EQ(verify().records, 7);
  // A second purge continues from the first; the anchor follows the last purge record.
  ASSERT_EQ(log_->purge(1, kBase + 800 + kDay, "desk")->removed, 3);
  const auto again = verify();
  EXPECT_TRUE(again.intact) << again.problem;
  EXPECT_EQ(again.anchorSeq, 7);
  EXPECT_EQ(again.anchorSetBy, 12);
}

TEST_F(AuditLogTest, PurgeRefusesARetentionBelowOneDay) {
  auto purged = log_->purge(0, kBase + 2000, "desk");
  ASSERT_FALSE(purged);
  EXPECT_EQ(purged.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(verify().records, 10);
}

TEST_F(AuditLogTest, PurgeStopsAtAClockThatWentBack) {
  AuditEvent old;
  old.at = 1'000;  // after a clock reset
  old.actor = "gate-1";
  old.action = "passage";
  ASSERT_TRUE(log_->append(old));
  auto purged = log_->purge(1, kBase + 250 + kDay, "desk");
  ASSERT_TRUE(purged);
  EXPECT_EQ(purged->removed, 2);  // seq 1 and 2 (the prefix), not the out-of-order seq 11
  const auto report = verify();
  EXPECT_TRUE(report.intact);
  auto records = log_->records(0, 100);
  ASSERT_TRUE(records);
  EXPECT_EQ((*records)[8].seq, 11);
  EXPECT_EQ((*records)[8].event.at, 1'000);
}

// One record dated years ahead (a clock that was wrong for a moment) used to stop every
// purge after it: the records written after it, older than the retention, stayed forever.
// Written before them, it is older than they are, whatever its date: it goes with them.
TEST_F(AuditLogTest, ARecordDatedInTheFutureDoesNotStopRetention) {
  AuditEvent e;
  e.actor = "gate-1";
  e.action = "passage";
  e.at = kBase + 3 * 365 * kDay;  // seq 11
  ASSERT_TRUE(log_->append(e));
  for (int i = 0; i < 1000; ++i) {  // seq 12..1011
    e.at = kBase + 2000 + i;
    ASSERT_TRUE(log_->append(e));
  }
  const std::int64_t now = kBase + 40 * kDay;
  auto purged = log_->purge(30, now, "desk");
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_EQ(purged->removed, 1011);
  EXPECT_EQ(purged->removedFutureDated, 1);
  EXPECT_EQ(purged->remainingFutureDated.count, 0);
  const auto report = verify();
  EXPECT_TRUE(report.intact) << report.problem;
  EXPECT_EQ(report.anchorSeq, 1011);
}

// A record dated in the future after which nothing older was written stays (nothing says it
// is old), and is reported: the school must hear about its clock.
TEST_F(AuditLogTest, ARecordDatedInTheFutureIsReported) {
  AuditEvent e;
  e.actor = "gate-1";
  e.action = "passage";
  e.at = kBase + 3 * 365 * kDay;
  ASSERT_TRUE(log_->append(e));
  const std::int64_t now = kBase + 40 * kDay;
  auto purged = log_->purge(30, now, "desk");
  ASSERT_TRUE(purged);
  EXPECT_EQ(purged->removed, 10);
  EXPECT_EQ(purged->remainingFutureDated.count, 1);
  EXPECT_EQ(purged->remainingFutureDated.latest, kBase + 3 * 365 * kDay);
  auto future = log_->futureDated(now);
  ASSERT_TRUE(future);
  EXPECT_EQ(future->count, 1);
  EXPECT_EQ(log_->futureDated(kBase + 3 * 365 * kDay)->count, 0);
}

// A purge record's numbers are the file's: whoever wrote it (a forged chain) may have put any
// text there. None of these is a purge facegate wrote, and none may overflow.
TEST_F(AuditLogTest, APurgeRecordWithImpossibleNumbersIsRefused) {
  for (const std::string detail :
       {"removed=1 from_seq=1 up_to_seq=1 anchor_hash=00 cutoff=0 "
        "retention_days=9999999999999999999",
        "removed=1 from_seq=1 up_to_seq=1 anchor_hash=00 cutoff=-9223372036854775807 "
        "retention_days=36500",
        "removed=9223372036854775807 up_to_seq=-9223372036854775807 cutoff=0",
        "removed=1 from_seq=-9223372036854775807 up_to_seq=9223372036854775807 anchor_hash=00 "
        "cutoff=0 retention_days=1",
        "removed=99999999999999999999 up_to_seq=1 cutoff=1"}) {
    test::TempDir dir;
    auto db = store::Database::open(dir / "audit.db");
    ASSERT_TRUE(db);
    AuditLog log(*db);
    ASSERT_TRUE(log.append(AuditEvent{kBase, "gate-1", "passage", std::nullopt, std::nullopt,
                                      "GRANTED", std::nullopt, ""}));
    ASSERT_TRUE(log.append(AuditEvent{-9'223'372'036'854'775'807 + 1, "desk", "purge", std::nullopt,
                                      std::nullopt, std::nullopt, std::nullopt, detail}));
    auto report = log.verify();
    ASSERT_TRUE(report);
    EXPECT_FALSE(report->intact) << detail;
  }
}

TEST_F(AuditLogTest, MovedAnchorIsFound) {
  ASSERT_TRUE(log_->purge(1, kBase + 500 + kDay, "desk"));
  sql("UPDATE audit_state SET anchor_seq = 5");  // pretend record 5 was purged too
  EXPECT_FALSE(verify().intact);
}

// The review's attack: the oldest records deleted and the anchor moved to the next one, its
// hash copied along. Every link still holds; only the purge record is missing.
TEST_F(AuditLogTest, OldestRecordsDeletedWithTheAnchorMovedAlongAreFound) {
  sql("UPDATE audit_state SET anchor_seq = 3, anchor_hash = (SELECT hash FROM audit_events "
      "WHERE seq = 3)");
  sql("DELETE FROM audit_events WHERE seq <= 3");
  const auto report = verify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.firstBadSeq, 4);
  EXPECT_NE(report.problem.find("no purge record"), std::string::npos) << report.problem;
}

// The same after a genuine purge: the anchor moved beyond what the last purge removed.
TEST_F(AuditLogTest, AnAnchorMovedBeyondTheLastPurgeIsFound) {
  ASSERT_TRUE(log_->purge(1, kBase + 500 + kDay, "desk"));
  sql("UPDATE audit_state SET anchor_seq = 6, anchor_hash = (SELECT hash FROM audit_events "
      "WHERE seq = 6)");
  sql("DELETE FROM audit_events WHERE seq <= 6");
  const auto report = verify();
  EXPECT_FALSE(report.intact);
  EXPECT_NE(report.problem.find("its last purge (record 11) removed records 1-4"),
            std::string::npos)
      << report.problem;
}

// An attacker who also forges a purge record must rewrite the chain from there on (which
// only a witness catches, below); even then the purge must state a real retention.
TEST_F(AuditLogTest, AForgedPurgeWithoutARealRetentionIsFound) {
  auto records = log_->records(0, 100);
  ASSERT_TRUE(records);
  sql("DELETE FROM audit_events");
  const Hash anchor = (*records)[2].hash;
  Hash prev = anchor;
  std::int64_t seq = 4;
  const auto put = [&](const AuditEvent& e) {
    const Hash h = AuditLog::computeHash(seq, e, prev);
    auto insert = db_->prepare(
        "INSERT INTO audit_events (seq, at, actor, action, subject, badge_ref, outcome, "
        "distance, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
        "?11)");
    ASSERT_TRUE(insert);
    std::optional<std::int64_t> ref;
    if (e.badgeRef) {
      ref = static_cast<std::int64_t>(*e.badgeRef);
    }
    insert->bind(1, seq)
        .bind(2, e.at)
        .bind(3, std::string_view(e.actor))
        .bind(4, std::string_view(e.action))
        .bind(5, e.subject)
        .bind(6, ref)
        .bind(7, e.outcome)
        .bind(8, e.distance)
        .bind(9, std::string_view(e.detail))
        .bind(10, std::span<const std::uint8_t>(prev))
        .bind(11, std::span<const std::uint8_t>(h));
    ASSERT_TRUE(insert->run());
    prev = h;
    ++seq;
  };
  for (std::size_t i = 3; i < records->size(); ++i) {
    put((*records)[i].event);
  }
  AuditEvent forged;
  forged.at = kBase + 2000;
  forged.actor = "desk";
  forged.action = "purge";
  forged.detail = "removed=3 from_seq=1 up_to_seq=3 anchor_hash=" + toHex(anchor) +
                  " cutoff=" + std::to_string(kBase + 2000) +
                  " retention_days=0 "
                  "future_dated_removed=0";
  put(forged);
  auto state = db_->prepare(
      "UPDATE audit_state SET anchor_seq = 3, anchor_hash = ?1, head_seq = 11, head_hash = ?2");
  ASSERT_TRUE(state);
  state->bind(1, std::span<const std::uint8_t>(anchor))
      .bind(2, std::span<const std::uint8_t>(prev));
  ASSERT_TRUE(state->run());
  const auto report = verify();
  EXPECT_FALSE(report.intact);
  EXPECT_NE(report.problem.find("purge record 11 is inconsistent"), std::string::npos)
      << report.problem;
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

// A witness that keeps what it is told, as the journal does (the journal itself is tested
// with a real journald in journal_witness_test.cpp).
class RecordingWitness final : public HeadWitness {
 public:
  void attest(const WitnessedHead& head) noexcept override { heads.push_back(head); }
  std::vector<WitnessedHead> heads;
};

class WitnessedLog : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::Database::open(dir_ / "audit.db");
    ASSERT_TRUE(opened) << opened.error().message;
    db_.emplace(std::move(*opened));
    log_.emplace(*db_, &witness_);
    for (int i = 1; i <= 10; ++i) {
      AuditEvent e{kBase + i * 100, "gate-1",  "passage", std::nullopt,
                   std::nullopt,    "GRANTED", 0.4,       "frames=8"};
      ASSERT_TRUE(log_->append(e));
    }
  }
  WitnessReport check() {
    auto report = log_->checkWitnessed(witness_.heads, {});
    EXPECT_TRUE(report) << report.error().message;
    return report.value_or(WitnessReport{});
  }
  void sql(const std::string& statement) { ASSERT_TRUE(db_->exec(statement)) << statement; }

  test::TempDir dir_;
  RecordingWitness witness_;
  std::optional<store::Database> db_;
  std::optional<AuditLog> log_;
};

TEST_F(WitnessedLog, EveryCommittedHeadIsWitnessed) {
  ASSERT_EQ(witness_.heads.size(), 10U);
  auto id = log_->logId();
  ASSERT_TRUE(id);
  auto records = log_->records(0, 100);
  ASSERT_TRUE(records);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(witness_.heads[i].log, *id);
    EXPECT_EQ(witness_.heads[i].seq, static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(witness_.heads[i].hash, (*records)[i].hash);
    EXPECT_EQ(witness_.heads[i].database, (dir_ / "audit.db").string());
  }
  const auto report = check();
  EXPECT_TRUE(report.consistent) << report.problem;
  EXPECT_EQ(report.checked, 10);
  EXPECT_EQ(report.latestSeq, 10);
}

TEST_F(WitnessedLog, AHeadIsWitnessedOnlyOnceItsTransactionCommits) {
  auto r = db_->transaction([&]() -> Result<void> {
    AuditEvent e{1, "desk", "enrol", "p-x", std::nullopt, std::nullopt, std::nullopt, ""};
    if (auto seq = log_->append(e); !seq) {
      return tl::unexpected(seq.error());
    }
    EXPECT_EQ(witness_.heads.size(), 10U) << "not before the commit";
    return fail(ErrorCode::Refused, "the action failed after its audit record");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(witness_.heads.size(), 10U) << "a head that rolled back is never witnessed";
  ASSERT_TRUE(db_->transaction([&]() -> Result<void> {
    AuditEvent e{2, "desk", "enrol", "p-y", std::nullopt, std::nullopt, std::nullopt, ""};
    return log_->append(e).map([](std::int64_t) {});
  }));
  ASSERT_EQ(witness_.heads.size(), 11U);
  EXPECT_EQ(witness_.heads.back().seq, 11);
  EXPECT_TRUE(check().consistent);
}

// The review's attack: the end of the log cut and audit_state's head rewritten to match.
// The chain alone verifies; the witness saw more.
TEST_F(WitnessedLog, ALogCutAtItsEndIsFoundByItsWitness) {
  sql("UPDATE audit_state SET head_seq = 7, head_hash = (SELECT hash FROM audit_events WHERE "
      "seq = 7)");
  sql("DELETE FROM audit_events WHERE seq > 7");
  auto chain = log_->verify();
  ASSERT_TRUE(chain);
  EXPECT_TRUE(chain->intact) << "the chain alone cannot tell";
  const auto report = check();
  EXPECT_FALSE(report.consistent);
  EXPECT_NE(report.problem.find("the journal saw record 10"), std::string::npos) << report.problem;
  EXPECT_NE(report.problem.find("but the log ends at record 7"), std::string::npos);
}

// Someone who rewrites the whole chain (every hash recomputed) is found too: the witness saw
// other hashes.
TEST_F(WitnessedLog, ARewrittenChainIsFoundByItsWitness) {
  auto records = log_->records(0, 100);
  ASSERT_TRUE(records);
  Hash prev{};
  for (auto& r : *records) {
    if (r.seq == 6) {
      r.event.outcome = "MISMATCH";
    }
    const Hash h = AuditLog::computeHash(r.seq, r.event, prev);
    auto update = db_->prepare(
        "UPDATE audit_events SET outcome = ?2, prev_hash = ?3, hash = ?4 WHERE seq = ?1");
    ASSERT_TRUE(update);
    update->bind(1, r.seq)
        .bind(2, r.event.outcome)
        .bind(3, std::span<const std::uint8_t>(prev))
        .bind(4, std::span<const std::uint8_t>(h));
    ASSERT_TRUE(update->run());
    prev = h;
  }
  auto head = db_->prepare("UPDATE audit_state SET head_hash = ?1");
  ASSERT_TRUE(head);
  head->bind(1, std::span<const std::uint8_t>(prev));
  ASSERT_TRUE(head->run());
  auto chain = log_->verify();
  ASSERT_TRUE(chain);
  EXPECT_TRUE(chain->intact) << "a consistent rewrite";
  const auto report = check();
  EXPECT_FALSE(report.consistent);
  EXPECT_NE(report.problem.find("record 6 is not the one the journal saw"), std::string::npos)
      << report.problem;
}

TEST_F(WitnessedLog, HeadsOlderThanTheRetentionAreNotCheckableButTheAnchorIs) {
  ASSERT_TRUE(log_->purge(1, kBase + 500 + kDay, "desk"));
  const auto report = check();
  EXPECT_TRUE(report.consistent) << report.problem;
  EXPECT_EQ(report.purged, 3);   // heads 1..3
  EXPECT_EQ(report.checked, 8);  // head 4 (the anchor), 5..10 and the purge record 11
  // A witnessed head that claims another hash for the anchor: the purge did not remove
  // what was there.
  std::vector<WitnessedHead> heads = witness_.heads;
  heads[3].hash[0] ^= 1;
  auto bad = log_->checkWitnessed(heads, {});
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->consistent);
}

// A database replaced by a new one: the old log's heads at the same path all come before
// the new log's first record. Counted (audit verify warns), not a problem.
TEST_F(WitnessedLog, AnotherLogAtTheSamePathBeforeThisOneIsCounted) {
  WitnessedHead other = witness_.heads.back();
  other.log[0] ^= 0xff;
  other.seq = 500;
  other.hash[0] ^= 0xff;
  other.seenAt = kBase - 1000;
  auto report = log_->checkWitnessed(witness_.heads, {other});
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->consistent) << report->problem;
  EXPECT_EQ(report->otherLogs, 1);
  EXPECT_EQ(report->otherLatestAt, kBase - 1000);
}

// Changing the log's identity in the database, so that the journal's heads are no longer
// "this log's", and cutting its end: the journal's heads under the old identity are still
// records of this chain, hash for hash.
TEST_F(WitnessedLog, AChangedIdentityDoesNotHideTheJournalsHeads) {
  sql("UPDATE audit_identity SET log_id = randomblob(16)");
  sql("UPDATE audit_state SET head_seq = 7, head_hash = (SELECT hash FROM audit_events WHERE "
      "seq = 7)");
  sql("DELETE FROM audit_events WHERE seq > 7");
  auto report = log_->checkWitnessed({}, witness_.heads);
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->consistent);
  EXPECT_NE(report->problem.find("under another identity"), std::string::npos) << report->problem;
}

// The whole log rewritten (every hash recomputed) under a new identity: none of the
// journal's heads is a record any more, but the journal saw the other log at this path
// while this one's records say it was being written.
TEST_F(WitnessedLog, ARewrittenLogUnderANewIdentityIsFound) {
  std::vector<WitnessedHead> old = witness_.heads;
  for (auto& h : old) {
    h.hash[0] ^= 0xff;                   // what a rewrite does to every hash
    h.seenAt = kBase + 100 * h.seq + 1;  // each head seen as its record was written
  }
  auto report = log_->checkWitnessed({}, old);
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->consistent);
  EXPECT_NE(report->problem.find("another audit log written to this database"), std::string::npos)
      << report->problem;
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
