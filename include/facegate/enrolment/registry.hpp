#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "facegate/audit/audit_log.hpp"
#include "facegate/badge/keys.hpp"
#include "facegate/badge/payload.hpp"
#include "facegate/core/error.hpp"
#include "facegate/enrolment/registry_view.hpp"
#include "facegate/enrolment/sealing.hpp"
#include "facegate/face/embedding.hpp"
#include "facegate/store/database.hpp"

namespace facegate::enrolment {

struct EnrolmentRequest {
  std::string pupilId;                            // the school's opaque id, [A-Za-z0-9._-]{1,32}
  std::optional<std::string> displayName;         // optional; the gate never needs it
  bool minor = true;                              // unless the desk says otherwise
  std::string consentRef;                         // reference of the signed consent form
  std::optional<std::string> guardianConsentRef;  // required for minors
  // Where the template lives: Sealed or OnBadge (a volunteer's badge kinds); Plain is refused
  // (a non-volunteer's badge comes from issuePlainBadge).
  badge::BadgeKind mode = badge::BadgeKind::Sealed;
  bool replace = false;          // re-enrol: revoke the pupil's existing badges
  std::int64_t now = 0;          // unix seconds
  std::int64_t validDays = 365;  // badge validity
};

struct PupilSummary {
  std::string pupilId;
  std::optional<std::string> displayName;
  bool minor = false;
  bool enrolled = false;                        // volunteer with consent on record
  std::optional<badge::BadgeKind> storageMode;  // Sealed or OnBadge, when enrolled
  std::optional<std::int64_t> consentedAt;
  std::vector<BadgeRecord> badges;
};

// Hands a newly issued badge to the person who prints it — in the desk's commands, writes
// its PNG into a file reserved beforehand. Called inside the issuing transaction, after the
// audit record and before the commit: if it fails, nothing of the issue is recorded (no
// pupil, consent, badge, template or audit record, and the pupil's previous badges stay
// valid), so the database never holds a badge that nobody got. If it succeeds and the
// commit then fails, the caller gets the commit's error and must take the delivered badge
// back (an unpublished OutputFile removes itself). Within a transaction the caller opened,
// the caller's commit is the one that counts.
using BadgeDelivery = std::function<Result<void>(const badge::Badge&)>;

// The school's registry: pupils, consent, badges and sealed templates, over a facegate
// database. Every change runs in one transaction together with its audit record, so there
// is never an enrolment without its audit trail nor the reverse. Borrows the Database.
// A gate gets it as a RegistryView: the reads, none of the changes.
class Registry final : public RegistryView {
 public:
  // `witness` (borrowed, may be nullptr) is told the audit log's head after each change.
  Registry(store::Database& db, std::string actor, audit::HeadWitness* witness = nullptr)
      : db_(db), log_(db, witness), actor_(std::move(actor)) {}

  // Records the pupil (if new) and their consent, issues a badge and stores the template
  // sealed (Sealed) or puts it in the badge (OnBadge, needs `templateKey`). Refused: a minor
  // without guardian consent, an already-enrolled pupil without `replace`, an invalid id, a
  // mode that is not a volunteer's (Plain).
  // Returns the badge to print, secret included: print it, then let it go. `deliver`, if
  // given, receives it before the enrolment commits (see BadgeDelivery).
  Result<badge::Badge> enrol(const EnrolmentRequest& request, const face::Embedding& templ,
                             const badge::TemplateKey* templateKey,
                             const BadgeDelivery& deliver = {});

  // A badge for a pupil who did not volunteer: the gate sends them to the supervisor
  // (MANUAL_CHECK) without any face processing. Refused for a volunteer. Each pupil has one
  // valid badge: issuing a badge (here or by enrol) revokes the pupil's previous ones.
  // `deliver` as for enrol().
  Result<badge::Badge> issuePlainBadge(const std::string& pupilId, bool minor, std::int64_t now,
                                       std::int64_t validDays, const BadgeDelivery& deliver = {});

  // A lost badge: marks it revoked and deletes its sealed template (useless without it).
  Result<void> revokeBadge(std::uint64_t serial, std::int64_t now);

  // Withdrawal of consent: the pupil's row, enrolment, badges and templates are deleted
  // (secure_delete overwrites them); the audit log keeps an "erase" tombstone naming only
  // the pupil's random pseudonym, which nothing links to the pupil any more.
  Result<void> erasePupil(const std::string& pupilId, std::int64_t now);

  Result<std::optional<BadgeRecord>> findBadge(std::uint64_t serial) const override;
  // The name the audit log gives badge `serial`: a keyed pseudonym under its pupil's key
  // (audit/badge_ref.hpp). nullopt for a badge that is not registered (never issued here, or
  // its pupil was erased).
  Result<std::optional<std::uint64_t>> badgeRef(std::uint64_t serial) const;
  Result<std::optional<SealedTemplate>> findSealedTemplate(std::uint64_t serial) const override;
  Result<std::vector<PupilSummary>> list();

  audit::AuditLog& auditLog() { return log_; }

 private:
  Result<std::string> ensurePupil(const std::string& pupilId,
                                  const std::optional<std::string>& name, bool minor,
                                  std::int64_t now);
  Result<void> insertBadge(const badge::Badge& badge);
  Result<void> revokeAllOf(const std::string& pupilId, std::int64_t now);

  store::Database& db_;
  audit::AuditLog log_;
  std::string actor_;
};

// True if `id` is a valid school pupil id: 1..32 of [A-Za-z0-9._-].
bool isValidPupilId(std::string_view id);

}  // namespace facegate::enrolment
