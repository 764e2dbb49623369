// The gate's verdict on a QR text, for every reason it can reject a badge.
#include "facegate/gate/badge_checker.hpp"

#include <random>

#include <gtest/gtest.h>

#include "facegate/enrolment/registry.hpp"

#include "test_support.hpp"

namespace facegate::gate {
namespace {

constexpr std::int64_t kNow = 1'780'000'000;

face::Embedding someEmbedding() {
  std::mt19937 rng(7);
  std::normal_distribution<float> component(0.0F, 0.09F);
  face::Embedding e;
  for (auto& v : e.values()) {
    v = component(rng);
  }
  return e;
}

class BadgeCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::open(dir_ / "gate.db");
    ASSERT_TRUE(db);
    db_.emplace(std::move(*db));
    registry_.emplace(*db_, "test");
  }

  std::string enrol(const std::string& pupil, badge::BadgeKind mode) {
    enrolment::EnrolmentRequest r;
    r.pupilId = pupil;
    r.consentRef = "F";
    r.guardianConsentRef = "G";
    r.mode = mode;
    r.now = kNow;
    auto issued = registry_->enrol(r, someEmbedding(), &templateKey_);
    EXPECT_TRUE(issued) << issued.error().message;
    serial_ = issued->serial;
    return *badge::encodeBadge(*issued, key_);
  }

  CheckedBadge check(const std::string& text, std::optional<badge::BadgeKind> mode = std::nullopt) {
    BadgeChecker checker(*registry_, key_.publicKey(), &templateKey_, mode);
    return checker.check(text, kNow + 60);
  }

  test::TempDir dir_;
  std::optional<store::Database> db_;
  std::optional<enrolment::Registry> registry_;
  badge::SigningKey key_ = badge::SigningKey::generate();
  badge::TemplateKey templateKey_ = badge::TemplateKey::generate();
  std::uint64_t serial_ = 0;
};

// The checker holds the registry as a read-only view. This one answers from the real
// registry, or fails as a database that cannot be read, and counts what it was asked.
class ProbedView final : public enrolment::RegistryView {
 public:
  explicit ProbedView(const enrolment::RegistryView& inner) : inner_(inner) {}

  Result<std::optional<enrolment::BadgeRecord>> findBadge(std::uint64_t serial) const override {
    ++badgeReads;
    if (badgesFail) {
      return fail(ErrorCode::StorageFailure, "disk I/O error");
    }
    return inner_.findBadge(serial);
  }
  Result<std::optional<enrolment::SealedTemplate>> findSealedTemplate(
      std::uint64_t serial) const override {
    ++templateReads;
    if (templatesFail) {
      return fail(ErrorCode::StorageFailure, "disk I/O error");
    }
    return inner_.findSealedTemplate(serial);
  }

  bool badgesFail = false;
  bool templatesFail = false;
  mutable int badgeReads = 0;
  mutable int templateReads = 0;

 private:
  const enrolment::RegistryView& inner_;
};

TEST_F(BadgeCheckerTest, ReadsOnlyWhatABadgeNeedsAndRejectsWhatCannotBeRead) {
  const auto sealed = enrol("P1", badge::BadgeKind::Sealed);
  const auto ref = *registry_->badgeRef(serial_);
  ProbedView view(*registry_);
  BadgeChecker checker(view, key_.publicKey(), &templateKey_);

  // A forged badge is refused before anything is read.
  const auto otherKey = badge::SigningKey::generate();
  BadgeChecker forgedChecker(view, otherKey.publicKey(), &templateKey_);
  EXPECT_EQ(forgedChecker.check(sealed, kNow).check.reason, "other-school");
  EXPECT_EQ(view.badgeReads + view.templateReads, 0);

  const auto granted = checker.check(sealed, kNow);
  EXPECT_EQ(granted.check.kind, BadgeCheck::Kind::Volunteer);
  EXPECT_EQ(view.badgeReads, 1);
  EXPECT_EQ(view.templateReads, 1);

  view.templatesFail = true;
  const auto noTemplate = checker.check(sealed, kNow);
  EXPECT_EQ(noTemplate.check.kind, BadgeCheck::Kind::Rejected);
  EXPECT_EQ(noTemplate.check.reason, "database-error");
  EXPECT_EQ(noTemplate.check.badgeRef, ref) << "the badge is known by then";
  EXPECT_FALSE(noTemplate.templ);

  view.badgesFail = true;
  const auto noRecord = checker.check(sealed, kNow);
  EXPECT_EQ(noRecord.check.reason, "database-error");
  EXPECT_FALSE(noRecord.check.badgeRef) << "nothing names a badge that could not be read";
  EXPECT_FALSE(noRecord.templ);
}

TEST_F(BadgeCheckerTest, SealedVolunteerGetsTheirTemplate) {
  const auto text = enrol("P1", badge::BadgeKind::Sealed);
  const auto checked = check(text);
  EXPECT_EQ(checked.check.kind, BadgeCheck::Kind::Volunteer);
  // Named by its pseudonym, never by the serial the badge prints.
  ASSERT_TRUE(checked.check.badgeRef);
  EXPECT_NE(*checked.check.badgeRef, serial_);
  EXPECT_EQ(checked.check.badgeRef, *registry_->badgeRef(serial_));
  ASSERT_TRUE(checked.templ);
  EXPECT_EQ(face::distance(*checked.templ, someEmbedding()), 0.0);
}

TEST_F(BadgeCheckerTest, OnBadgeVolunteerGetsTheTemplateFromTheBadge) {
  const auto checked = check(enrol("P1", badge::BadgeKind::OnBadge));
  EXPECT_EQ(checked.check.kind, BadgeCheck::Kind::Volunteer);
  ASSERT_TRUE(checked.templ);
  EXPECT_LT(face::distance(*checked.templ, someEmbedding()), 0.02);
}

TEST_F(BadgeCheckerTest, PlainBadgeIsANonVolunteer) {
  auto issued = registry_->issuePlainBadge("P9", true, kNow, 30);
  ASSERT_TRUE(issued);
  const auto checked = check(*badge::encodeBadge(*issued, key_));
  EXPECT_EQ(checked.check.kind, BadgeCheck::Kind::NonVolunteer);
  EXPECT_FALSE(checked.templ);
}

TEST_F(BadgeCheckerTest, EachRejectionHasItsReason) {
  const auto sealed = enrol("P1", badge::BadgeKind::Sealed);
  const auto sealedSerial = serial_;
  const auto onBadge = enrol("P2", badge::BadgeKind::OnBadge);

  EXPECT_EQ(check("not a badge").check.reason, "not-base45");
  EXPECT_EQ(check(sealed, badge::BadgeKind::OnBadge).check.reason, "wrong-storage-mode");
  EXPECT_EQ(check(onBadge, badge::BadgeKind::Sealed).check.reason, "wrong-storage-mode");
  {
    BadgeChecker noKey(*registry_, key_.publicKey(), nullptr);
    EXPECT_EQ(noKey.check(onBadge, kNow).check.reason, "on-badge-not-configured");
  }
  {
    const auto otherKey = badge::SigningKey::generate();
    BadgeChecker otherSchool(*registry_, otherKey.publicKey(), &templateKey_);
    EXPECT_EQ(otherSchool.check(sealed, kNow).check.reason, "other-school");
  }
  // A badge signed by this school for a serial the database does not know.
  badge::Badge unknown;
  unknown.kind = badge::BadgeKind::Plain;
  unknown.serial = 12345;
  unknown.pupilId = "P7";
  unknown.issuedAt = kNow;
  unknown.expiresAt = kNow + 86'400;
  EXPECT_EQ(check(*badge::encodeBadge(unknown, key_)).check.reason, "unknown");
  // A genuine serial with someone else's pupil id.
  unknown.serial = sealedSerial;
  EXPECT_EQ(check(*badge::encodeBadge(unknown, key_)).check.reason, "record-mismatch");
  // The sealed row gone (for example restored from an old backup).
  ASSERT_TRUE(db_->exec("DELETE FROM sealed_templates"));
  EXPECT_EQ(check(sealed).check.reason, "no-template");
  ASSERT_TRUE(registry_->revokeBadge(sealedSerial, kNow));
  EXPECT_EQ(check(sealed).check.reason, "revoked");
  BadgeChecker checker(*registry_, key_.publicKey(), &templateKey_);
  EXPECT_EQ(checker.check(onBadge, kNow + 400 * 86'400).check.reason, "expired");
}

TEST_F(BadgeCheckerTest, AMovedSealedRowDoesNotOpen) {
  const auto first = enrol("P1", badge::BadgeKind::Sealed);
  const auto firstSerial = serial_;
  enrol("P2", badge::BadgeKind::Sealed);
  const auto secondSerial = serial_;
  // Give P1's badge the sealed row of P2.
  auto swap = db_->prepare(
      "UPDATE sealed_templates SET nonce = (SELECT nonce FROM sealed_templates WHERE "
      "badge_serial = ?2), ciphertext = (SELECT ciphertext FROM sealed_templates WHERE "
      "badge_serial = ?2) WHERE badge_serial = ?1");
  ASSERT_TRUE(swap);
  swap->bind(1, std::bit_cast<std::int64_t>(firstSerial))
      .bind(2, std::bit_cast<std::int64_t>(secondSerial));
  ASSERT_TRUE(swap->run());
  const auto checked = check(first);
  EXPECT_EQ(checked.check.kind, BadgeCheck::Kind::Rejected);
  EXPECT_EQ(checked.check.reason, "template-does-not-open");
}

}  // namespace
}  // namespace facegate::gate
