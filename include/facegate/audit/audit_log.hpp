#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "facegate/core/error.hpp"
#include "facegate/store/database.hpp"

namespace facegate::audit {

using Hash = std::array<std::uint8_t, 32>;

// What happened, by whom, to what. Never pixels, embeddings, secrets or a pupil's school
// id or name: a pupil is named by the random pseudonym `subject` (pupils.audit_ref), which
// stops pointing at anybody once the pupil is erased.
struct AuditEvent {
  std::int64_t at = 0;  // unix seconds
  std::string actor;    // "enrolment-desk", or the gate's id
  std::string action;   // enrol, badge-issue, revoke, erase, purge, passage, ...
  std::optional<std::string> subject;
  std::optional<std::uint64_t> badgeSerial;
  std::optional<std::string> outcome;  // for passages: GRANTED, MISMATCH, ...
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
  std::int64_t anchorSeq = 0;    // events up to here were purged by retention
  std::int64_t headSeq = 0;
  Hash headHash{};
};

// The append-only, hash-chained audit log in a facegate database. Each record's hash is
// SHA-256 over a canonical encoding of its fields and the previous record's hash; the
// chain's anchor (last purged record) and head are kept in audit_state, so editing,
// deleting, reordering or truncating records is detected by verify(). Someone able to
// rewrite the whole file can recompute every hash: note the head hash printed by
// `facegate audit verify` (and in the journal) somewhere else to catch that too.
// Borrows the Database; one log per connection.
class AuditLog {
 public:
  explicit AuditLog(store::Database& db) : db_(db) {}

  // Appends one event; joins the caller's transaction if one is open (so an action and its
  // audit record commit together), otherwise runs in its own. Returns the new seq.
  Result<std::int64_t> append(const AuditEvent& event);
  // The same, waiting at most `lockWait` (0: not at all) for another connection's write lock
  // instead of the connection's busy timeout, which is restored afterwards: for the gate,
  // whose frame loop must not stall on a database another program keeps locked.
  Result<std::int64_t> append(const AuditEvent& event, std::chrono::milliseconds lockWait);

  // Walks the whole chain from the anchor to the head.
  Result<ChainReport> verify();

  // Retention: deletes the oldest records, up to (not including) the first one at or after
  // `cutoff`, moves the anchor to the last deleted one, and appends a "purge" record saying
  // how many were removed. Returns that count.
  Result<std::int64_t> purgeBefore(std::int64_t cutoff, std::int64_t now, const std::string& actor);

  // The records with seq > afterSeq, oldest first, at most `limit`.
  Result<std::vector<AuditRecord>> records(std::int64_t afterSeq, std::int64_t limit);

  // The hash a record must have (exposed for tests and tools).
  static Hash computeHash(std::int64_t seq, const AuditEvent& event, const Hash& prevHash);

 private:
  store::Database& db_;
};

std::string toHex(const Hash& hash);

}  // namespace facegate::audit
