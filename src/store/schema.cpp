// facegate's database schema, as forward-only migrations. Never edit a released step: add
// a new one. Each step runs in one transaction with its PRAGMA user_version update.
#include "facegate/store/database.hpp"

namespace facegate::store {
namespace {

// Version 1: the registry. Pupils are known by the school's opaque id only; a display name
// is optional and never needed by the gate. Templates exist only sealed, one per badge,
// under a key derived from a secret that is printed in the badge and never stored here.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE pupils (
  pupil_id     TEXT PRIMARY KEY CHECK (length(pupil_id) BETWEEN 1 AND 32),
  display_name TEXT,
  minor        INTEGER NOT NULL CHECK (minor IN (0, 1)),
  -- A random pseudonym: the audit log names pupils by it, so erasing this row leaves the
  -- log intact (hash chain) yet no longer linkable to the pupil.
  audit_ref    TEXT NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE enrolments (
  pupil_id             TEXT PRIMARY KEY REFERENCES pupils(pupil_id) ON DELETE CASCADE,
  consent_ref          TEXT NOT NULL CHECK (length(consent_ref) BETWEEN 1 AND 128),
  guardian_consent_ref TEXT CHECK (guardian_consent_ref IS NULL
                                   OR length(guardian_consent_ref) BETWEEN 1 AND 128),
  consented_at         INTEGER NOT NULL,
  template_version     INTEGER NOT NULL,
  storage_mode         TEXT NOT NULL CHECK (storage_mode IN ('sealed', 'on-badge'))
) STRICT;

CREATE TABLE badges (
  serial     INTEGER PRIMARY KEY,  -- the badge's random 64-bit serial, bit-cast to signed
  pupil_id   TEXT NOT NULL REFERENCES pupils(pupil_id) ON DELETE CASCADE,
  kind       TEXT NOT NULL CHECK (kind IN ('plain', 'sealed', 'on-badge')),
  issued_at  INTEGER NOT NULL,
  expires_at INTEGER NOT NULL CHECK (expires_at > issued_at),
  revoked_at INTEGER
) STRICT;
CREATE INDEX badges_by_pupil ON badges (pupil_id);

CREATE TABLE sealed_templates (
  badge_serial     INTEGER PRIMARY KEY REFERENCES badges(serial) ON DELETE CASCADE,
  template_version INTEGER NOT NULL,
  nonce            BLOB NOT NULL CHECK (length(nonce) = 24),
  ciphertext       BLOB NOT NULL
) STRICT;
)sql";

// Version 2: the hash-chained audit log. Each event's hash covers its content and the
// previous event's hash. audit_state keeps the chain's anchor (the last purged event, so
// retention can delete old events without breaking verification) and its head (so removing
// events from the end is detected too).
constexpr std::string_view kV2 = R"sql(
CREATE TABLE audit_events (
  seq          INTEGER PRIMARY KEY,
  at           INTEGER NOT NULL,
  actor        TEXT NOT NULL,
  action       TEXT NOT NULL,
  subject      TEXT,     -- a pupil's audit_ref, never the school id or a name
  badge_serial INTEGER,
  outcome      TEXT,
  distance     REAL,
  detail       TEXT NOT NULL DEFAULT '',
  prev_hash    BLOB NOT NULL CHECK (length(prev_hash) = 32),
  hash         BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;
CREATE INDEX audit_events_by_time ON audit_events (at);

CREATE TABLE audit_state (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  anchor_seq  INTEGER NOT NULL,
  anchor_hash BLOB NOT NULL CHECK (length(anchor_hash) = 32),
  head_seq    INTEGER NOT NULL,
  head_hash   BLOB NOT NULL CHECK (length(head_hash) = 32)
) STRICT;
INSERT INTO audit_state VALUES (1, 0, zeroblob(32), 0, zeroblob(32));
)sql";

// Version 3: nothing in the audit log links a passage to a badge once its pupil is erased,
// and the log can be checked against a store outside this file.
// - audit_keys: one random key per pupil; audit records name a badge by a keyed pseudonym of
//   its serial (audit/badge_ref.hpp), never by the serial printed in the badge. The key is
//   deleted with the pupil (ON DELETE CASCADE, overwritten by secure_delete), after which
//   the pseudonym cannot be recomputed from the badge. The column is renamed to say so.
//   Records written before this version keep the serials they were written with (their
//   hashes cover them) until retention removes them.
// - audit_identity: the log's random id, which the witness entries written to the systemd
//   journal carry (audit/witness.hpp), so that `audit verify` finds this log's heads there.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE audit_keys (
  pupil_id      TEXT PRIMARY KEY REFERENCES pupils(pupil_id) ON DELETE CASCADE,
  badge_ref_key BLOB NOT NULL CHECK (length(badge_ref_key) = 32)
) STRICT;
INSERT INTO audit_keys (pupil_id, badge_ref_key) SELECT pupil_id, randomblob(32) FROM pupils;

ALTER TABLE audit_events RENAME COLUMN badge_serial TO badge_ref;

CREATE TABLE audit_identity (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  log_id BLOB NOT NULL CHECK (length(log_id) = 16)
) STRICT;
INSERT INTO audit_identity VALUES (1, randomblob(16));
)sql";

constexpr Migration kMigrations[] = {{1, kV1}, {2, kV2}, {3, kV3}};

}  // namespace

std::span<const Migration> schemaMigrations() {
  return kMigrations;
}

}  // namespace facegate::store
