#pragma once

#include <optional>
#include <string_view>

#include "facegate/badge/keys.hpp"
#include "facegate/badge/payload.hpp"
#include "facegate/enrolment/registry_view.hpp"
#include "facegate/face/embedding.hpp"
#include "facegate/gate/passage_machine.hpp"

namespace facegate::gate {

struct CheckedBadge {
  BadgeCheck check;
  std::optional<face::Embedding> templ;  // Volunteer only: the unsealed template
};

// Turns the text of a QR code into a verdict on the badge: signature and validity first
// (nothing touches the database for a forged badge), then registration and revocation,
// then the template (unsealed with the badge's secret, or from the badge with the school's
// template key). Every failure is a RejectBadge with a short, stable reason.
// Borrows the registry, read-only, and the template key (nullptr: this gate does not accept
// on-badge templates); both must outlive the checker. `volunteerKind` is the storage mode the
// school chose (storage.mode): a volunteer's badge of the other kind is rejected
// ("wrong-storage-mode"); nullopt accepts both (the demo shows both).
class BadgeChecker {
 public:
  BadgeChecker(const enrolment::RegistryView& registry, badge::PublicKey publicKey,
               const badge::TemplateKey* templateKey,
               std::optional<badge::BadgeKind> volunteerKind = std::nullopt)
      : registry_(registry),
        publicKey_(publicKey),
        templateKey_(templateKey),
        volunteerKind_(volunteerKind) {}

  CheckedBadge check(std::string_view qrText, std::int64_t unixNow);

 private:
  const enrolment::RegistryView& registry_;
  badge::PublicKey publicKey_;
  const badge::TemplateKey* templateKey_;
  std::optional<badge::BadgeKind> volunteerKind_;
};

}  // namespace facegate::gate
