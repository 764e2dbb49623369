#include "facegate/enrolment/registry.hpp"

#include <map>
#include <random>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace facegate::enrolment {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kNow = 1'780'000'000;  // 2026-05-28

face::Embedding randomEmbedding(unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> component(0.0F, 0.09F);
  face::Embedding e;
  for (auto& v : e.values()) {
    v = component(rng);
  }
  return e;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::Database::open(dir_ / "school.db");
    ASSERT_TRUE(opened) << opened.error().message;
    db_.emplace(std::move(*opened));
    registry_.emplace(*db_, "desk:test");
  }

  EnrolmentRequest request(const std::string& pupil) {
    EnrolmentRequest r;
    r.pupilId = pupil;
    r.minor = true;
    r.consentRef = "FORM-2026-" + pupil;
    r.guardianConsentRef = "GUARDIAN-" + pupil;
    r.now = kNow;
    return r;
  }

  std::int64_t count(const std::string& sql) {
    auto q = db_->prepare(sql);
    EXPECT_TRUE(q && q->step().value_or(false)) << sql;
    return q ? q->integer(0) : -1;
  }

  // The database's bytes, main file and WAL together.
  std::string fileBytes() {
    std::string all = test::readFile(dir_ / "school.db");
    if (fs::exists(dir_ / "school.db-wal")) {
      all += test::readFile(dir_ / "school.db-wal");
    }
    return all;
  }

  test::TempDir dir_;
  std::optional<store::Database> db_;
  std::optional<Registry> registry_;
};

TEST_F(RegistryTest, MinorWithoutGuardianConsentIsRefusedAndNothingIsWritten) {
  auto r = request("P1");
  r.guardianConsentRef.reset();
  const auto issued = registry_->enrol(r, randomEmbedding(1), nullptr);
  ASSERT_FALSE(issued);
  EXPECT_EQ(issued.error().code, ErrorCode::Refused);
  EXPECT_NE(issued.error().message.find("guardian"), std::string::npos);
  EXPECT_EQ(count("SELECT count(*) FROM pupils"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM audit_events"), 0);
}

TEST_F(RegistryTest, AdultNeedsNoGuardianButAConsent) {
  auto r = request("P1");
  r.minor = false;
  r.guardianConsentRef.reset();
  EXPECT_TRUE(registry_->enrol(r, randomEmbedding(1), nullptr));
  r.pupilId = "P2";
  r.consentRef = "";
  EXPECT_EQ(registry_->enrol(r, randomEmbedding(1), nullptr).error().code, ErrorCode::Refused);
}

TEST_F(RegistryTest, InvalidPupilIdsAreRefused) {
  for (const std::string& id :
       std::vector<std::string>{"", "has space", "semi;colon", std::string(33, 'a'), "é"}) {
    const auto issued = registry_->enrol(request(id), randomEmbedding(1), nullptr);
    ASSERT_FALSE(issued) << id;
    EXPECT_EQ(issued.error().code, ErrorCode::InvalidArgument);
  }
}

TEST_F(RegistryTest, SealedEnrolmentStoresOnlyTheSealedTemplate) {
  const auto templ = randomEmbedding(2);
  auto issued = registry_->enrol(request("P1"), templ, nullptr);
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_EQ(issued->kind, badge::BadgeKind::Sealed);
  ASSERT_TRUE(issued->secret.has_value());
  EXPECT_EQ(issued->expiresAt, kNow + 365 * 86'400);

  auto record = registry_->findBadge(issued->serial);
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->pupilId, "P1");
  EXPECT_FALSE((*record)->revokedAt);
  auto sealed = registry_->findSealedTemplate(issued->serial);
  ASSERT_TRUE(sealed && *sealed);
  auto opened = unsealTemplate(**sealed, *issued->secret, issued->serial);
  ASSERT_TRUE(opened);
  EXPECT_EQ(face::distance(*opened, templ), 0.0);

  // Privacy: neither the template nor the secret is anywhere in the database's files.
  const std::string bytes = fileBytes();
  const std::string plain(reinterpret_cast<const char*>(templ.values().data()),
                          128 * sizeof(float));
  EXPECT_EQ(bytes.find(plain.substr(0, 16)), std::string::npos);
  EXPECT_EQ(bytes.find(plain.substr(256, 16)), std::string::npos);
  const std::string secret(reinterpret_cast<const char*>(issued->secret->get()->data()), 32);
  EXPECT_EQ(bytes.find(secret.substr(0, 12)), std::string::npos);
  EXPECT_EQ(bytes.find(secret.substr(20, 12)), std::string::npos);
  EXPECT_EQ(count("SELECT count(*) FROM enrolments WHERE guardian_consent_ref = 'GUARDIAN-P1'"), 1);
}

TEST_F(RegistryTest, OnBadgeEnrolmentKeepsNoTemplateInTheDatabase) {
  const auto key = badge::TemplateKey::generate();
  auto r = request("P1");
  r.mode = badge::BadgeKind::OnBadge;
  EXPECT_FALSE(registry_->enrol(r, randomEmbedding(3), nullptr)) << "needs the template key";
  auto issued = registry_->enrol(r, randomEmbedding(3), &key);
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_EQ(issued->kind, badge::BadgeKind::OnBadge);
  EXPECT_FALSE(issued->secret);
  EXPECT_EQ(issued->onBadgeTemplate.size(), badge::kOnBadgeTemplateSize);
  EXPECT_EQ(count("SELECT count(*) FROM sealed_templates"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM badges WHERE kind = 'on-badge'"), 1);
  auto opened = unsealFromBadge(issued->onBadgeTemplate, key, issued->serial);
  ASSERT_TRUE(opened);
  EXPECT_LT(face::distance(*opened, randomEmbedding(3)), 0.02);
}

TEST_F(RegistryTest, ReEnrolmentNeedsReplaceAndRevokesTheOldBadge) {
  auto first = registry_->enrol(request("P1"), randomEmbedding(4), nullptr);
  ASSERT_TRUE(first);
  auto again = registry_->enrol(request("P1"), randomEmbedding(5), nullptr);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::AlreadyExists);
  auto r = request("P1");
  r.replace = true;
  auto second = registry_->enrol(r, randomEmbedding(5), nullptr);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_TRUE((*registry_->findBadge(first->serial))->revokedAt);
  EXPECT_FALSE(*registry_->findSealedTemplate(first->serial)) << "the old template is deleted";
  EXPECT_TRUE(*registry_->findSealedTemplate(second->serial));
  EXPECT_EQ(count("SELECT count(*) FROM enrolments"), 1);
}

TEST_F(RegistryTest, PlainBadgeForANonVolunteer) {
  auto issued = registry_->issuePlainBadge("P9", true, kNow, 30);
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_EQ(issued->kind, badge::BadgeKind::Plain);
  EXPECT_FALSE(issued->secret);
  EXPECT_EQ(count("SELECT count(*) FROM enrolments"), 0);
  auto list = registry_->list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1U);
  EXPECT_FALSE(list->front().enrolled);
  EXPECT_EQ(list->front().badges.size(), 1U);
}

TEST_F(RegistryTest, APlainModeIsRefusedForAVolunteerAndNothingIsWritten) {
  auto r = request("P1");
  r.mode = badge::BadgeKind::Plain;
  const auto issued = registry_->enrol(r, randomEmbedding(1), nullptr);
  ASSERT_FALSE(issued);
  EXPECT_EQ(issued.error().code, ErrorCode::InvalidArgument);
  EXPECT_NE(issued.error().message.find("plain"), std::string::npos) << issued.error().message;
  EXPECT_EQ(count("SELECT count(*) FROM pupils"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM audit_events"), 0);
}

// Existing databases hold these names: the enum's spelling must write exactly them.
TEST_F(RegistryTest, KindsAreWrittenUnderTheNamesExistingDatabasesHold) {
  const auto key = badge::TemplateKey::generate();
  auto sealed = registry_->enrol(request("P1"), randomEmbedding(1), nullptr);
  auto onBadgeRequest = request("P2");
  onBadgeRequest.mode = badge::BadgeKind::OnBadge;
  auto onBadge = registry_->enrol(onBadgeRequest, randomEmbedding(2), &key);
  auto plain = registry_->issuePlainBadge("P3", true, kNow, 30);
  ASSERT_TRUE(sealed && onBadge && plain);
  const auto text = [&](const std::string& sql) {
    auto q = db_->prepare(sql);
    EXPECT_TRUE(q && q->step().value_or(false)) << sql;
    return q ? q->text(0) : std::string();
  };
  EXPECT_EQ(text("SELECT kind FROM badges WHERE pupil_id = 'P1'"), "sealed");
  EXPECT_EQ(text("SELECT kind FROM badges WHERE pupil_id = 'P2'"), "on-badge");
  EXPECT_EQ(text("SELECT kind FROM badges WHERE pupil_id = 'P3'"), "plain");
  EXPECT_EQ(text("SELECT storage_mode FROM enrolments WHERE pupil_id = 'P1'"), "sealed");
  EXPECT_EQ(text("SELECT storage_mode FROM enrolments WHERE pupil_id = 'P2'"), "on-badge");
  EXPECT_EQ(text("SELECT group_concat(substr(detail, 1, instr(detail || ' ', ' ') - 1), ',') "
                 "FROM (SELECT detail FROM audit_events ORDER BY seq)"),
            "mode=sealed,mode=on-badge,kind=plain");
}

// Rows as an earlier version wrote them, by their text: read back as their kinds.
TEST_F(RegistryTest, RowsWrittenAsTextReadBackAsTheirKinds) {
  ASSERT_TRUE(db_->exec(
      "INSERT INTO pupils (pupil_id, minor, audit_ref, created_at) VALUES ('P1', 1, 'p-1', 1);"
      "INSERT INTO enrolments (pupil_id, consent_ref, consented_at, template_version, "
      "storage_mode) VALUES ('P1', 'FORM-1', 1, 1, 'on-badge');"
      "INSERT INTO badges (serial, pupil_id, kind, issued_at, expires_at, revoked_at) VALUES "
      "(11, 'P1', 'plain', 1, 2, 2), (12, 'P1', 'sealed', 2, 3, 3), (13, 'P1', 'on-badge', 3, 4, "
      "NULL);"));
  const std::map<std::uint64_t, badge::BadgeKind> expected = {{11, badge::BadgeKind::Plain},
                                                              {12, badge::BadgeKind::Sealed},
                                                              {13, badge::BadgeKind::OnBadge}};
  for (const auto& [serial, kind] : expected) {
    auto record = registry_->findBadge(serial);
    ASSERT_TRUE(record && *record) << serial;
    EXPECT_EQ((*record)->kind, kind) << serial;
  }
  auto list = registry_->list();
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 1U);
  EXPECT_EQ(list->front().storageMode, badge::BadgeKind::OnBadge);
  ASSERT_EQ(list->front().badges.size(), 3U);
  for (const auto& b : list->front().badges) {
    EXPECT_EQ(b.kind, expected.at(b.serial)) << b.serial;
  }
}

// A kind the schema forbids (written with its checks switched off): a corrupt row, never
// taken for some kind.
TEST_F(RegistryTest, AnUnknownKindOnDiskIsACorruptRow) {
  auto issued = registry_->issuePlainBadge("P1", true, kNow, 30);
  ASSERT_TRUE(issued);
  ASSERT_TRUE(db_->exec("PRAGMA ignore_check_constraints = ON; UPDATE badges SET kind = 'Plain'"));
  const auto record = registry_->findBadge(issued->serial);
  ASSERT_FALSE(record);
  EXPECT_EQ(record.error().code, ErrorCode::StorageCorrupt);
  const auto list = registry_->list();
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().code, ErrorCode::StorageCorrupt);
}

TEST_F(RegistryTest, VolunteeringRevokesThePlainBadgeAndVolunteersGetNoPlainBadge) {
  auto plain = registry_->issuePlainBadge("P1", true, kNow, 30);
  ASSERT_TRUE(plain);
  auto enrolled = registry_->enrol(request("P1"), randomEmbedding(9), nullptr);
  ASSERT_TRUE(enrolled) << enrolled.error().message;
  EXPECT_TRUE((*registry_->findBadge(plain->serial))->revokedAt)
      << "a plain badge must not let a volunteer skip the face check";
  const auto refused = registry_->issuePlainBadge("P1", true, kNow, 30);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::Refused);
}

TEST_F(RegistryTest, ANewPlainBadgeRevokesTheOldOne) {
  auto first = registry_->issuePlainBadge("P2", true, kNow, 30);
  auto second = registry_->issuePlainBadge("P2", true, kNow + 5, 30);
  ASSERT_TRUE(first && second);
  EXPECT_TRUE((*registry_->findBadge(first->serial))->revokedAt);
  EXPECT_FALSE((*registry_->findBadge(second->serial))->revokedAt);
}

TEST_F(RegistryTest, RevokeDeletesTheTemplateAndIsAudited) {
  auto issued = registry_->enrol(request("P1"), randomEmbedding(6), nullptr);
  ASSERT_TRUE(issued);
  ASSERT_TRUE(registry_->revokeBadge(issued->serial, kNow + 10));
  EXPECT_EQ((*registry_->findBadge(issued->serial))->revokedAt, kNow + 10);
  EXPECT_FALSE(*registry_->findSealedTemplate(issued->serial));
  EXPECT_EQ(registry_->revokeBadge(issued->serial, kNow + 20).error().code,
            ErrorCode::AlreadyExists);
  EXPECT_EQ(registry_->revokeBadge(12345, kNow).error().code, ErrorCode::NotFound);
  auto records = registry_->auditLog().records(0, 10);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 2U);
  EXPECT_EQ((*records)[0].event.action, "enrol");
  EXPECT_EQ((*records)[1].event.action, "revoke");
  // The badge is named by its pseudonym, never by the serial it prints.
  EXPECT_NE((*records)[1].event.badgeRef, issued->serial);
  EXPECT_EQ((*records)[1].event.badgeRef, *registry_->badgeRef(issued->serial));
  EXPECT_EQ((*records)[0].event.badgeRef, (*records)[1].event.badgeRef);
}

// The review: after `erase`, the badge's serial (printed in the badge, which the pupil or
// anyone else may keep) still led to the pupil's passages in the audit log. Now the log
// names badges by a pseudonym keyed with a key of the pupil's own, erased with the pupil.
TEST_F(RegistryTest, AfterEraseNothingLinksTheBadgeSerialToTheLog) {
  const std::string pupil = "ERASE-ME-0815";
  auto issued = registry_->enrol(request(pupil), randomEmbedding(9), nullptr);
  ASSERT_TRUE(issued);
  const std::uint64_t serial = issued->serial;
  ASSERT_TRUE(registry_->revokeBadge(serial, kNow + 5));
  const auto ref = registry_->badgeRef(serial);
  ASSERT_TRUE(ref && *ref);
  // A gate's passage is recorded under the same name.
  audit::AuditEvent passage{kNow + 6, "gate-1",       "passage",    std::nullopt,
                            *ref,     "REJECT_BADGE", std::nullopt, "reason=revoked"};
  ASSERT_TRUE(registry_->auditLog().append(passage));
  EXPECT_EQ(count("SELECT count(*) FROM audit_keys"), 1);

  ASSERT_TRUE(registry_->erasePupil(pupil, kNow + 100));
  EXPECT_EQ(count("SELECT count(*) FROM audit_keys"), 0) << "the key dies with the pupil";
  EXPECT_FALSE(*registry_->badgeRef(serial)) << "nothing can name the badge any more";
  auto records = registry_->auditLog().records(0, 100);
  ASSERT_TRUE(records);
  for (const auto& r : *records) {
    EXPECT_NE(r.event.badgeRef, serial) << "record " << r.seq << " carries the serial";
  }
  // Neither the serial (as the database stores it) nor the key's bytes remain in the files.
  const std::string bytes = fileBytes();
  std::string serialBytes;
  for (int i = 7; i >= 0; --i) {
    serialBytes += static_cast<char>(serial >> (8 * i));
  }
  EXPECT_EQ(bytes.find(serialBytes), std::string::npos) << "the serial is still in the file";
}

TEST_F(RegistryTest, EraseLeavesOnlyAnAnonymousTombstone) {
  const std::string pupil = "ERASE-ME-4711";
  auto r = request(pupil);
  r.displayName = "Zoe Findme-Quickly";
  auto issued = registry_->enrol(r, randomEmbedding(7), nullptr);
  ASSERT_TRUE(issued);
  ASSERT_TRUE(registry_->issuePlainBadge("OTHER-1", true, kNow, 30));
  auto refQuery = db_->prepare("SELECT audit_ref FROM pupils WHERE pupil_id = ?1");
  ASSERT_TRUE(refQuery);
  refQuery->bind(1, std::string_view(pupil));
  ASSERT_TRUE(refQuery->step().value_or(false));
  const std::string ref = refQuery->text(0);
  refQuery = db_->prepare("SELECT 1");  // release it before erasing

  ASSERT_TRUE(registry_->erasePupil(pupil, kNow + 100));
  EXPECT_EQ(count("SELECT count(*) FROM pupils WHERE pupil_id = 'ERASE-ME-4711'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM enrolments"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM badges"), 1) << "only the other pupil's badge";
  EXPECT_EQ(count("SELECT count(*) FROM sealed_templates"), 0);
  EXPECT_EQ(registry_->erasePupil(pupil, kNow).error().code, ErrorCode::NotFound);

  auto records = registry_->auditLog().records(0, 10);
  ASSERT_TRUE(records);
  const auto& tombstone = records->back();
  EXPECT_EQ(tombstone.event.action, "erase");
  EXPECT_EQ(tombstone.event.subject, ref);
  EXPECT_TRUE(registry_->auditLog().verify()->intact);
  // Nothing of the pupil remains in the files: id, name, consent references.
  const std::string bytes = fileBytes();
  for (const std::string& trace :
       {pupil, std::string("Findme-Quickly"), "FORM-2026-" + pupil, "GUARDIAN-" + pupil}) {
    EXPECT_EQ(bytes.find(trace), std::string::npos) << trace << " is still in the database file";
  }
}

TEST_F(RegistryTest, AuditNeverNamesThePupil) {
  ASSERT_TRUE(registry_->enrol(request("VISIBLE-ID-1"), randomEmbedding(8), nullptr));
  auto records = registry_->auditLog().records(0, 10);
  ASSERT_TRUE(records);
  for (const auto& record : *records) {
    EXPECT_NE(record.event.subject.value_or(""), "VISIBLE-ID-1");
    EXPECT_EQ(record.event.detail.find("VISIBLE-ID-1"), std::string::npos);
  }
}

// Review, issue 11: a badge whose file could not be written left its enrolment (and a
// "revoke") behind. The badge is delivered inside the transaction: a failed delivery
// leaves no trace, and the pupil's previous badge stays valid.
TEST_F(RegistryTest, AFailedDeliveryRecordsNothingAndKeepsTheOldBadge) {
  auto first = registry_->enrol(request("P1"), randomEmbedding(4), nullptr);
  ASSERT_TRUE(first);
  auto plain = registry_->issuePlainBadge("P2", true, kNow, 30);
  ASSERT_TRUE(plain);
  const auto auditHead = registry_->auditLog().verify()->headSeq;
  const auto badges = count("SELECT count(*) FROM badges");
  const auto templates = count("SELECT count(*) FROM sealed_templates");

  std::optional<std::uint64_t> delivered;
  const BadgeDelivery diskFull = [&](const badge::Badge& b) -> Result<void> {
    delivered = b.serial;
    EXPECT_TRUE(b.secret) << "a sealed badge is delivered with its secret";
    return fail(ErrorCode::StorageFailure, "cannot write badge.png: No space left on device");
  };
  auto r = request("P1");
  r.replace = true;
  const auto again = registry_->enrol(r, randomEmbedding(5), nullptr, diskFull);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::StorageFailure);
  EXPECT_NE(again.error().message.find("No space left"), std::string::npos);
  ASSERT_TRUE(delivered);
  EXPECT_FALSE(*registry_->findBadge(*delivered)) << "the undelivered badge is not registered";
  EXPECT_FALSE((*registry_->findBadge(first->serial))->revokedAt) << "the old badge still works";
  EXPECT_TRUE(*registry_->findSealedTemplate(first->serial));

  const BadgeDelivery fails = [](const badge::Badge& b) -> Result<void> {
    EXPECT_FALSE(b.secret);
    return fail(ErrorCode::StorageFailure, "cannot write raj.png");
  };
  EXPECT_FALSE(registry_->issuePlainBadge("P2", true, kNow + 5, 30, fails));
  EXPECT_FALSE(registry_->issuePlainBadge("P3", true, kNow + 5, 30, fails));
  EXPECT_FALSE((*registry_->findBadge(plain->serial))->revokedAt);

  EXPECT_EQ(count("SELECT count(*) FROM badges"), badges);
  EXPECT_EQ(count("SELECT count(*) FROM sealed_templates"), templates);
  EXPECT_EQ(count("SELECT count(*) FROM pupils WHERE pupil_id = 'P3'"), 0);
  const auto report = registry_->auditLog().verify();
  ASSERT_TRUE(report && report->intact);
  EXPECT_EQ(report->headSeq, auditHead) << "no audit record of an issue that did not happen";
}

TEST_F(RegistryTest, ASuccessfulDeliveryIsCommittedWithTheBadge) {
  std::optional<std::uint64_t> delivered;
  const BadgeDelivery deliver = [&](const badge::Badge& b) -> Result<void> {
    delivered = b.serial;
    EXPECT_TRUE(db_->inTransaction()) << "delivered before the commit";
    return {};
  };
  const auto issued = registry_->enrol(request("P1"), randomEmbedding(4), nullptr, deliver);
  ASSERT_TRUE(issued);
  EXPECT_EQ(delivered, issued->serial);
  EXPECT_TRUE(*registry_->findBadge(issued->serial));
}

}  // namespace
}  // namespace facegate::enrolment
