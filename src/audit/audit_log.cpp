#include "facegate/audit/audit_log.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

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
    "SELECT seq, at, actor, action, subject, badge_serial, outcome, distance, detail, "
    "prev_hash, hash FROM audit_events";

AuditRecord readRecord(const store::Statement& q) {
  AuditRecord r;
  r.seq = q.integer(0);
  r.event.at = q.integer(1);
  r.event.actor = q.text(2);
  r.event.action = q.text(3);
  r.event.subject = optText(q, 4);
  if (!q.isNull(5)) {
    r.event.badgeSerial = std::bit_cast<std::uint64_t>(q.integer(5));
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
  h.present(e.badgeSerial.has_value());
  if (e.badgeSerial) {
    h.u64(*e.badgeSerial);
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
        "INSERT INTO audit_events (seq, at, actor, action, subject, badge_serial, outcome, "
        "distance, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    if (!insert) {
      return tl::unexpected(insert.error());
    }
    std::optional<std::int64_t> serial;
    if (event.badgeSerial) {
      serial = std::bit_cast<std::int64_t>(*event.badgeSerial);
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
    return head->run();
  });
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  return seq;
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
  report.intact = true;
  return report;
}

Result<std::int64_t> AuditLog::purgeBefore(std::int64_t cutoff, std::int64_t now,
                                           const std::string& actor) {
  std::int64_t removed = 0;
  auto ok = db_.transaction([&]() -> Result<void> {
    // Only a prefix of the chain can go: stop at the first record at or after the cutoff,
    // even if a later one is older (a clock set back), so the chain stays contiguous.
    auto last = db_.prepare(
        "SELECT coalesce((SELECT min(seq) FROM audit_events WHERE at >= ?1) - 1, "
        "(SELECT max(seq) FROM audit_events), 0)");
    if (!last) {
      return tl::unexpected(last.error());
    }
    last->bind(1, cutoff);
    if (auto r = last->step(); !r) {
      return tl::unexpected(r.error());
    }
    const std::int64_t lastSeq = last->integer(0);
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
    if (auto r = hashOf->step(); !r || !*r) {
      return fail(ErrorCode::StorageCorrupt,
                  fmt::format("audit record {} is missing; run facegate audit verify", lastSeq));
    }
    const std::vector<std::uint8_t> anchorHash = hashOf->blob(0);
    auto del = db_.prepare("DELETE FROM audit_events WHERE seq <= ?1");
    if (!del) {
      return tl::unexpected(del.error());
    }
    del->bind(1, lastSeq);
    if (auto r = del->run(); !r) {
      return r;
    }
    removed = lastSeq - state->anchorSeq;
    auto anchor =
        db_.prepare("UPDATE audit_state SET anchor_seq = ?1, anchor_hash = ?2 WHERE id = 1");
    if (!anchor) {
      return tl::unexpected(anchor.error());
    }
    anchor->bind(1, lastSeq).bind(2, std::span<const std::uint8_t>(anchorHash));
    if (auto r = anchor->run(); !r) {
      return r;
    }
    AuditEvent purge;
    purge.at = now;
    purge.actor = actor;
    purge.action = "purge";
    purge.detail = fmt::format("removed={} up_to_seq={} cutoff={}", removed, lastSeq, cutoff);
    if (auto r = append(purge); !r) {
      return tl::unexpected(r.error());
    }
    return {};
  });
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  return removed;
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
