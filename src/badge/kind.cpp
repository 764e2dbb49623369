#include "facegate/badge/kind.hpp"

#include <array>
#include <utility>

namespace facegate::badge {
namespace {

constexpr std::array<std::pair<BadgeKind, std::string_view>, 3> kNames{{
    {BadgeKind::Plain, "plain"},
    {BadgeKind::Sealed, "sealed"},
    {BadgeKind::OnBadge, "on-badge"},
}};

}  // namespace

std::string_view toString(BadgeKind kind) noexcept {
  for (const auto& [k, name] : kNames) {
    if (k == kind) {
      return name;
    }
  }
  return "unknown";
}

std::optional<BadgeKind> parseBadgeKind(std::string_view text) noexcept {
  for (const auto& [kind, name] : kNames) {
    if (name == text) {
      return kind;
    }
  }
  return std::nullopt;
}

}  // namespace facegate::badge
