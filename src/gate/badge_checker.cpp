#include "facegate/gate/badge_checker.hpp"

#include "facegate/badge/payload.hpp"
#include "facegate/core/logging.hpp"
#include "facegate/enrolment/sealing.hpp"

namespace facegate::gate {
namespace {

CheckedBadge rejected(std::optional<std::uint64_t> badgeRef, std::string reason) {
  return CheckedBadge{BadgeCheck{BadgeCheck::Kind::Rejected, badgeRef, std::move(reason)},
                      std::nullopt};
}

}  // namespace

CheckedBadge BadgeChecker::check(std::string_view qrText, std::int64_t unixNow) {
  auto badge = badge::parseBadge(qrText, publicKey_, unixNow);
  if (!badge) {
    return rejected(std::nullopt, std::string(badge::toString(badge.error().reason)));
  }
  const std::uint64_t serial = badge->serial;
  auto record = registry_.findBadge(serial);
  if (!record) {
    logger("gate")->error("badge check failed: {}", record.error().message);
    return rejected(std::nullopt, "database-error");
  }
  if (!*record) {
    // Not registered (or its pupil was erased): nothing names it in the log.
    return rejected(std::nullopt, "unknown");
  }
  // From here on the badge is named by its pseudonym, never by the serial it prints.
  const std::optional<std::uint64_t> ref = (*record)->auditRef;
  if ((*record)->revokedAt) {
    return rejected(ref, "revoked");
  }
  // The badge must be the one on record: same pupil and same kind (a volunteer's serial in a
  // plain badge would skip the face check).
  if ((*record)->pupilId != badge->pupilId || (*record)->kind != badge->kind) {
    return rejected(ref, "record-mismatch");
  }
  if (badge::isVolunteerKind(badge->kind) && volunteerKind_ && badge->kind != *volunteerKind_) {
    return rejected(ref, "wrong-storage-mode");
  }
  switch (badge->kind) {
    case badge::BadgeKind::Plain:
      return CheckedBadge{BadgeCheck{BadgeCheck::Kind::NonVolunteer, ref, ""}, std::nullopt};
    case badge::BadgeKind::Sealed: {
      auto sealed = registry_.findSealedTemplate(serial);
      if (!sealed) {
        logger("gate")->error("badge check failed: {}", sealed.error().message);
        return rejected(ref, "database-error");
      }
      if (!*sealed) {
        return rejected(ref, "no-template");
      }
      auto templ = enrolment::unsealTemplate(**sealed, *badge->secret, serial);
      if (!templ) {
        return rejected(ref, "template-does-not-open");
      }
      return CheckedBadge{BadgeCheck{BadgeCheck::Kind::Volunteer, ref, ""}, std::move(*templ)};
    }
    case badge::BadgeKind::OnBadge: {
      if (templateKey_ == nullptr) {
        return rejected(ref, "on-badge-not-configured");
      }
      auto templ = enrolment::unsealFromBadge(badge->onBadgeTemplate, *templateKey_, serial);
      if (!templ) {
        return rejected(ref, "template-does-not-open");
      }
      return CheckedBadge{BadgeCheck{BadgeCheck::Kind::Volunteer, ref, ""}, std::move(*templ)};
    }
  }
  return rejected(ref, "unknown-kind");
}

}  // namespace facegate::gate
