#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "facegate/core/error.hpp"

namespace facegate::audit {

using Hash = std::array<std::uint8_t, 32>;
// A log's random identity (audit_identity.log_id): the witness entries of one log carry it.
using LogId = std::array<std::uint8_t, 16>;

// What a witness saw: the committed head of log `log` was record `seq`, with hash `hash`.
struct WitnessedHead {
  LogId log{};
  std::int64_t seq = 0;
  Hash hash{};
  std::string database;     // the database file's path, as the writer opened it
  std::int64_t seenAt = 0;  // unix seconds, the witness's own clock (reading only)
};

// A store outside the database that keeps the audit log's successive heads, so that someone
// able to rewrite the database file (cut its end, recompute the whole chain) is caught by
// `facegate audit verify`, which compares the log with what the witness saw. The writer of
// the database must not be able to rewrite the witness: the systemd journal is one (written
// by journald, root's; the facegate user can only append).
//
// attest() is called after each commit that moved the head (store::Database::afterCommit),
// never for a transaction that rolled back. It is best effort and cheap: a witness that
// cannot be written must never stop the gate from deciding (the first failure is logged).
// Thread rules: one witness per AuditLog's thread, like the log.
class HeadWitness {
 public:
  virtual ~HeadWitness() = default;
  virtual void attest(const WitnessedHead& head) noexcept = 0;
};

// The systemd journal: one structured entry per head (MESSAGE_ID kHeadMessageId, fields
// FACEGATE_AUDIT_LOG, FACEGATE_AUDIT_SEQ, FACEGATE_AUDIT_HASH, FACEGATE_AUDIT_DB), sent with
// sd_journal_send to journald's socket. Without a journald (a developer's machine, a
// container) the entries are lost: `audit verify` then says that it found none.
class JournalWitness final : public HeadWitness {
 public:
  void attest(const WitnessedHead& head) noexcept override;

 private:
  bool warned_ = false;
};

// The journal entries' MESSAGE_ID (journalctl MESSAGE_ID=...).
inline constexpr const char* kHeadMessageId = "5f0a2c7e9b3d4e61a8c4f1d2e7b9a036";

// What the journal holds about the log `log` or the database `database`: every head entry of
// that log, and (in `others`) entries of other logs written for the same database path (the
// file was replaced by another one since). `journalDir`: read the journal files in that
// directory (a copy taken from the gate) instead of the local journal.
//
// Anyone on the machine can send an entry to the journal, but not choose the _UID that
// journald records with it. Only the database file's owner writes to it (store::Database
// refuses anyone else, root included), so only entries whose _UID is `writer` (the
// database's owner) are heads; others — forgeries meant to make `audit verify` fail, or to
// pass for heads — are counted in `foreign` and otherwise ignored.
struct JournalHeads {
  std::vector<WitnessedHead> heads;         // of this log, oldest first
  std::vector<WitnessedHead> others;        // of other logs at the same path, oldest first
  std::int64_t foreign = 0;                 // entries for this log or path from another uid
  std::optional<std::uint32_t> foreignUid;  // the first such entry's _UID
  std::string access;  // when the journal may hide entries from this user: why; else empty
};
Result<JournalHeads> readJournalHeads(const LogId& log, const std::string& database,
                                      std::uint32_t writer,
                                      const std::optional<std::filesystem::path>& journalDir);

std::string toHex(const Hash& hash);
std::string toHex(const LogId& id);

}  // namespace facegate::audit
