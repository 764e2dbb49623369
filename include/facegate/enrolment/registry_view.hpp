#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "facegate/badge/kind.hpp"
#include "facegate/core/error.hpp"
#include "facegate/enrolment/sealing.hpp"

namespace facegate::enrolment {

struct BadgeRecord {
  std::uint64_t serial = 0;
  std::string pupilId;
  badge::BadgeKind kind = badge::BadgeKind::Plain;
  std::int64_t issuedAt = 0;
  std::int64_t expiresAt = 0;
  std::optional<std::int64_t> revokedAt;
  // The badge's name in the audit log (audit/badge_ref.hpp); filled by findBadge().
  std::optional<std::uint64_t> auditRef;
};

// What a gate reads of the school's registry, and all it may: the record of a badge and the
// sealed template stored for it. The Registry (enrolment/registry.hpp) provides it; the gate
// holds the registry by this type, so that it cannot enrol, revoke or erase anything.
// Implementations say their own lifetime and thread rules (the Registry's: those of its
// Database).
class RegistryView {
 public:
  virtual ~RegistryView() = default;

  // The badge registered under `serial`, with its audit name; nullopt when there is none
  // (never issued here, or its pupil was erased). StorageCorrupt for a row the registry
  // cannot have written (an unknown kind, a pseudonym key of the wrong size).
  virtual Result<std::optional<BadgeRecord>> findBadge(std::uint64_t serial) const = 0;

  // The template sealed for badge `serial`; nullopt for a plain, an on-badge or a revoked
  // badge (revoking deletes it). StorageCorrupt for a malformed row.
  virtual Result<std::optional<SealedTemplate>> findSealedTemplate(std::uint64_t serial) const = 0;

 protected:
  RegistryView() = default;
  RegistryView(const RegistryView&) = default;
  RegistryView& operator=(const RegistryView&) = default;
};

}  // namespace facegate::enrolment
