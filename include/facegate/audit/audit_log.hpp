#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "facegate/audit/witness.hpp"
#include "facegate/core/error.hpp"
#include "facegate/store/database.hpp"

namespace facegate::audit {

// What happened, by whom, to what. Never pixels, embeddings, secrets, a pupil's school id or
// name, nor a badge's serial: a pupil is named by the random pseudonym `subject`
// (pupils.audit_ref) and a badge by the keyed pseudonym `badgeRef` of its serial
// (badge_ref.hpp); both stop pointing at anybody once the pupil is erased.
struct AuditEvent {
  std::int64_t at = 0;  // unix seconds
  std::string actor;    // "desk:<login>", or the gate's id
  std::string action;   // enrol, badge-issue, revoke, erase, purge, passage, ...
  std::optional<std::string> subject;
  std::optional<std::uint64_t> badgeRef;  // badgeRef(pupil's key, serial); none if unknown
  std::optional<std::string> outcome;     // for passages: GRANTED, MISMATCH, ...
  // Recorded as SQLite reads it back: a NaN as absent, -0.0 as 0.0.
  std::optional<double> distance;
  std::string detail;  // short key=value text, no personal data
};

struct AuditRecord {
  std::int64_t seq = 0;
  AuditEvent event;
  Hash prevHash{};
  Hash hash{};
};

struct ChainReport {
  bool intact = false;
  std::int64_t records = 0;      // records checked
  std::int64_t firstBadSeq = 0;  // 0 when intact
  std::string problem;           // one sentence: what is wrong where
  std::int64_t anchorSeq = 0;    // records up to here were removed by retention ...
  std::int64_t anchorSetBy = 0;  // ... as the purge record with this seq says (0: none)
  int retentionDays = 0;         // the retention that purge applied
  std::int64_t headSeq = 0;
  Hash headHash{};
};

// What the log's heads seen by a witness (witness.hpp) say about it.
struct WitnessReport {
  bool consistent = true;
  std::string problem;             // when not consistent: one sentence
  std::int64_t checked = 0;        // witnessed heads compared with a record or the anchor
  std::int64_t purged = 0;         // witnessed heads older than the anchor (not checkable)
  std::int64_t latestSeq = 0;      // the most recent witnessed head (0: none)
  std::int64_t latestSeenAt = 0;   // when the witness saw it
  std::int64_t otherLogs = 0;      // heads of other logs seen at the same database path
  std::int64_t otherLatestAt = 0;  // when the latest of those was seen
};

// Records dated after the time they were examined: the clock was wrong when they were
// written (a clock problem the school must hear about: retention and every date around them
// are suspect).
struct FutureDated {
  std::int64_t count = 0;
  std::int64_t latest = 0;  // the latest such date
};

// What a retention purge did.
struct PurgeReport {
  std::int64_t removed = 0;
  std::int64_t removedFutureDated = 0;  // removed although dated in the future (see below)
  FutureDated remainingFutureDated;     // still in the log, dated in the future
};

// The append-only, hash-chained audit log in a facegate database. Each record's hash is
// SHA-256 over a canonical encoding of its fields and the previous record's hash; the
// chain's anchor (last purged record) and head are kept in audit_state, so editing,
// deleting, reordering or truncating records is detected by verify().
//
// The anchor only moves by a retention purge, and every purge appends a chained "purge"
// record naming the range it removed, the anchor's hash, the cutoff and the retention in
// force: verify() refuses an anchor that the last purge record does not account for. The
// head is checked by a witness outside the file (witness.hpp: the systemd journal), which
// sees every committed head; checkWitnessed() compares. Someone able to rewrite the whole
// file can still recompute every hash: only the witness catches that.
// Borrows the Database and the witness (nullptr: none); one log per connection.
class AuditLog {
 public:
  // Records dated more than this after "now" are dated in the future (the badges' clock
  // skew allowance).
  static constexpr std::int64_t kFutureToleranceS = 300;
  // The smallest retention a purge accepts (audit.retention_days' lower bound).
  static constexpr int kMinRetentionDays = 1;
  static constexpr int kMaxRetentionDays = 36'500;

  explicit AuditLog(store::Database& db, HeadWitness* witness = nullptr)
      : db_(db), witness_(witness) {}

  // Appends one event; joins the caller's transaction if one is open (so an action and its
  // audit record commit together), otherwise runs in its own. Returns the new seq. Once the
  // record is committed, the witness (if any) is told the new head.
  Result<std::int64_t> append(const AuditEvent& event);
  // The same, waiting at most `lockWait` (0: not at all) for another connection's write lock
  // instead of the connection's busy timeout, which is restored afterwards: for the gate,
  // whose frame loop must not stall on a database another program keeps locked.
  Result<std::int64_t> append(const AuditEvent& event, std::chrono::milliseconds lockWait);

  // Walks the whole chain from the anchor to the head, and checks that the last purge
  // record accounts for the anchor.
  Result<ChainReport> verify();

  // Compares the log with heads a witness saw (readJournalHeads: those of this log, and
  // `others`, of other logs written at the same path). A head the witness saw beyond the
  // log's head means records were removed from the end; a head whose record now has another
  // hash means the log was rewritten; a head of "another" log that is a record of this one
  // means the log's identity was changed; another log seen at this path after this log's
  // first record's date means this log was rewritten or swapped in. Another log seen only
  // before that (a database replaced by a new one) is counted, not a problem.
  Result<WitnessReport> checkWitnessed(const std::vector<WitnessedHead>& heads,
                                       const std::vector<WitnessedHead>& others);

  // Retention: removes the records older than `retentionDays` days before `now`, the
  // oldest first, and appends a "purge" record. The chain must stay contiguous, so the
  // records removed are a prefix: up to the last record dated before the cutoff that is
  // not preceded by a record dated within the retention. Records dated in the future (more
  // than kFutureToleranceS after `now`) do not stop it: written before records that are
  // older than the retention, they are older too, whatever their date says; they are
  // counted in the report, and those that remain are reported too. A clock set back (an
  // old date after recent ones) stops the purge there, as it cannot tell what is old.
  // `retentionDays` >= kMinRetentionDays.
  Result<PurgeReport> purge(int retentionDays, std::int64_t now, const std::string& actor);

  // The records dated more than kFutureToleranceS after `now`.
  Result<FutureDated> futureDated(std::int64_t now);

  // The records with seq > afterSeq, oldest first, at most `limit`.
  Result<std::vector<AuditRecord>> records(std::int64_t afterSeq, std::int64_t limit);

  // This log's identity (audit_identity.log_id), which its witness entries carry.
  Result<LogId> logId();

  // The hash a record must have (exposed for tests and tools).
  static Hash computeHash(std::int64_t seq, const AuditEvent& event, const Hash& prevHash);

 private:
  store::Database& db_;
  HeadWitness* witness_;
  std::optional<LogId> logId_;
};

// "2026-12-06 20:37:19 UTC" (an out-of-range time as "@<seconds>").
std::string formatTime(std::int64_t unixSeconds);

}  // namespace facegate::audit
