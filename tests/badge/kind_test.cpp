// The one spelling of a badge kind: what the database, the configuration and the desk's
// command line say.
#include "facegate/badge/kind.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace facegate::badge {
namespace {

TEST(BadgeKind, EachKindHasTheNameTheDatabaseHolds) {
  // Written in every existing database (badges.kind, enrolments.storage_mode): never renamed.
  EXPECT_EQ(toString(BadgeKind::Plain), "plain");
  EXPECT_EQ(toString(BadgeKind::Sealed), "sealed");
  EXPECT_EQ(toString(BadgeKind::OnBadge), "on-badge");
}

TEST(BadgeKind, ParsesEveryNameBackToItsKind) {
  for (const BadgeKind kind : {BadgeKind::Plain, BadgeKind::Sealed, BadgeKind::OnBadge}) {
    const auto parsed = parseBadgeKind(toString(kind));
    ASSERT_TRUE(parsed) << toString(kind);
    EXPECT_EQ(*parsed, kind);
  }
}

TEST(BadgeKind, RefusesEveryOtherText) {
  for (const std::string& text :
       std::vector<std::string>{"", "Sealed", "SEALED", "on_badge", "onbadge", "on-badge ",
                                " plain", "sealed\n", "unknown", std::string("plain\0", 6)}) {
    EXPECT_FALSE(parseBadgeKind(text)) << "'" << text << "'";
  }
}

TEST(BadgeKind, OnlySealedAndOnBadgeAreAVolunteersStorageModes) {
  EXPECT_FALSE(isVolunteerKind(BadgeKind::Plain));
  EXPECT_TRUE(isVolunteerKind(BadgeKind::Sealed));
  EXPECT_TRUE(isVolunteerKind(BadgeKind::OnBadge));
  EXPECT_FALSE(isVolunteerKind(static_cast<BadgeKind>(7)));
}

}  // namespace
}  // namespace facegate::badge
