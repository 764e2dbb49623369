#include "facegate/enrolment/registry.hpp"

#include <algorithm>
#include <bit>

#include <fmt/format.h>
#include <sodium.h>

#include "facegate/audit/badge_ref.hpp"
#include "facegate/core/secure_memory.hpp"

namespace facegate::enrolment {
namespace {

constexpr std::int64_t kDay = 86'400;

std::string randomAuditRef() {
  ensureSodium();
  std::array<std::uint8_t, 12> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::string out = "p-";
  for (const auto b : bytes) {
    out += fmt::format("{:02x}", b);
  }
  return out;
}

std::int64_t toDb(std::uint64_t serial) {
  return std::bit_cast<std::int64_t>(serial);
}
std::uint64_t fromDb(std::int64_t serial) {
  return std::bit_cast<std::uint64_t>(serial);
}

bool isValidReference(std::string_view ref) {
  return !ref.empty() && ref.size() <= 128 &&
         std::all_of(ref.begin(), ref.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

badge::Badge newBadge(badge::BadgeKind kind, const std::string& pupilId, std::int64_t now,
                      std::int64_t validDays) {
  badge::Badge b;
  b.kind = kind;
  b.serial = badge::newBadgeSerial();
  b.pupilId = pupilId;
  b.issuedAt = now;
  b.expiresAt = now + validDays * kDay;
  return b;
}

// A kind read back from the database: its CHECK constraint admits only toString()'s names,
// so any other text is a row this code did not write.
Result<badge::BadgeKind> kindFromDb(const std::string& text, std::string_view column) {
  if (auto kind = badge::parseBadgeKind(text)) {
    return *kind;
  }
  return fail(ErrorCode::StorageCorrupt, fmt::format("{} holds an unknown badge kind", column));
}

}  // namespace

bool isValidPupilId(std::string_view id) {
  return !id.empty() && id.size() <= badge::kMaxPupilIdLength &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
         });
}

Result<std::string> Registry::ensurePupil(const std::string& pupilId,
                                          const std::optional<std::string>& name, bool minor,
                                          std::int64_t now) {
  auto find = db_.prepare("SELECT audit_ref FROM pupils WHERE pupil_id = ?1");
  if (!find) {
    return tl::unexpected(find.error());
  }
  find->bind(1, std::string_view(pupilId));
  auto row = find->step();
  if (!row) {
    return tl::unexpected(row.error());
  }
  // The pupil's badge pseudonym key (audit/badge_ref.hpp), dies with the pupil's row.
  const auto ensureKey = [&]() -> Result<void> {
    auto key = db_.prepare(
        "INSERT OR IGNORE INTO audit_keys (pupil_id, badge_ref_key) VALUES (?1, randomblob(32))");
    if (!key) {
      return tl::unexpected(key.error());
    }
    key->bind(1, std::string_view(pupilId));
    return key->run();
  };
  if (*row) {
    const std::string ref = find->text(0);
    if (auto r = ensureKey(); !r) {
      return tl::unexpected(r.error());
    }
    auto update = db_.prepare(
        "UPDATE pupils SET minor = ?2, display_name = coalesce(?3, display_name) WHERE pupil_id = "
        "?1");
    if (!update) {
      return tl::unexpected(update.error());
    }
    update->bind(1, std::string_view(pupilId)).bind(2, std::int64_t{minor}).bind(3, name);
    if (auto r = update->run(); !r) {
      return tl::unexpected(r.error());
    }
    return ref;
  }
  const std::string ref = randomAuditRef();
  auto insert = db_.prepare(
      "INSERT INTO pupils (pupil_id, display_name, minor, audit_ref, created_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!insert) {
    return tl::unexpected(insert.error());
  }
  insert->bind(1, std::string_view(pupilId))
      .bind(2, name)
      .bind(3, std::int64_t{minor})
      .bind(4, std::string_view(ref))
      .bind(5, now);
  if (auto r = insert->run(); !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = ensureKey(); !r) {
    return tl::unexpected(r.error());
  }
  return ref;
}

Result<std::optional<std::uint64_t>> Registry::badgeRef(std::uint64_t serial) const {
  auto q = db_.prepare(
      "SELECT k.badge_ref_key FROM badges b JOIN audit_keys k USING (pupil_id) "
      "WHERE b.serial = ?1");
  if (!q) {
    return tl::unexpected(q.error());
  }
  q->bind(1, toDb(serial));
  auto row = q->step();
  if (!row) {
    return tl::unexpected(row.error());
  }
  if (!*row) {
    return std::optional<std::uint64_t>();
  }
  std::vector<std::uint8_t> key = q->blob(0);
  if (key.size() != audit::BadgeRefKey{}.size()) {
    sodium_memzero(key.data(), key.size());
    return fail(ErrorCode::StorageCorrupt, "a pupil's audit key has the wrong size");
  }
  const std::uint64_t ref =
      audit::badgeRef(std::span<const std::uint8_t, 32>(key.data(), 32), serial);
  sodium_memzero(key.data(), key.size());
  return std::optional<std::uint64_t>(ref);
}

Result<void> Registry::insertBadge(const badge::Badge& b) {
  auto insert = db_.prepare(
      "INSERT INTO badges (serial, pupil_id, kind, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4, "
      "?5)");
  if (!insert) {
    return tl::unexpected(insert.error());
  }
  insert->bind(1, toDb(b.serial))
      .bind(2, std::string_view(b.pupilId))
      .bind(3, badge::toString(b.kind))
      .bind(4, b.issuedAt)
      .bind(5, b.expiresAt);
  return insert->run();
}

Result<void> Registry::revokeAllOf(const std::string& pupilId, std::int64_t now) {
  auto serials =
      db_.prepare("SELECT serial FROM badges WHERE pupil_id = ?1 AND revoked_at IS NULL");
  if (!serials) {
    return tl::unexpected(serials.error());
  }
  serials->bind(1, std::string_view(pupilId));
  std::vector<std::uint64_t> active;
  for (;;) {
    auto row = serials->step();
    if (!row) {
      return tl::unexpected(row.error());
    }
    if (!*row) {
      break;
    }
    active.push_back(fromDb(serials->integer(0)));
  }
  for (const auto serial : active) {
    if (auto r = revokeBadge(serial, now); !r) {
      return r;
    }
  }
  return {};
}

Result<badge::Badge> Registry::enrol(const EnrolmentRequest& request, const face::Embedding& templ,
                                     const badge::TemplateKey* templateKey,
                                     const BadgeDelivery& deliver) {
  if (!isValidPupilId(request.pupilId)) {
    // Not quoted: an invalid id may hold control characters meant for a terminal.
    return fail(ErrorCode::InvalidArgument, "the pupil id is not 1 to 32 of A-Z a-z 0-9 . _ -");
  }
  if (!isValidReference(request.consentRef)) {
    return fail(ErrorCode::Refused,
                "a consent reference (1 to 128 printable characters) is required");
  }
  if (request.minor && !request.guardianConsentRef) {
    return fail(ErrorCode::Refused,
                fmt::format("pupil {} is a minor: a guardian's consent reference is required",
                            request.pupilId));
  }
  if (request.guardianConsentRef && !isValidReference(*request.guardianConsentRef)) {
    return fail(ErrorCode::InvalidArgument,
                "the guardian consent reference must be 1 to 128 printable characters");
  }
  if (request.validDays < 1 || request.validDays > 3660) {
    return fail(ErrorCode::InvalidArgument, "badge validity must be 1 to 3660 days");
  }
  if (!badge::isVolunteerKind(request.mode)) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("a volunteer's template is stored sealed or on-badge, not {}",
                            badge::toString(request.mode)));
  }
  if (request.mode == badge::BadgeKind::OnBadge && templateKey == nullptr) {
    return fail(ErrorCode::InvalidArgument, "on-badge mode needs the school's template key");
  }

  badge::Badge issued = newBadge(request.mode, request.pupilId, request.now, request.validDays);
  auto ok = db_.transaction([&]() -> Result<void> {
    auto existing = db_.prepare("SELECT 1 FROM enrolments WHERE pupil_id = ?1");
    if (!existing) {
      return tl::unexpected(existing.error());
    }
    existing->bind(1, std::string_view(request.pupilId));
    auto found = existing->step();
    if (!found) {
      return tl::unexpected(found.error());
    }
    if (*found && !request.replace) {
      return fail(ErrorCode::AlreadyExists,
                  fmt::format("pupil {} is already enrolled; use --replace to re-enrol (their "
                              "current badges are then revoked)",
                              request.pupilId));
    }
    auto ref = ensurePupil(request.pupilId, request.displayName, request.minor, request.now);
    if (!ref) {
      return tl::unexpected(ref.error());
    }
    // One valid badge per pupil: the new one replaces a volunteer's old badge (--replace)
    // or the plain badge of a pupil who now volunteers.
    if (auto r = revokeAllOf(request.pupilId, request.now); !r) {
      return r;
    }
    auto upsert = db_.prepare(
        "INSERT INTO enrolments (pupil_id, consent_ref, guardian_consent_ref, consented_at, "
        "template_version, storage_mode) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT (pupil_id) DO UPDATE SET consent_ref = excluded.consent_ref, "
        "guardian_consent_ref = excluded.guardian_consent_ref, consented_at = "
        "excluded.consented_at, "
        "template_version = excluded.template_version, storage_mode = excluded.storage_mode");
    if (!upsert) {
      return tl::unexpected(upsert.error());
    }
    upsert->bind(1, std::string_view(request.pupilId))
        .bind(2, std::string_view(request.consentRef))
        .bind(3, request.guardianConsentRef)
        .bind(4, request.now)
        .bind(5, std::int64_t{kTemplateVersion})
        .bind(6, badge::toString(request.mode));
    if (auto r = upsert->run(); !r) {
      return r;
    }
    if (auto r = insertBadge(issued); !r) {
      return r;
    }
    if (request.mode == badge::BadgeKind::Sealed) {
      issued.secret.emplace(badge::newBadgeSecret());
      const SealedTemplate sealed = sealTemplate(templ, *issued.secret, issued.serial);
      auto insert = db_.prepare(
          "INSERT INTO sealed_templates (badge_serial, template_version, nonce, ciphertext) "
          "VALUES (?1, ?2, ?3, ?4)");
      if (!insert) {
        return tl::unexpected(insert.error());
      }
      insert->bind(1, toDb(issued.serial))
          .bind(2, std::int64_t{sealed.version})
          .bind(3, std::span<const std::uint8_t>(sealed.nonce))
          .bind(4, std::span<const std::uint8_t>(sealed.ciphertext));
      if (auto r = insert->run(); !r) {
        return r;
      }
    } else {
      issued.onBadgeTemplate = sealForBadge(templ, *templateKey, issued.serial);
    }
    audit::AuditEvent event;
    event.at = request.now;
    event.actor = actor_;
    event.action = *found ? "re-enrol" : "enrol";
    event.subject = *ref;
    auto badgeRef = this->badgeRef(issued.serial);
    if (!badgeRef) {
      return tl::unexpected(badgeRef.error());
    }
    event.badgeRef = *badgeRef;
    event.detail = fmt::format("mode={} minor={} guardian_consent={} template_version={}",
                               badge::toString(request.mode), request.minor ? 1 : 0,
                               request.guardianConsentRef ? 1 : 0, kTemplateVersion);
    if (auto r = log_.append(event); !r) {
      return tl::unexpected(r.error());
    }
    // Last, so that everything the badge stands for is in place when it is handed over.
    return deliver ? deliver(issued) : Result<void>{};
  });
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  return issued;
}

Result<badge::Badge> Registry::issuePlainBadge(const std::string& pupilId, bool minor,
                                               std::int64_t now, std::int64_t validDays,
                                               const BadgeDelivery& deliver) {
  if (!isValidPupilId(pupilId)) {
    // Not quoted: an invalid id may hold control characters meant for a terminal.
    return fail(ErrorCode::InvalidArgument, "the pupil id is not 1 to 32 of A-Z a-z 0-9 . _ -");
  }
  if (validDays < 1 || validDays > 3660) {
    return fail(ErrorCode::InvalidArgument, "badge validity must be 1 to 3660 days");
  }
  badge::Badge issued = newBadge(badge::BadgeKind::Plain, pupilId, now, validDays);
  auto ok = db_.transaction([&]() -> Result<void> {
    auto enrolled = db_.prepare("SELECT 1 FROM enrolments WHERE pupil_id = ?1");
    if (!enrolled) {
      return tl::unexpected(enrolled.error());
    }
    enrolled->bind(1, std::string_view(pupilId));
    auto row = enrolled->step();
    if (!row) {
      return tl::unexpected(row.error());
    }
    if (*row) {
      return fail(ErrorCode::Refused,
                  fmt::format("pupil {} volunteered for face checks: their badge comes from "
                              "`facegate enroll` (to withdraw, `facegate erase`)",
                              pupilId));
    }
    auto ref = ensurePupil(pupilId, std::nullopt, minor, now);
    if (!ref) {
      return tl::unexpected(ref.error());
    }
    if (auto r = revokeAllOf(pupilId, now); !r) {  // one valid badge per pupil
      return r;
    }
    if (auto r = insertBadge(issued); !r) {
      return r;
    }
    auto badgeRef = this->badgeRef(issued.serial);
    if (!badgeRef) {
      return tl::unexpected(badgeRef.error());
    }
    const std::string detail = fmt::format("kind={}", badge::toString(issued.kind));
    audit::AuditEvent event{now,       actor_,       "badge-issue", *ref,
                            *badgeRef, std::nullopt, std::nullopt,  detail};
    if (auto r = log_.append(event); !r) {
      return tl::unexpected(r.error());
    }
    // Last, so that everything the badge stands for is in place when it is handed over.
    return deliver ? deliver(issued) : Result<void>{};
  });
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  return issued;
}

Result<void> Registry::revokeBadge(std::uint64_t serial, std::int64_t now) {
  return db_.transaction([&]() -> Result<void> {
    auto find = db_.prepare(
        "SELECT b.revoked_at, p.audit_ref FROM badges b JOIN pupils p USING (pupil_id) "
        "WHERE b.serial = ?1");
    if (!find) {
      return tl::unexpected(find.error());
    }
    find->bind(1, toDb(serial));
    auto row = find->step();
    if (!row) {
      return tl::unexpected(row.error());
    }
    if (!*row) {
      return fail(ErrorCode::NotFound, fmt::format("no badge {:016x} is registered", serial));
    }
    if (!find->isNull(0)) {
      return fail(ErrorCode::AlreadyExists,
                  fmt::format("badge {:016x} is already revoked", serial));
    }
    const std::string ref = find->text(1);
    auto revoke = db_.prepare("UPDATE badges SET revoked_at = ?2 WHERE serial = ?1");
    auto drop = db_.prepare("DELETE FROM sealed_templates WHERE badge_serial = ?1");
    if (!revoke || !drop) {
      return tl::unexpected(!revoke ? revoke.error() : drop.error());
    }
    revoke->bind(1, toDb(serial)).bind(2, now);
    drop->bind(1, toDb(serial));
    if (auto r = revoke->run(); !r) {
      return r;
    }
    if (auto r = drop->run(); !r) {
      return r;
    }
    auto badgeRef = this->badgeRef(serial);
    if (!badgeRef) {
      return tl::unexpected(badgeRef.error());
    }
    audit::AuditEvent event{now, actor_, "revoke", ref, *badgeRef, std::nullopt, std::nullopt, ""};
    if (auto r = log_.append(event); !r) {
      return tl::unexpected(r.error());
    }
    return {};
  });
}

Result<void> Registry::erasePupil(const std::string& pupilId, std::int64_t now) {
  auto erased = db_.transaction([&]() -> Result<void> {
    auto find = db_.prepare(
        "SELECT audit_ref, (SELECT count(*) FROM badges WHERE pupil_id = ?1) FROM pupils "
        "WHERE pupil_id = ?1");
    if (!find) {
      return tl::unexpected(find.error());
    }
    find->bind(1, std::string_view(pupilId));
    auto row = find->step();
    if (!row) {
      return tl::unexpected(row.error());
    }
    if (!*row) {
      return fail(ErrorCode::NotFound, fmt::format("no pupil {} is registered", pupilId));
    }
    const std::string ref = find->text(0);
    const std::int64_t badges = find->integer(1);
    // ON DELETE CASCADE removes enrolments, badges and sealed templates with the pupil.
    auto erase = db_.prepare("DELETE FROM pupils WHERE pupil_id = ?1");
    if (!erase) {
      return tl::unexpected(erase.error());
    }
    erase->bind(1, std::string_view(pupilId));
    if (auto r = erase->run(); !r) {
      return r;
    }
    audit::AuditEvent event{
        now,          actor_,       "erase",      ref,
        std::nullopt, std::nullopt, std::nullopt, fmt::format("badges_removed={}", badges)};
    if (auto r = log_.append(event); !r) {
      return tl::unexpected(r.error());
    }
    return {};
  });
  if (erased && !db_.inTransaction()) {
    // secure_delete zeroed the rows in the pages written to the WAL; fold the WAL into the
    // main file and truncate it so that the pupil's old pages do not linger there either.
    // Best effort: if a reader holds the WAL, the next checkpoint does it.
    (void)db_.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  return erased;
}

Result<std::optional<BadgeRecord>> Registry::findBadge(std::uint64_t serial) const {
  auto q = db_.prepare(
      "SELECT pupil_id, kind, issued_at, expires_at, revoked_at FROM badges WHERE serial = ?1");
  if (!q) {
    return tl::unexpected(q.error());
  }
  q->bind(1, toDb(serial));
  auto row = q->step();
  if (!row) {
    return tl::unexpected(row.error());
  }
  if (!*row) {
    return std::optional<BadgeRecord>();
  }
  auto kind = kindFromDb(q->text(1), "badges.kind");
  if (!kind) {
    return tl::unexpected(kind.error());
  }
  BadgeRecord r{serial,        q->text(0),   *kind,       q->integer(2),
                q->integer(3), std::nullopt, std::nullopt};
  if (!q->isNull(4)) {
    r.revokedAt = q->integer(4);
  }
  q->reset();
  auto ref = badgeRef(serial);
  if (!ref) {
    return tl::unexpected(ref.error());
  }
  r.auditRef = *ref;
  return std::optional<BadgeRecord>(std::move(r));
}

Result<std::optional<SealedTemplate>> Registry::findSealedTemplate(std::uint64_t serial) const {
  auto q = db_.prepare(
      "SELECT template_version, nonce, ciphertext FROM sealed_templates WHERE badge_serial = ?1");
  if (!q) {
    return tl::unexpected(q.error());
  }
  q->bind(1, toDb(serial));
  auto row = q->step();
  if (!row) {
    return tl::unexpected(row.error());
  }
  if (!*row) {
    return std::optional<SealedTemplate>();
  }
  SealedTemplate t;
  t.version = static_cast<std::uint16_t>(q->integer(0));
  const auto nonce = q->blob(1);
  if (nonce.size() != t.nonce.size()) {
    return fail(ErrorCode::StorageCorrupt, "a sealed template's nonce has the wrong size");
  }
  std::copy(nonce.begin(), nonce.end(), t.nonce.begin());
  t.ciphertext = q->blob(2);
  return std::optional<SealedTemplate>(std::move(t));
}

Result<std::vector<PupilSummary>> Registry::list() {
  auto q = db_.prepare(
      "SELECT p.pupil_id, p.display_name, p.minor, e.storage_mode, e.consented_at FROM pupils p "
      "LEFT JOIN enrolments e USING (pupil_id) ORDER BY p.pupil_id");
  auto b = db_.prepare(
      "SELECT serial, kind, issued_at, expires_at, revoked_at FROM badges WHERE pupil_id = ?1 "
      "ORDER BY issued_at");
  if (!q || !b) {
    return tl::unexpected(!q ? q.error() : b.error());
  }
  std::vector<PupilSummary> out;
  for (;;) {
    auto row = q->step();
    if (!row) {
      return tl::unexpected(row.error());
    }
    if (!*row) {
      break;
    }
    PupilSummary p;
    p.pupilId = q->text(0);
    if (!q->isNull(1)) {
      p.displayName = q->text(1);
    }
    p.minor = q->integer(2) != 0;
    p.enrolled = !q->isNull(3);
    if (p.enrolled) {
      auto mode = kindFromDb(q->text(3), "enrolments.storage_mode");
      if (!mode) {
        return tl::unexpected(mode.error());
      }
      p.storageMode = *mode;
      p.consentedAt = q->integer(4);
    }
    b->reset();
    b->bind(1, std::string_view(p.pupilId));
    for (;;) {
      auto brow = b->step();
      if (!brow) {
        return tl::unexpected(brow.error());
      }
      if (!*brow) {
        break;
      }
      auto kind = kindFromDb(b->text(1), "badges.kind");
      if (!kind) {
        return tl::unexpected(kind.error());
      }
      BadgeRecord r{fromDb(b->integer(0)), p.pupilId,    *kind,       b->integer(2),
                    b->integer(3),         std::nullopt, std::nullopt};
      if (!b->isNull(4)) {
        r.revokedAt = b->integer(4);
      }
      p.badges.push_back(std::move(r));
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace facegate::enrolment
