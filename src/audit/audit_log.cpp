// The audit log: append, verify, witness check and retention purge of one hash chain.
// Longer than the project's ~600-line guide on purpose: every operation here reads or writes
// the same record format under the same hash rule (computeHash, readRecord, the purge claim),
// and a reviewer checks those rules together; splitting would put the chain's rules in two
// places.
#include "facegate/audit/audit_log.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sodium.h>

#include "facegate/core/secure_memory.hpp"

namespace facegate::audit {
namespace {

constexpr std::string_view kDomain = "facegate-audit-v1";

class Hasher {
 public:
  Hasher() {
    ensureSodium();
    crypto_hash_sha256_init(&state_);
    bytes(kDomain);
  }
  void u64(std::uint64_t v) {
    std::array<std::uint8_t, 8> b{};
    for (int i = 7; i >= 0; --i) {
      b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v & 0xff);
      v >>= 8;
    }
    raw(b.data(), b.size());
  }
  // Length-prefixed, so that field boundaries cannot be shifted.
  void bytes(std::string_view s) {
    u64(s.size());
    raw(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  }
  void present(bool p) {
    const std::uint8_t flag = p ? 1 : 0;
    raw(&flag, 1);
  }
  void raw(const std::uint8_t* p, std::size_t n) { crypto_hash_sha256_update(&state_, p, n); }
  Hash finish() {
    Hash out{};
    crypto_hash_sha256_final(&state_, out.data());
    return out;
  }

 private:
  crypto_hash_sha256_state state_{};
};

// toHash() reads a malformed value as zeros, which is the anchor's hash before any purge:
// verify() must check the size first, or such an edit would pass.
bool isHash(const store::Statement& q, int col) {
  return !q.isNull(col) && q.blob(col).size() == Hash{}.size();
}

Hash toHash(const std::vector<std::uint8_t>& blob) {
  Hash h{};
  if (blob.size() == h.size()) {
    std::copy(blob.begin(), blob.end(), h.begin());
  }
  return h;
}

std::optional<std::string> optText(const store::Statement& s, int col) {
  return s.isNull(col) ? std::nullopt : std::optional<std::string>(s.text(col));
}

// "key=value key=value" (a purge record's detail) -> the value of `key`.
std::optional<std::string_view> detailValue(std::string_view detail, std::string_view key) {
  std::size_t pos = 0;
  while (pos < detail.size()) {
    const std::size_t end = std::min(detail.find(' ', pos), detail.size());
    const std::string_view token = detail.substr(pos, end - pos);
    if (token.size() > key.size() && token.substr(0, key.size()) == key &&
        token[key.size()] == '=') {
      return token.substr(key.size() + 1);
    }
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<std::int64_t> detailInteger(std::string_view detail, std::string_view key) {
  const auto text = detailValue(detail, key);
  if (!text || text->empty() || text->size() > 19) {
    return std::nullopt;
  }
  std::int64_t v = 0;
  const bool negative = text->front() == '-';
  for (const char c : text->substr(negative ? 1 : 0)) {
    // The text is the database's, which an attacker may have written: no overflow.
    if (c < '0' || c > '9' || __builtin_mul_overflow(v, 10, &v) ||
        __builtin_add_overflow(v, c - '0', &v)) {
      return std::nullopt;
    }
  }
  return negative ? -v : v;
}

// What a purge record says it did (detail written by AuditLog::purge). Records of an older
// facegate carry only removed, up_to_seq and cutoff (`legacy`).
struct PurgeClaim {
  std::int64_t seq = 0;
  std::int64_t at = 0;
  std::int64_t fromSeq = 0;
  std::int64_t upToSeq = 0;
  std::string anchorHash;
  std::int64_t cutoff = 0;
  std::int64_t retentionDays = 0;
  bool legacy = false;
};

std::optional<PurgeClaim> readPurgeClaim(const AuditRecord& r) {
  const std::string_view d = r.event.detail;
  PurgeClaim c;
  c.seq = r.seq;
  c.at = r.event.at;
  const auto upTo = detailInteger(d, "up_to_seq");
  const auto cutoff = detailInteger(d, "cutoff");
  const auto removed = detailInteger(d, "removed");
  if (!upTo || !cutoff || !removed) {
    return std::nullopt;
  }
  c.upToSeq = *upTo;
  c.cutoff = *cutoff;
  const auto from = detailInteger(d, "from_seq");
  const auto hash = detailValue(d, "anchor_hash");
  const auto days = detailInteger(d, "retention_days");
  // Seqs are positive; anything else (or arithmetic that would overflow) is not a purge
  // facegate wrote.
  if (*upTo < 1 || *removed < 1 || *removed > *upTo) {
    return std::nullopt;
  }
  if (!from && !hash && !days) {
    c.legacy = true;
    c.fromSeq = *upTo - *removed + 1;
    return c;
  }
  if (!from || !hash || !days || *from < 1 || *from > *upTo || *removed != *upTo - *from + 1) {
    return std::nullopt;
  }
  c.fromSeq = *from;
  c.anchorHash = std::string(*hash);
  c.retentionDays = *days;
  return c;
}

struct ChainState {
  std::int64_t anchorSeq = 0;
  Hash anchorHash{};
  std::int64_t headSeq = 0;
  Hash headHash{};
};

Result<ChainState> readState(store::Database& db) {
  auto q = db.prepare(
      "SELECT anchor_seq, anchor_hash, head_seq, head_hash FROM audit_state WHERE id = 1");
  if (!q) {
    return tl::unexpected(q.error());
  }
  auto row = q->step();
  if (!row) {
    return tl::unexpected(row.error());
  }
  if (!*row) {
    return fail(ErrorCode::StorageCorrupt, "the audit log's state row is missing");
  }
  ChainState state{q->integer(0), toHash(q->blob(1)), q->integer(2), toHash(q->blob(3))};
  // The chain runs from anchor + 1 to head and grows by one: anything else is an edited
  // file (and a head at the largest integer would overflow the next seq).
  if (state.anchorSeq < 0 || state.headSeq < state.anchorSeq ||
      state.headSeq == std::numeric_limits<std::int64_t>::max() || !isHash(*q, 1) ||
      !isHash(*q, 3)) {
    return fail(ErrorCode::StorageCorrupt,
                fmt::format("the audit log's state is impossible (anchor record {}, head record "
                            "{}, or a hash that is not 32 bytes): the database was edited",
                            state.anchorSeq, state.headSeq));
  }
  return state;
}

constexpr std::string_view kSelectRecords =
    "SELECT seq, at, actor, action, subject, badge_ref, outcome, distance, detail, "
    "prev_hash, hash FROM audit_events";

AuditRecord readRecord(const store::Statement& q) {
  AuditRecord r;
  r.seq = q.integer(0);
  r.event.at = q.integer(1);
  r.event.actor = q.text(2);
  r.event.action = q.text(3);
  r.event.subject = optText(q, 4);
  if (!q.isNull(5)) {
    r.event.badgeRef = std::bit_cast<std::uint64_t>(q.integer(5));
  }
  r.event.outcome = optText(q, 6);
  if (!q.isNull(7)) {
    r.event.distance = q.real(7);
  }
  r.event.detail = q.text(8);
  r.prevHash = toHash(q.blob(9));
  r.hash = toHash(q.blob(10));
  return r;
}

}  // namespace

std::string formatTime(std::int64_t t) {
  if (t < 0 || t > 253'402'300'799) {  // beyond year 9999: gmtime cannot say
    return fmt::format("@{}", t);
  }
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC", fmt::gmtime(static_cast<std::time_t>(t)));
}

std::string toHex(const Hash& hash) {
  std::string out;
  out.reserve(64);
  for (const auto b : hash) {
    out += fmt::format("{:02x}", b);
  }
  return out;
}

Hash AuditLog::computeHash(std::int64_t seq, const AuditEvent& e, const Hash& prevHash) {
  Hasher h;
  h.u64(static_cast<std::uint64_t>(seq));
  h.u64(static_cast<std::uint64_t>(e.at));
  h.bytes(e.actor);
  h.bytes(e.action);
  h.present(e.subject.has_value());
  if (e.subject) {
    h.bytes(*e.subject);
  }
  h.present(e.badgeRef.has_value());
  if (e.badgeRef) {
    h.u64(*e.badgeRef);
  }
  h.present(e.outcome.has_value());
  if (e.outcome) {
    h.bytes(*e.outcome);
  }
  h.present(e.distance.has_value());
  if (e.distance) {
    h.u64(std::bit_cast<std::uint64_t>(*e.distance));  // exact: SQLite REAL round-trips
  }
  h.bytes(e.detail);
  h.raw(prevHash.data(), prevHash.size());
  return h.finish();
}

Result<std::int64_t> AuditLog::append(const AuditEvent& original) {
  // The record is hashed as it will read back from SQLite, or an untouched record would
  // fail verify(): SQLite stores a NaN REAL as NULL, and -0.0 as the integer 0 (read back
  // as +0.0).
  AuditEvent event = original;
  if (event.distance && std::isnan(*event.distance)) {
    event.distance.reset();
  } else if (event.distance && *event.distance == 0.0) {
    event.distance = 0.0;
  }
  std::int64_t seq = 0;
  auto ok = db_.transaction([&]() -> Result<void> {
    auto state = readState(db_);
    if (!state) {
      return tl::unexpected(state.error());
    }
    seq = state->headSeq + 1;
    const Hash hash = computeHash(seq, event, state->headHash);
    auto insert = db_.prepare(
        "INSERT INTO audit_events (seq, at, actor, action, subject, badge_ref, outcome, "
        "distance, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    if (!insert) {
      return tl::unexpected(insert.error());
    }
    std::optional<std::int64_t> serial;
    if (event.badgeRef) {
      serial = std::bit_cast<std::int64_t>(*event.badgeRef);
    }
    insert->bind(1, seq)
        .bind(2, event.at)
        .bind(3, std::string_view(event.actor))
        .bind(4, std::string_view(event.action))
        .bind(5, event.subject)
        .bind(6, serial)
        .bind(7, event.outcome)
        .bind(8, event.distance)
        .bind(9, std::string_view(event.detail))
        .bind(10, std::span<const std::uint8_t>(state->headHash))
        .bind(11, std::span<const std::uint8_t>(hash));
    if (auto r = insert->run(); !r) {
      return r;
    }
    auto head = db_.prepare("UPDATE audit_state SET head_seq = ?1, head_hash = ?2 WHERE id = 1");
    if (!head) {
      return tl::unexpected(head.error());
    }
    head->bind(1, seq).bind(2, std::span<const std::uint8_t>(hash));
    if (auto r = head->run(); !r) {
      return r;
    }
    if (witness_ != nullptr) {
      if (!logId_) {
        if (auto id = logId(); id) {
          logId_ = *id;
        }
      }
      if (logId_) {
        // Only a committed head is witnessed: if the caller's transaction rolls back, this
        // never runs (and the next record reuses the seq with another hash).
        db_.afterCommit([this, witnessed = WitnessedHead{*logId_, seq, hash, db_.path().string(),
                                                         0}] { witness_->attest(witnessed); });
      }
    }
    return {};
  });
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  return seq;
}

Result<LogId> AuditLog::logId() {
  auto q = db_.prepare("SELECT log_id FROM audit_identity WHERE id = 1");
  if (!q) {
    return tl::unexpected(q.error());
  }
  auto row = q->step();
  if (!row) {
    return tl::unexpected(row.error());
  }
  if (!*row || q->isNull(0) || q->blob(0).size() != LogId{}.size()) {
    return fail(ErrorCode::StorageCorrupt,
                "the audit log's identity is missing or malformed: the database was edited");
  }
  LogId id{};
  const auto blob = q->blob(0);
  std::copy(blob.begin(), blob.end(), id.begin());
  return id;
}

Result<std::int64_t> AuditLog::append(const AuditEvent& event, std::chrono::milliseconds lockWait) {
  struct Restore {
    store::Database& db;
    std::chrono::milliseconds timeout;
    ~Restore() { db.setBusyTimeout(timeout); }
  } restore{db_, db_.busyTimeout()};
  db_.setBusyTimeout(lockWait);
  return append(event);
}

Result<ChainReport> AuditLog::verify() {
  auto state = readState(db_);
  if (!state) {
    return tl::unexpected(state.error());
  }
  ChainReport report;
  report.anchorSeq = state->anchorSeq;
  report.headSeq = state->headSeq;
  report.headHash = state->headHash;
  auto q = db_.prepare(std::string(kSelectRecords) + " ORDER BY seq");
  if (!q) {
    return tl::unexpected(q.error());
  }
  std::int64_t expectedSeq = state->anchorSeq + 1;
  Hash prev = state->anchorHash;
  std::optional<PurgeClaim> lastPurge;
  const auto broken = [&](std::int64_t seq, std::string problem) {
    report.intact = false;
    report.firstBadSeq = seq;
    report.problem = std::move(problem);
    return report;
  };
  for (;;) {
    auto row = q->step();
    if (!row) {
      return tl::unexpected(row.error());
    }
    if (!*row) {
      break;
    }
    const AuditRecord r = readRecord(*q);
    if (r.seq != expectedSeq) {
      return broken(
          expectedSeq,
          r.seq > expectedSeq
              ? fmt::format("record {} is missing (the next one is {})", expectedSeq, r.seq)
              : fmt::format("record {} appears before the anchor {}", r.seq, state->anchorSeq));
    }
    if (!isHash(*q, 9) || !isHash(*q, 10)) {
      return broken(r.seq, fmt::format("record {} has a hash or link that is not 32 bytes", r.seq));
    }
    if (r.seq > state->headSeq) {
      return broken(r.seq, fmt::format("record {} comes after the log's head (record {})", r.seq,
                                       state->headSeq));
    }
    if (r.prevHash != prev) {
      return broken(r.seq, fmt::format("record {} does not link to the record before it "
                                       "(records were removed, reordered or replaced)",
                                       r.seq));
    }
    if (computeHash(r.seq, r.event, r.prevHash) != r.hash) {
      return broken(r.seq, fmt::format("record {} was modified after it was written", r.seq));
    }
    if (r.event.action == "purge") {
      auto claim = readPurgeClaim(r);
      if (!claim) {
        return broken(r.seq, fmt::format("purge record {} does not say what it removed", r.seq));
      }
      // A purge states a retention facegate allows, and the cutoff it implies (checked
      // without overflow: the fields are the file's).
      std::int64_t impliedCutoff = 0;
      const bool retentionOk =
          claim->legacy ||
          (claim->retentionDays >= kMinRetentionDays && claim->retentionDays <= kMaxRetentionDays &&
           !__builtin_sub_overflow(claim->at, claim->retentionDays * std::int64_t{86'400},
                                   &impliedCutoff) &&
           claim->cutoff == impliedCutoff);
      if (claim->upToSeq < claim->fromSeq || claim->upToSeq >= r.seq || !retentionOk ||
          (lastPurge && claim->fromSeq != lastPurge->upToSeq + 1)) {
        return broken(r.seq, fmt::format("purge record {} is inconsistent (records {}-{}, "
                                         "retention {} days, cutoff {})",
                                         r.seq, claim->fromSeq, claim->upToSeq,
                                         claim->retentionDays, claim->cutoff));
      }
      lastPurge = claim;
    }
    prev = r.hash;
    ++expectedSeq;
    ++report.records;
  }
  const std::int64_t lastSeq = expectedSeq - 1;
  if (lastSeq != state->headSeq || prev != state->headHash) {
    return broken(lastSeq + 1,
                  lastSeq < state->headSeq
                      ? fmt::format("the log ends at record {} but its head is record {}: "
                                    "records were removed from the end",
                                    lastSeq, state->headSeq)
                      : fmt::format("the log's head (record {}) does not match its last "
                                    "record {}",
                                    state->headSeq, lastSeq));
  }
  // The anchor moves only by a purge, and the last purge record says where it put it: an
  // anchor moved by hand (records deleted from the start) is not accounted for.
  if (state->anchorSeq > 0) {
    if (!lastPurge) {
      return broken(state->anchorSeq + 1,
                    fmt::format("records up to {} are gone, but no purge record in the log says "
                                "that retention removed them: they were deleted by hand",
                                state->anchorSeq));
    }
    if (lastPurge->upToSeq != state->anchorSeq ||
        (!lastPurge->legacy && lastPurge->anchorHash != toHex(state->anchorHash))) {
      return broken(
          state->anchorSeq + 1,
          fmt::format("the log starts after record {}, but its last purge (record {}) "
                      "removed records {}-{}: records were deleted by hand",
                      state->anchorSeq, lastPurge->seq, lastPurge->fromSeq, lastPurge->upToSeq));
    }
    report.anchorSetBy = lastPurge->seq;
    report.retentionDays = static_cast<int>(lastPurge->retentionDays);
  } else if (lastPurge) {
    return broken(lastPurge->seq,
                  fmt::format("purge record {} says records {}-{} were removed, "
                              "but the log starts at record 1",
                              lastPurge->seq, lastPurge->fromSeq, lastPurge->upToSeq));
  }
  report.intact = true;
  return report;
}

Result<WitnessReport> AuditLog::checkWitnessed(const std::vector<WitnessedHead>& heads,
                                               const std::vector<WitnessedHead>& others) {
  auto state = readState(db_);
  if (!state) {
    return tl::unexpected(state.error());
  }
  WitnessReport report;
  auto hashOf = db_.prepare("SELECT hash FROM audit_events WHERE seq = ?1");
  if (!hashOf) {
    return tl::unexpected(hashOf.error());
  }
  const auto inconsistent = [&](std::string problem) {
    report.consistent = false;
    report.problem = std::move(problem);
    return report;
  };
  // The hash record `seq` has now, if the log holds it (anchor + 1 .. head).
  const auto recordedHash = [&](std::int64_t seq) -> Result<std::optional<Hash>> {
    if (seq <= state->anchorSeq || seq > state->headSeq) {
      return std::optional<Hash>();
    }
    hashOf->reset();
    hashOf->bind(1, seq);
    auto row = hashOf->step();
    if (!row) {
      return tl::unexpected(row.error());
    }
    if (!*row || !isHash(*hashOf, 0)) {
      return std::optional<Hash>();
    }
    return std::optional<Hash>(toHash(hashOf->blob(0)));
  };
  // Heads seen at this path under another identity. If one of them is a record of this log,
  // hash for hash, it is this very chain under another id: the id was changed (nothing of
  // facegate does that), so that the journal's heads would no longer be found.
  for (const auto& o : others) {
    auto held = recordedHash(o.seq);
    if (!held) {
      return tl::unexpected(held.error());
    }
    if (*held && **held == o.hash) {
      return inconsistent(fmt::format(
          "the journal saw record {} of this log on {} under another identity ({}): the log's "
          "identity in the database was changed",
          o.seq, formatTime(o.seenAt), toHex(o.log)));
    }
    ++report.otherLogs;
    report.otherLatestAt = std::max(report.otherLatestAt, o.seenAt);
  }
  // Another chain at this path, written while this one already had records: two logs do not
  // take turns in one file; this one was rewritten, or put in the other's place. (A database
  // replaced by a new one starts after the old one's last head.)
  if (report.otherLogs > 0) {
    auto first = db_.prepare("SELECT min(at) FROM audit_events");
    if (!first) {
      return tl::unexpected(first.error());
    }
    if (auto r = first->step(); !r) {
      return tl::unexpected(r.error());
    }
    if (!first->isNull(0) && report.otherLatestAt > first->integer(0) + kFutureToleranceS) {
      return inconsistent(fmt::format(
          "the journal saw another audit log written to this database on {}, when this log's "
          "records say it was already being written (its first record is dated {}): this log "
          "was rewritten, or put in the other's place",
          formatTime(report.otherLatestAt), formatTime(first->integer(0))));
    }
  }
  for (const auto& h : heads) {
    if (h.seq > report.latestSeq) {
      report.latestSeq = h.seq;
      report.latestSeenAt = h.seenAt;
    }
  }
  if (report.latestSeq > state->headSeq) {
    return inconsistent(
        fmt::format("the journal saw record {} on {}, but the log ends at record {}: records were "
                    "removed from the end (or the database was put back from an older copy)",
                    report.latestSeq, formatTime(report.latestSeenAt), state->headSeq));
  }
  for (const auto& h : heads) {
    if (h.seq < state->anchorSeq) {
      ++report.purged;
      continue;
    }
    Hash recorded = state->anchorHash;
    if (h.seq > state->anchorSeq) {
      auto held = recordedHash(h.seq);
      if (!held) {
        return tl::unexpected(held.error());
      }
      if (!*held) {
        return inconsistent(fmt::format("record {}, which the journal saw on {}, is missing", h.seq,
                                        formatTime(h.seenAt)));
      }
      recorded = **held;
    }
    if (recorded != h.hash) {
      return inconsistent(fmt::format(
          "record {} is not the one the journal saw on {}: the log was rewritten from there or "
          "before",
          h.seq, formatTime(h.seenAt)));
    }
    ++report.checked;
  }
  return report;
}

Result<FutureDated> AuditLog::futureDated(std::int64_t now) {
  auto q = db_.prepare("SELECT count(*), coalesce(max(at), 0) FROM audit_events WHERE at > ?1");
  if (!q) {
    return tl::unexpected(q.error());
  }
  q->bind(1, now > std::numeric_limits<std::int64_t>::max() - kFutureToleranceS
                 ? std::numeric_limits<std::int64_t>::max()
                 : now + kFutureToleranceS);
  if (auto r = q->step(); !r) {
    return tl::unexpected(r.error());
  }
  return FutureDated{q->integer(0), q->integer(1)};
}

Result<PurgeReport> AuditLog::purge(int retentionDays, std::int64_t now, const std::string& actor) {
  if (retentionDays < kMinRetentionDays || retentionDays > kMaxRetentionDays) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("a retention of {} days is not allowed (at least {} day)",
                            retentionDays, kMinRetentionDays));
  }
  const std::int64_t cutoff = now - std::int64_t{retentionDays} * 86'400;
  const std::int64_t future = now + kFutureToleranceS;
  PurgeReport report;
  auto ok = db_.transaction([&]() -> Result<void> {
    // The last record dated before the cutoff that no record dated within the retention
    // precedes (records dated in the future do not stop it; see the header).
    auto last = db_.prepare(
        "SELECT coalesce(max(seq), 0), "
        "  (SELECT count(*) FROM audit_events f WHERE f.seq <= coalesce(max(e.seq), 0) "
        "   AND f.at > ?2) "
        "FROM audit_events e WHERE e.at < ?1 AND e.seq < coalesce("
        "  (SELECT min(seq) FROM audit_events WHERE at >= ?1 AND at <= ?2), "
        "  9223372036854775807)");
    if (!last) {
      return tl::unexpected(last.error());
    }
    last->bind(1, cutoff).bind(2, future);
    if (auto r = last->step(); !r) {
      return tl::unexpected(r.error());
    }
    const std::int64_t lastSeq = last->integer(0);
    const std::int64_t futureRemoved = last->integer(1);
    auto state = readState(db_);
    if (!state) {
      return tl::unexpected(state.error());
    }
    if (lastSeq <= state->anchorSeq) {
      return {};
    }
    auto hashOf = db_.prepare("SELECT hash FROM audit_events WHERE seq = ?1");
    if (!hashOf) {
      return tl::unexpected(hashOf.error());
    }
    hashOf->bind(1, lastSeq);
    if (auto r = hashOf->step(); !r || !*r || !isHash(*hashOf, 0)) {
      return fail(ErrorCode::StorageCorrupt,
                  fmt::format("audit record {} is missing; run facegate audit verify", lastSeq));
    }
    const Hash anchorHash = toHash(hashOf->blob(0));
    auto del = db_.prepare("DELETE FROM audit_events WHERE seq <= ?1");
    if (!del) {
      return tl::unexpected(del.error());
    }
    del->bind(1, lastSeq);
    if (auto r = del->run(); !r) {
      return r;
    }
    report.removed = lastSeq - state->anchorSeq;
    report.removedFutureDated = futureRemoved;
    auto anchor =
        db_.prepare("UPDATE audit_state SET anchor_seq = ?1, anchor_hash = ?2 WHERE id = 1");
    if (!anchor) {
      return tl::unexpected(anchor.error());
    }
    anchor->bind(1, lastSeq).bind(2, std::span<const std::uint8_t>(anchorHash));
    if (auto r = anchor->run(); !r) {
      return r;
    }
    // The record that authorises the new anchor (verify() checks it accounts for it).
    AuditEvent purgeEvent;
    purgeEvent.at = now;
    purgeEvent.actor = actor;
    purgeEvent.action = "purge";
    purgeEvent.detail = fmt::format(
        "removed={} from_seq={} up_to_seq={} anchor_hash={} cutoff={} retention_days={} "
        "future_dated_removed={}",
        report.removed, state->anchorSeq + 1, lastSeq, toHex(anchorHash), cutoff, retentionDays,
        futureRemoved);
    if (auto r = append(purgeEvent); !r) {
      return tl::unexpected(r.error());
    }
    return {};
  });
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  auto remaining = futureDated(now);
  if (!remaining) {
    return tl::unexpected(remaining.error());
  }
  report.remainingFutureDated = *remaining;
  return report;
}

Result<std::vector<AuditRecord>> AuditLog::records(std::int64_t afterSeq, std::int64_t limit) {
  auto q = db_.prepare(std::string(kSelectRecords) + " WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!q) {
    return tl::unexpected(q.error());
  }
  q->bind(1, afterSeq).bind(2, limit);
  std::vector<AuditRecord> out;
  for (;;) {
    auto row = q->step();
    if (!row) {
      return tl::unexpected(row.error());
    }
    if (!*row) {
      return out;
    }
    out.push_back(readRecord(*q));
  }
}

}  // namespace facegate::audit
