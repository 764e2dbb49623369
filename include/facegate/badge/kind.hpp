#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace facegate::badge {

// What a badge stands for: whether its holder volunteered for face checks and, if so, where
// their template lives (README, "Biometric data: where it lives"). A volunteer's storage
// mode is the kind of their badge, so this one type is both: the payload's kind byte (the
// enumerators' values, badge/payload.hpp), the registry's badges.kind and
// enrolments.storage_mode columns, the enrolment request's mode, and the school's choice
// (storage.mode).
enum class BadgeKind : std::uint8_t {
  Plain = 0,    // did not volunteer: no face check, the supervisor sees the paper pass
  Sealed = 1,   // CNIL type 2 (default): sealed in the gate's database, opened by the badge's
                // secret
  OnBadge = 2,  // CNIL type 1: encrypted in the badge; the database keeps serials and audit
};

// True for the kinds a volunteer's badge has (Sealed, OnBadge): the storage modes.
constexpr bool isVolunteerKind(BadgeKind kind) noexcept {
  return kind == BadgeKind::Sealed || kind == BadgeKind::OnBadge;
}

// "plain", "sealed", "on-badge": the names written in the database (its CHECK constraints
// list them), the configuration and the desk's command line. Existing databases hold them:
// they never change. Defined here, constexpr, so that the configuration can name the kinds
// without linking the badge codec.
namespace detail {
struct KindName {
  BadgeKind kind;
  std::string_view name;
};
inline constexpr std::array<KindName, 3> kKindNames{{
    {BadgeKind::Plain, "plain"},
    {BadgeKind::Sealed, "sealed"},
    {BadgeKind::OnBadge, "on-badge"},
}};
}  // namespace detail

constexpr std::string_view toString(BadgeKind kind) noexcept {
  for (const auto& entry : detail::kKindNames) {
    if (entry.kind == kind) {
      return entry.name;
    }
  }
  return "unknown";
}

// The kind toString() names `text` (exactly, case-sensitive); nullopt for any other text.
constexpr std::optional<BadgeKind> parseBadgeKind(std::string_view text) noexcept {
  for (const auto& entry : detail::kKindNames) {
    if (entry.name == text) {
      return entry.kind;
    }
  }
  return std::nullopt;
}

}  // namespace facegate::badge
