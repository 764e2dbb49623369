// The catalogue of hostile inputs: for every entry point of facegate, a table of what an
// attacker or an accident can feed it, and for each row the verdict we require:
//   - a clear error: the right ErrorCode (or rejection reason) and a message naming what is
//     wrong (config errors name file:line and the key path);
//   - no crash, no hang;
//   - nothing lost: the database, registry and audit chain are the same after as before;
//   - nothing granted: a hostile badge is Rejected at the gate, never a volunteer's template,
//     and through the real Gate it never sounds GRANTED.
// Adding a row is adding one line to a table; each row is its own named test.
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "facegate/app/settings.hpp"
#include "facegate/audit/audit_log.hpp"
#include "facegate/badge/base45.hpp"
#include "facegate/badge/payload.hpp"
#include "facegate/badge/qr.hpp"
#include "facegate/config/config.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/face/image_file.hpp"
#include "facegate/gate/badge_checker.hpp"
#include "facegate/gate/gate.hpp"
#include "facegate/signal/logging_signaller.hpp"
#include "facegate/store/database.hpp"
#include "painted_faces.hpp"
#include "test_support.hpp"

namespace facegate {
namespace {

namespace fs = std::filesystem;

const fs::path kCli = FACEGATE_CLI;
const fs::path kDaemon = FACEGATE_DAEMON;
const fs::path kShippedConfig = fs::path(FACEGATE_SOURCE_DIR) / "config" / "facegate.toml";

// Mid-2026, inside the validity of every badge the tests issue.
constexpr std::int64_t kNow = 1'780'000'000;
constexpr std::int64_t kDay = 86'400;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A readable gtest name from a row name: letters, digits and underscores only.
template <typename Row>
std::string rowName(const ::testing::TestParamInfo<Row>& info) {
  std::string name = info.param.name;
  for (char& c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) {
      c = '_';
    }
  }
  return name;
}

std::string randomBytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out(n, '\0');
  for (char& c : out) {
    c = static_cast<char>(byte(rng));
  }
  return out;
}

// ---- "Nothing lost": what a facegate database holds, in a comparable form ----

struct StoreSnapshot {
  std::map<std::string, std::int64_t> rows;  // per table, plus revoked badges
  bool chainIntact = false;
  std::int64_t headSeq = 0;
  std::string headHash;
  bool operator==(const StoreSnapshot&) const = default;
};

std::ostream& operator<<(std::ostream& os, const StoreSnapshot& s) {
  for (const auto& [table, count] : s.rows) {
    os << table << "=" << count << " ";
  }
  return os << "chain " << (s.chainIntact ? "intact" : "BROKEN") << " head " << s.headSeq << " "
            << s.headHash;
}

StoreSnapshot snapshot(store::Database& db) {
  StoreSnapshot s;
  const std::pair<const char*, const char*> counts[] = {
      {"pupils", "SELECT count(*) FROM pupils"},
      {"enrolments", "SELECT count(*) FROM enrolments"},
      {"badges", "SELECT count(*) FROM badges"},
      {"badges_revoked", "SELECT count(*) FROM badges WHERE revoked_at IS NOT NULL"},
      {"sealed_templates", "SELECT count(*) FROM sealed_templates"},
      {"audit_events", "SELECT count(*) FROM audit_events"},
  };
  for (const auto& [name, sql] : counts) {
    auto stmt = db.prepare(sql);
    EXPECT_TRUE(stmt) << stmt.error().message;
    if (!stmt) {
      continue;
    }
    auto row = stmt->step();
    EXPECT_TRUE(row && *row);
    s.rows[name] = stmt->integer(0);
  }
  audit::AuditLog log(db);
  auto report = log.verify();
  EXPECT_TRUE(report) << report.error().message;
  if (report) {
    s.chainIntact = report->intact;
    s.headSeq = report->headSeq;
    s.headHash = audit::toHex(report->headHash);
  }
  return s;
}

// Every entry of a directory tree with its size and content hash: a command that failed must
// not have created, grown or changed anything in it.
std::map<std::string, std::string> treeState(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(entry.path(), dir).string();
    if (entry.is_regular_file()) {
      out[rel] = std::to_string(std::hash<std::string>{}(test::readFile(entry.path())));
    } else {
      out[rel] = entry.is_directory() ? "<dir>" : "<special>";
    }
  }
  return out;
}

face::Embedding someEmbedding(std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> component(0.0F, 0.09F);
  face::Embedding e;
  for (auto& v : e.values()) {
    v = component(rng);
  }
  return e;
}

// Rows print as their names in gtest's messages.
template <typename Row>
requires requires(const Row& r) {
  r.name;
}
void PrintTo(const Row& row, std::ostream* os) {
  *os << row.name;
}

// =============================================================================================
// QR payloads: parseBadge + BadgeChecker, and where a QR code can carry the text, the real Gate
// =============================================================================================

// A school with its registry: a sealed volunteer, an on-badge volunteer, a pupil on a paper
// pass, a re-enrolled pupil (whose first badge is revoked) and a pupil who withdrew consent.
struct School {
  test::TempDir dir;
  std::optional<store::Database> db;
  std::optional<enrolment::Registry> registry;
  badge::SigningKey key = badge::SigningKey::generate();
  badge::SigningKey otherSchool = badge::SigningKey::generate();
  badge::TemplateKey templateKey = badge::TemplateKey::generate();

  std::string sealed;  // P-SEALED's valid badge
  std::uint64_t sealedSerial = 0;
  std::int64_t sealedIssued = 0;
  std::int64_t sealedExpires = 0;
  std::string onBadge;  // P-ONBADGE's valid badge
  std::string plain;    // P-PLAIN's valid badge
  std::string revoked;  // P-REENROL's first badge
  std::string erased;   // P-ERASED's badge, kept after the pupil was erased

  static std::unique_ptr<School> create() {
    auto s = std::make_unique<School>();
    auto db = store::Database::open(s->dir / "school.db");
    if (!db) {
      ADD_FAILURE() << db.error().message;
      return nullptr;
    }
    s->db.emplace(std::move(*db));
    s->registry.emplace(*s->db, "catalogue");
    const auto enrol = [&](const std::string& pupil, badge::BadgeKind mode, bool replace,
                           std::uint32_t seed) -> std::optional<badge::Badge> {
      enrolment::EnrolmentRequest r;
      r.pupilId = pupil;
      r.consentRef = "FORM-1";
      r.guardianConsentRef = "GUARDIAN-1";
      r.mode = mode;
      r.replace = replace;
      r.now = kNow - kDay;
      auto issued = s->registry->enrol(r, someEmbedding(seed), &s->templateKey);
      if (!issued) {
        ADD_FAILURE() << pupil << ": " << issued.error().message;
        return std::nullopt;
      }
      return std::move(*issued);
    };
    const auto text = [&](const badge::Badge& b) { return *badge::encodeBadge(b, s->key); };

    auto sealed = enrol("P-SEALED", badge::BadgeKind::Sealed, false, 1);
    auto onBadge = enrol("P-ONBADGE", badge::BadgeKind::OnBadge, false, 2);
    auto first = enrol("P-REENROL", badge::BadgeKind::Sealed, false, 3);
    auto second = enrol("P-REENROL", badge::BadgeKind::Sealed, true, 3);
    auto erased = enrol("P-ERASED", badge::BadgeKind::Sealed, false, 4);
    auto plain = s->registry->issuePlainBadge("P-PLAIN", true, kNow - kDay, 365);
    if (!sealed || !onBadge || !first || !second || !erased || !plain) {
      ADD_FAILURE() << "cannot build the school";
      return nullptr;
    }
    s->sealed = text(*sealed);
    s->sealedSerial = sealed->serial;
    s->sealedIssued = sealed->issuedAt;
    s->sealedExpires = sealed->expiresAt;
    s->onBadge = text(*onBadge);
    s->plain = text(*plain);
    s->revoked = text(*first);
    s->erased = text(*erased);
    if (auto r = s->registry->erasePupil("P-ERASED", kNow - kDay); !r) {
      ADD_FAILURE() << r.error().message;
      return nullptr;
    }
    return s;
  }

  // A sealed badge for P-SEALED's serial and validity, with a fresh secret.
  badge::Badge sealedLookalike() const {
    badge::Badge b;
    b.kind = badge::BadgeKind::Sealed;
    b.serial = sealedSerial;
    b.pupilId = "P-SEALED";
    b.issuedAt = sealedIssued;
    b.expiresAt = sealedExpires;
    b.secret = badge::newBadgeSecret();
    return b;
  }
};

std::vector<std::uint8_t> decoded(const std::string& text) {
  auto bytes = badge::base45Decode(text);
  EXPECT_TRUE(bytes) << bytes.error().message;
  return bytes ? *bytes : std::vector<std::uint8_t>{};
}

// The payload bytes signed again with `key` after a change: a badge the school's key really
// signed, whose fields the encoder would have refused.
std::string resigned(std::vector<std::uint8_t> bytes, const badge::SigningKey& key) {
  const std::size_t signedSize = bytes.size() - badge::kSignatureSize;
  std::vector<std::uint8_t> message(badge::kBadgeSignatureDomain.begin(),
                                    badge::kBadgeSignatureDomain.end());
  message.insert(message.end(), bytes.begin(), bytes.begin() + static_cast<long>(signedSize));
  const auto signature = key.sign(message);
  std::copy(signature.begin(), signature.end(), bytes.begin() + static_cast<long>(signedSize));
  return badge::base45Encode(bytes);
}

// What a frame showing the text as a QR code does at the gate.
enum class AtTheGate {
  Rejected,       // REJECT_BADGE with the row's reason
  Ignored,        // the scanner drops it (over the length cap): no passage at all
  NotRenderable,  // no QR code can carry it (empty, NUL bytes, too long for QR)
};

struct BadgeRow {
  std::string name;
  std::function<std::string(School&)> make;
  std::string reason;  // BadgeChecker's rejection reason
  AtTheGate gate = AtTheGate::Rejected;
};

std::vector<std::uint8_t> withByte(std::vector<std::uint8_t> b, std::size_t at, std::uint8_t v) {
  b.at(at) = v;
  return b;
}

// Offsets of the payload fields (payload.hpp).
constexpr std::size_t kKindAt = 1;
constexpr std::size_t kKeyIdAt = 2;
constexpr std::size_t kSerialAt = 6;
constexpr std::size_t kIssuedAt = 14;
constexpr std::size_t kPupilIdLengthAt = 22;
constexpr std::size_t kPupilIdAt = 23;

void putU32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    b.at(at + static_cast<std::size_t>(i)) = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  }
}

std::vector<BadgeRow> badgeRows() {
  using S = School;
  const auto bytesOf = [](const std::string& t) { return decoded(t); };
  const auto enc = [](const std::vector<std::uint8_t>& b) { return badge::base45Encode(b); };
  return {
      {"empty", [](S&) { return std::string(); }, "empty", AtTheGate::NotRenderable},
      {"ten_kB_of_A", [](S&) { return std::string(10'240, 'A'); }, "too-long",
       AtTheGate::NotRenderable},
      {"ten_kB_of_random_bytes", [](S&) { return randomBytes(10'240, 1); }, "too-long",
       AtTheGate::NotRenderable},
      {"over_the_cap_in_a_real_QR", [](S&) { return std::string(600, 'A'); }, "too-long",
       AtTheGate::Ignored},
      // 512 characters of valid base45 (341 bytes, the first 0x50): past the length cap, it is
      // refused on its content.
      {"at_the_cap_valid_base45_garbage", [](S&) { return std::string(510, 'A') + "00"; },
       "unknown-version"},
      {"random_bytes_under_the_cap",
       [](S&) {
         std::string t = randomBytes(200, 2);
         std::replace(t.begin(), t.end(), '\0', '\x01');
         return t;
       },
       "not-base45"},
      {"nul_byte_inside_a_valid_payload",
       [](S& s) {
         std::string t = s.sealed;
         t.insert(t.size() / 2, 1, '\0');
         return t;
       },
       "not-base45", AtTheGate::NotRenderable},
      {"utf8_inside_a_valid_payload",
       [](S& s) {
         std::string t = s.sealed;
         t.insert(t.size() / 2, "\xc3\xa9");  // é
         return t;
       },
       "not-base45"},
      {"valid_payload_in_lower_case",
       [](S& s) {
         std::string t = s.sealed;
         std::transform(t.begin(), t.end(), t.begin(),
                        [](char c) { return static_cast<char>(std::tolower(c)); });
         return t;
       },
       "not-base45"},
      {"base45_group_over_65535", [](S& s) { return ":::" + s.sealed.substr(3); }, "not-base45"},
      {"text_cut_inside_a_base45_group",
       [](S& s) { return s.sealed.substr(0, s.sealed.size() - 1); }, "not-base45"},
      {"truncated_payload",
       [=](S& s) {
         auto b = bytesOf(s.sealed);
         b.resize(b.size() - 10);
         return enc(b);
       },
       "truncated"},
      {"header_only",
       [=](S& s) {
         auto b = bytesOf(s.sealed);
         b.resize(20);
         return enc(b);
       },
       "truncated"},
      {"trailing_garbage_bytes",
       [=](S& s) {
         auto b = bytesOf(s.sealed);
         b.insert(b.end(), {0xde, 0xad, 0xbe, 0xef});
         return enc(b);
       },
       "oversized"},
      // The last pair and the extra character make one 3-character group: one byte more.
      {"trailing_garbage_text", [](S& s) { return s.sealed + "A"; }, "oversized"},
      {"trailing_newline", [](S& s) { return s.sealed + "\n"; }, "not-base45"},
      {"wrong_version_byte", [=](S& s) { return enc(withByte(bytesOf(s.sealed), 0, 2)); },
       "unknown-version"},
      {"version_byte_zero", [=](S& s) { return enc(withByte(bytesOf(s.sealed), 0, 0)); },
       "unknown-version"},
      {"unknown_kind_byte", [=](S& s) { return enc(withByte(bytesOf(s.sealed), kKindAt, 7)); },
       "unknown-kind"},
      {"sealed_kind_byte_set_to_plain",
       [=](S& s) { return enc(withByte(bytesOf(s.sealed), kKindAt, 0)); }, "oversized"},
      {"pupil_id_length_byte_changed",
       [=](S& s) { return enc(withByte(bytesOf(s.sealed), kPupilIdLengthAt, 9)); }, "truncated"},
      {"one_flipped_signature_byte",
       [=](S& s) {
         auto b = bytesOf(s.sealed);
         b.back() ^= 0x01;
         return enc(b);
       },
       "bad-signature"},
      {"one_flipped_serial_byte",
       [=](S& s) {
         auto b = bytesOf(s.sealed);
         b.at(kSerialAt + 7) ^= 0x01;
         return enc(b);
       },
       "bad-signature"},
      {"one_flipped_secret_byte",
       [=](S& s) {
         auto b = bytesOf(s.sealed);
         b.at(kPupilIdAt + 8) ^= 0x80;  // first byte of the secret ("P-SEALED" is 8 long)
         return enc(b);
       },
       "bad-signature"},
      {"validity_extended_without_signing",
       [=](S& s) {
         auto b = bytesOf(s.sealed);
         putU32(b, kIssuedAt + 4, 0xFFFFFFFF);
         return enc(b);
       },
       "bad-signature"},
      {"another_schools_key",
       [](S& s) { return *badge::encodeBadge(s.sealedLookalike(), s.otherSchool); },
       "other-school"},
      {"another_schools_signature_under_our_key_id",
       [=](S& s) {
         auto mine = bytesOf(s.sealed);
         auto theirs = bytesOf(*badge::encodeBadge(s.sealedLookalike(), s.otherSchool));
         std::copy(mine.begin() + kKeyIdAt, mine.begin() + kKeyIdAt + 4, theirs.begin() + kKeyIdAt);
         return enc(theirs);
       },
       "bad-signature"},
      {"expired",
       [](S& s) {
         auto b = s.sealedLookalike();
         b.issuedAt = kNow - 400 * kDay;
         b.expiresAt = kNow - kDay;
         return *badge::encodeBadge(b, s.key);
       },
       "expired"},
      {"expires_this_very_second",
       [](S& s) {
         auto b = s.sealedLookalike();
         b.expiresAt = kNow;
         return *badge::encodeBadge(b, s.key);
       },
       "expired"},
      {"not_yet_valid",
       [](S& s) {
         auto b = s.sealedLookalike();
         b.issuedAt = kNow + 3600;
         b.expiresAt = kNow + 365 * kDay;
         return *badge::encodeBadge(b, s.key);
       },
       "not-yet-valid"},
      {"signed_with_serial_zero",
       [=](S& s) {
         auto b = bytesOf(s.plain);
         for (std::size_t i = 0; i < 8; ++i) {
           b.at(kSerialAt + i) = 0;
         }
         return resigned(b, s.key);
       },
       "bad-field"},
      {"signed_with_a_control_character_in_the_pupil_id",
       [=](S& s) { return resigned(withByte(bytesOf(s.plain), kPupilIdAt + 1, '\n'), s.key); },
       "bad-field"},
      {"signed_with_expiry_before_issue",
       [=](S& s) {
         auto b = bytesOf(s.plain);
         putU32(b, kIssuedAt + 4, 1000);
         return resigned(b, s.key);
       },
       "bad-field"},
      {"unknown_serial",
       [](S& s) {
         badge::Badge b;
         b.serial = 0x0123456789abcdefULL;
         b.pupilId = "P-NOBODY";
         b.issuedAt = kNow - kDay;
         b.expiresAt = kNow + kDay;
         return *badge::encodeBadge(b, s.key);
       },
       "unknown"},
      {"badge_of_an_erased_pupil", [](S& s) { return s.erased; }, "unknown"},
      {"replayed_revoked_badge", [](S& s) { return s.revoked; }, "revoked"},
      {"same_serial_with_a_different_secret",
       [](S& s) { return *badge::encodeBadge(s.sealedLookalike(), s.key); },
       "template-does-not-open"},
      {"same_serial_for_another_pupil",
       [](S& s) {
         auto b = s.sealedLookalike();
         b.pupilId = "P-PLAIN";
         return *badge::encodeBadge(b, s.key);
       },
       "record-mismatch"},
      // A volunteer's serial in a plain badge would skip the face check (MANUAL_CHECK).
      {"volunteer_serial_in_a_plain_badge",
       [](S& s) {
         auto b = s.sealedLookalike();
         b.kind = badge::BadgeKind::Plain;
         b.secret.reset();
         return *badge::encodeBadge(b, s.key);
       },
       "record-mismatch"},
  };
}

class BadgeCatalogue : public ::testing::TestWithParam<BadgeRow> {
 protected:
  static void SetUpTestSuite() { school_ = School::create().release(); }
  static void TearDownTestSuite() {
    delete school_;
    school_ = nullptr;
  }

  gate::CheckedBadge check(const std::string& text) {
    gate::BadgeChecker checker(*school_->registry, school_->key.publicKey(), &school_->templateKey);
    return checker.check(text, kNow);
  }

  struct GateRun {
    std::optional<gate::Decision> decision;
    std::vector<signal::SignalEvent> events;
    gate::State state = gate::State::Idle;
  };

  // One frame showing the QR code, through a fresh real Gate. Its face engine is the
  // painted-face double: these rows are about badges, and no face is painted.
  GateRun throughTheGate(const cv::Mat& frameBgr) {
    gate::BadgeChecker checker(*school_->registry, school_->key.publicKey(), &school_->templateKey);
    audit::AuditLog log(*school_->db);
    signal::LoggingSignaller signaller;
    gate::ManualWallClock wall(kNow);
    gate::RecordingNotifier notifier;
    gate::GateSettings settings = app::gateSettingsFrom(config::defaults());
    settings.gateId = "gate-catalogue";
    gate::Gate g(settings, faces_, checker, signaller, log, wall, notifier);
    camera::Frame frame{frameBgr, std::chrono::steady_clock::now(), 0};
    GateRun run;
    run.decision = g.onFrame(frame);
    run.events = signaller.events();
    run.state = g.state();
    return run;
  }

  static School* school_;
  test::PaintedFaces faces_;
};

School* BadgeCatalogue::school_ = nullptr;

Result<cv::Mat> qrFrame(const std::string& text) {
  auto qr = badge::renderQr(text, 4, 4);
  if (!qr) {
    return tl::unexpected(qr.error());
  }
  cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(255, 255, 255));
  if (qr->cols > frame.cols - 40 || qr->rows > frame.rows - 40) {
    return fail(ErrorCode::InvalidArgument, "the QR code does not fit a 640x480 frame");
  }
  cv::Mat bgr;
  cv::cvtColor(*qr, bgr, cv::COLOR_GRAY2BGR);
  bgr.copyTo(frame(cv::Rect(20, 20, bgr.cols, bgr.rows)));
  return frame;
}

// The school and the Gate really accept its valid badges: the rows below fail for their own
// reason, not because the set-up is broken.
TEST_F(BadgeCatalogue, TheSchoolsValidBadgesAreAccepted) {
  ASSERT_NE(school_, nullptr);
  const auto sealed = check(school_->sealed);
  EXPECT_EQ(sealed.check.kind, gate::BadgeCheck::Kind::Volunteer) << sealed.check.reason;
  EXPECT_TRUE(sealed.templ);
  const auto onBadge = check(school_->onBadge);
  EXPECT_EQ(onBadge.check.kind, gate::BadgeCheck::Kind::Volunteer) << onBadge.check.reason;
  const auto plain = check(school_->plain);
  EXPECT_EQ(plain.check.kind, gate::BadgeCheck::Kind::NonVolunteer) << plain.check.reason;

  auto frame = qrFrame(school_->plain);
  ASSERT_TRUE(frame) << frame.error().message;
  const auto run = throughTheGate(*frame);
  ASSERT_TRUE(run.decision) << "the gate did not read the plain badge's QR code";
  EXPECT_EQ(run.decision->outcome, gate::Outcome::ManualCheck);
  EXPECT_EQ(faces_.detectCalls(), 0U) << "a non-volunteer's passage looks for no face";
  auto volunteer = qrFrame(school_->sealed);
  ASSERT_TRUE(volunteer);
  const auto verifying = throughTheGate(*volunteer);
  EXPECT_FALSE(verifying.decision);
  EXPECT_EQ(verifying.state, gate::State::Verifying) << "a volunteer's badge starts a face check";
  EXPECT_EQ(faces_.detectCalls(), 1U) << "on the frame that showed the badge";
}

TEST_P(BadgeCatalogue, IsRejectedAndGrantsNothing) {
  ASSERT_NE(school_, nullptr);
  const BadgeRow& row = GetParam();
  const std::string text = row.make(*school_);
  const StoreSnapshot before = snapshot(*school_->db);
  ASSERT_TRUE(before.chainIntact);

  // The parser alone, where the row is about the payload itself.
  const auto parsed = badge::parseBadge(text, school_->key.publicKey(), kNow);
  const std::set<std::string> storeReasons = {"unknown", "revoked", "template-does-not-open",
                                              "record-mismatch"};
  if (storeReasons.count(row.reason) == 0) {
    ASSERT_FALSE(parsed) << "parseBadge accepted it";
    EXPECT_EQ(badge::toString(parsed.error().reason), row.reason) << parsed.error().message;
    EXPECT_FALSE(parsed.error().message.empty());
    EXPECT_LT(parsed.error().message.size(), 300U) << "one sentence, not the payload";
  } else {
    EXPECT_TRUE(parsed) << "a genuine signature: the store has to refuse it";
  }

  const auto checked = check(text);
  EXPECT_EQ(checked.check.kind, gate::BadgeCheck::Kind::Rejected);
  EXPECT_EQ(checked.check.reason, row.reason);
  EXPECT_FALSE(checked.templ) << "a rejected badge must not yield a template";
  EXPECT_EQ(snapshot(*school_->db), before) << "the badge check changed the database";

  auto frame = qrFrame(text);
  if (row.gate == AtTheGate::NotRenderable) {
    EXPECT_FALSE(frame) << "expected no QR code to carry this text";
    return;
  }
  ASSERT_TRUE(frame) << frame.error().message;
  const auto run = throughTheGate(*frame);
  for (const auto& event : run.events) {
    EXPECT_NE(event.pattern, "granted");
  }
  EXPECT_EQ(faces_.detectCalls(), 0U) << "a rejected badge reached the face engine";
  StoreSnapshot after = snapshot(*school_->db);
  if (row.gate == AtTheGate::Ignored) {
    EXPECT_FALSE(run.decision) << "decided " << gate::toString(run.decision->outcome);
    EXPECT_EQ(run.state, gate::State::Idle);
    EXPECT_EQ(after, before);
    return;
  }
  ASSERT_TRUE(run.decision) << "the gate did not decide on the QR code";
  EXPECT_EQ(run.decision->outcome, gate::Outcome::RejectBadge);
  EXPECT_EQ(run.decision->reason, row.reason);
  // Exactly one more audit record (the passage), nothing else changed, the chain holds.
  ASSERT_TRUE(after.chainIntact);
  EXPECT_EQ(after.headSeq, before.headSeq + 1);
  after.rows["audit_events"] -= 1;
  after.headSeq = before.headSeq;
  after.headHash = before.headHash;
  EXPECT_EQ(after, before);
}

INSTANTIATE_TEST_SUITE_P(Qr, BadgeCatalogue, ::testing::ValuesIn(badgeRows()), rowName<BadgeRow>);

// =============================================================================================
// Images: face::loadImage, and the two commands that read photos (verify, enroll)
// =============================================================================================

std::string encoded(const cv::Mat& image, const std::string& ext) {
  std::vector<std::uint8_t> out;
  EXPECT_TRUE(cv::imencode(ext, image, out));
  return {out.begin(), out.end()};
}

std::string fixture(const std::string& relative) {
  return test::readFile(test::dataDir() / "faces" / relative);
}

// A minimal PNG: signature, IHDR declaring `w` x `h`, an empty IDAT, IEND. CRCs are zero:
// the header check must refuse it before anything reads further.
std::string pngHeaderOnly(std::uint32_t w, std::uint32_t h) {
  std::string b = "\x89PNG\r\n\x1a\n";
  const auto u32 = [&b](std::uint32_t v) {
    for (int i = 3; i >= 0; --i) {
      b += static_cast<char>((v >> (8 * i)) & 0xff);
    }
  };
  u32(13);
  b += "IHDR";
  u32(w);
  u32(h);
  b += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB
  u32(0);                                       // CRC
  u32(0);
  b += "IDAT";
  u32(0);
  u32(0);
  b += "IEND";
  u32(0);
  return b;
}

// A JPEG whose frame header (SOF0) declares `w` x `h`, with an empty scan and an end marker.
std::string jpegHeaderOnly(std::uint16_t w, std::uint16_t h) {
  std::string b = "\xff\xd8";
  b += std::string("\xff\xc0\x00\x0b\x08", 5);
  b += static_cast<char>(h >> 8);
  b += static_cast<char>(h & 0xff);
  b += static_cast<char>(w >> 8);
  b += static_cast<char>(w & 0xff);
  b += std::string("\x01\x01\x11\x00", 4);
  b += std::string("\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00", 10);
  b += std::string("\x00\x00\xff\xd9", 4);
  return b;
}

std::string bmpHeaderOnly(std::int32_t w, std::int32_t h) {
  std::string b(54, '\0');
  b[0] = 'B';
  b[1] = 'M';
  const auto le32 = [&b](std::size_t at, std::int32_t v) {
    const auto u = static_cast<std::uint32_t>(v);
    for (std::size_t i = 0; i < 4; ++i) {
      b[at + i] = static_cast<char>((u >> (8 * i)) & 0xff);
    }
  };
  le32(2, 54);
  le32(10, 54);
  le32(14, 40);
  le32(18, w);
  le32(22, h);
  b[26] = 1;
  b[28] = 24;
  return b;
}

struct ImageRow {
  std::string name;
  // Makes the input under `dir` and returns its path.
  std::function<fs::path(const fs::path& dir)> make;
  ErrorCode code;
  std::string fragment;  // besides the file's name, which every message must hold
};

fs::path written(const fs::path& path, const std::string& bytes) {
  test::writeFile(path, bytes);
  return path;
}

std::vector<ImageRow> imageRows() {
  return {
      {"missing_file", [](const fs::path& d) { return d / "nobody.jpg"; }, ErrorCode::FileNotFound,
       "does not exist"},
      {"zero_size_file", [](const fs::path& d) { return written(d / "empty.jpg", ""); },
       ErrorCode::ImageUndecodable, "is empty"},
      {"directory_instead_of_file",
       [](const fs::path& d) {
         fs::create_directory(d / "photo.jpg");
         return d / "photo.jpg";
       },
       ErrorCode::FileUnreadable, "not a regular file"},
      {"named_pipe_instead_of_file",  // must not block waiting for a writer
       [](const fs::path& d) {
         EXPECT_EQ(::mkfifo((d / "pipe.jpg").c_str(), 0600), 0);
         return d / "pipe.jpg";
       },
       ErrorCode::FileUnreadable, "not a regular file"},
      {"text_file_named_jpg",
       [](const fs::path& d) { return written(d / "notes.jpg", "not a photo, just notes\n"); },
       ErrorCode::ImageUndecodable, "not a PNG, JPEG or BMP"},
      {"truncated_jpeg",
       [](const fs::path& d) {
         const std::string whole = fixture("obama/obama_1.jpg");
         return written(d / "cut.jpg", whole.substr(0, whole.size() / 2));
       },
       ErrorCode::ImageUndecodable, "truncated JPEG"},
      {"truncated_png",
       [](const fs::path& d) {
         const std::string whole = fixture("penny/penny_1.png");
         return written(d / "cut.png", whole.substr(0, whole.size() / 2));
       },
       ErrorCode::ImageUndecodable, "truncated PNG"},
      {"png_with_corrupted_pixel_data",
       [](const fs::path& d) {
         std::string bytes = fixture("penny/penny_1.png");
         for (std::size_t i = bytes.size() / 3; i < bytes.size() / 2; ++i) {
           bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
         }
         return written(d / "scrambled.png", bytes);
       },
       ErrorCode::ImageUndecodable, "could not be decoded"},
      {"png_declaring_100000x100000",
       [](const fs::path& d) { return written(d / "bomb.png", pngHeaderOnly(100'000, 100'000)); },
       ErrorCode::ImageTooLarge, "is 100000x100000 pixels"},
      // 2^32-1 on each side: the pixel count overflows 64 bits.
      {"png_declaring_the_largest_u32_sides",
       [](const fs::path& d) {
         return written(d / "bomb32.png", pngHeaderOnly(0xFFFFFFFFU, 0xFFFFFFFFU));
       },
       ErrorCode::ImageTooLarge, "4294967295x4294967295"},
      {"png_declaring_a_zero_width",
       [](const fs::path& d) { return written(d / "zero.png", pngHeaderOnly(0, 100)); },
       ErrorCode::ImageUndecodable, "invalid size 0x100"},
      {"jpeg_declaring_65535x65535",
       [](const fs::path& d) { return written(d / "bomb.jpg", jpegHeaderOnly(65535, 65535)); },
       ErrorCode::ImageTooLarge, "is 65535x65535 pixels"},
      {"bmp_declaring_the_most_negative_height",
       [](const fs::path& d) {
         return written(d / "bomb.bmp",
                        bmpHeaderOnly(0x7FFFFFFF, std::numeric_limits<std::int32_t>::min()));
       },
       ErrorCode::ImageTooLarge, "more than the 40-megapixel limit"},
      {"one_by_one_png",
       [](const fs::path& d) {
         return written(d / "dot.png",
                        encoded(cv::Mat(1, 1, CV_8UC3, cv::Scalar(1, 2, 3)), ".png"));
       },
       ErrorCode::ImageTooSmall, "is 1x1 pixels, too small"},
      {"one_by_one_jpeg",
       [](const fs::path& d) {
         return written(d / "dot.jpg",
                        encoded(cv::Mat(1, 1, CV_8UC3, cv::Scalar(1, 2, 3)), ".jpg"));
       },
       ErrorCode::ImageTooSmall, "is 1x1 pixels, too small"},
  };
}

// Peak resident memory of this process, in kB.
long peakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

class ImageCatalogue : public ::testing::TestWithParam<ImageRow> {
 protected:
  test::TempDir dir_;
};

TEST_P(ImageCatalogue, LoaderRefusesItNamingTheFile) {
  const ImageRow& row = GetParam();
  const fs::path path = row.make(dir_.path());
  const long rssBefore = peakRssKb();
  const auto image = face::loadImage(path);
  const long rssAfter = peakRssKb();
  ASSERT_FALSE(image) << "loaded a " << image->cols << "x" << image->rows << " image";
  EXPECT_EQ(image.error().code, row.code)
      << toString(image.error().code) << ": " << image.error().message;
  EXPECT_TRUE(contains(image.error().message, path.string())) << image.error().message;
  EXPECT_TRUE(contains(image.error().message, row.fragment)) << image.error().message;
  // Refused from the header: no buffer for the declared pixels was ever allocated.
  EXPECT_LT(rssAfter - rssBefore, 64 * 1024)
      << "peak RSS grew by " << (rssAfter - rssBefore) << " kB";
}

// `facegate verify` with the hostile file as either photo: exit 2, one sentence naming the
// file, nothing on stdout.
TEST_P(ImageCatalogue, VerifyCommandRefusesIt) {
  FACEGATE_REQUIRE_MODELS();
  const ImageRow& row = GetParam();
  const fs::path path = row.make(dir_.path());
  const std::string good = (test::dataDir() / "faces" / "obama" / "obama_1.jpg").string();
  const auto before = treeState(dir_.path());
  const auto r = test::runCommand(
      kCli, {"verify", good, path.string(), "--models", test::modelDir().string()});
  EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_TRUE(contains(r.err, path.string())) << r.err;
  EXPECT_TRUE(contains(r.err, row.fragment)) << r.err;
  EXPECT_EQ(treeState(dir_.path()), before);
}

// `facegate enroll` with the hostile photo among good ones: exit 2, the registry and the audit
// log unchanged, no badge written.
TEST_P(ImageCatalogue, EnrolCommandRefusesItAndRecordsNothing) {
  FACEGATE_REQUIRE_MODELS();
  const ImageRow& row = GetParam();
  const fs::path path = row.make(dir_.path());
  const fs::path db = dir_ / "desk.db";
  {
    auto opened = store::Database::open(db);
    ASSERT_TRUE(opened) << opened.error().message;
    enrolment::Registry registry(*opened, "catalogue");
    ASSERT_TRUE(registry.issuePlainBadge("P-OTHER", true, kNow, 30));
  }
  auto key = badge::SigningKey::generate();
  ASSERT_TRUE(key.save(dir_ / "school-signing.key"));
  std::optional<StoreSnapshot> before;
  {
    auto opened = store::Database::open(db);
    ASSERT_TRUE(opened);
    before = snapshot(*opened);
  }
  const auto r = test::runCommand(
      kCli,
      {"enroll", "--db", db.string(), "--pupil", "P-NEW", "--consent", "F-1", "--guardian-consent",
       "G-1", "--key", (dir_ / "school-signing.key").string(), "--badge-out",
       (dir_ / "badge.png").string(), "--models", test::modelDir().string(), "--photo",
       (test::dataDir() / "faces" / "penny" / "penny_1.png").string(), "--photo", path.string()});
  EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, path.string())) << r.err;
  EXPECT_TRUE(contains(r.err, row.fragment)) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "badge.png"));
  auto opened = store::Database::open(db);
  ASSERT_TRUE(opened);
  EXPECT_EQ(snapshot(*opened), *before);
}

INSTANTIATE_TEST_SUITE_P(Photo, ImageCatalogue, ::testing::ValuesIn(imageRows()),
                         rowName<ImageRow>);

// =============================================================================================
// Configuration: every key of the shipped config/facegate.toml, given a wrong type and values
// out of its range; then the file-level hostile inputs
// =============================================================================================

constexpr std::string_view kConfigName = "facegate.toml";

struct ShippedKey {
  std::string path;   // "camera.width"
  std::string value;  // the literal as written: 640, "demo", [80], true
  std::size_t line = 0;
};

struct ShippedConfig {
  std::vector<std::string> lines;
  std::vector<ShippedKey> keys;
  std::vector<std::pair<std::string, std::size_t>> tables;  // name, line of its header
};

const ShippedConfig& shipped() {
  static const ShippedConfig config = [] {
    ShippedConfig c;
    std::ifstream in(kShippedConfig);
    std::string line;
    std::string table;
    const std::regex header(R"(^\[([a-z_.]+)\]$)");
    const std::regex key(R"(^([a-z_]+) = (.+)$)");
    while (std::getline(in, line)) {
      c.lines.push_back(line);
      std::smatch m;
      if (std::regex_match(line, m, header)) {
        table = m[1];
        c.tables.emplace_back(table, c.lines.size());
      } else if (std::regex_match(line, m, key)) {
        c.keys.push_back({table + "." + m[1].str(), m[2], c.lines.size()});
      }
    }
    return c;
  }();
  return config;
}

std::string joinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

// The shipped file with one line (1-based) replaced.
std::string shippedWithLine(std::size_t line, const std::string& replacement) {
  auto lines = shipped().lines;
  lines.at(line - 1) = replacement;
  return joinLines(lines);
}

std::string keyName(const std::string& path) {
  return path.substr(path.rfind('.') + 1);
}

struct ConfigRow {
  std::string name;
  std::string text;
  std::vector<std::string> fragments;  // each must appear in the error message
};

// The range of every number in the schema (config.cpp's validator).
struct NumericRange {
  std::string path;
  std::string min;
  std::string max;
  std::string below;
  std::string above;
};

const std::vector<NumericRange>& numericRanges() {
  static const std::vector<NumericRange> ranges = {
      {"camera.width", "160", "3840", "159", "3841"},
      {"camera.height", "120", "2160", "119", "2161"},
      {"camera.fps", "1", "120", "0", "121"},
      {"camera.stall_timeout_ms", "200", "5000", "199", "5001"},
      {"camera.reconnect_min_ms", "100", "60000", "99", "60001"},
      // Its lower bound is reconnect_min_ms (500 in the shipped file).
      {"camera.reconnect_max_ms", "500", "600000", "499", "600001"},
      {"badge.debounce_ms", "0", "600000", "-1", "600001"},
      {"badge.valid_days", "1", "3660", "0", "3661"},
      {"face.threshold", "0.001", "2.0", "0.0", "2.0001"},
      {"face.window_ms", "500", "20000", "499", "20001"},
      {"face.frames", "1", "15", "0", "16"},
      {"face.min_face_px", "40", "1000", "39", "1001"},
      {"face.detect_max_side", "80", "4096", "79", "4097"},
      {"gpio.buzzer_line", "0", "1023", "-1", "1024"},
      {"gpio.green_line", "-1", "1023", "-2", "1024"},
      {"gpio.red_line", "-1", "1022", "-2", "1024"},
      {"gpio.ack_button_line", "-1", "1021", "-2", "1024"},
      {"audit.retention_days", "1", "3650", "0", "3651"},
      // [liveness], once the shipped file documents it.
      {"liveness.frames", "2", "30", "1", "31"},
      {"liveness.border_sides", "1", "4", "0", "5"},
      {"liveness.border_frame_share", "0.001", "1.0", "0.0", "1.0001"},
      {"liveness.planar_min_motion_px", "0.001", "100.0", "0.0", "100.0001"},
      {"liveness.planar_max_residual", "0.001", "1.0", "0.0", "1.0001"},
  };
  return ranges;
}

std::vector<std::string> wrongTypes(const std::string& literal) {
  if (literal.front() == '"') {
    return {"1", "1.5", "true", "[" + literal + "]", "{ v = " + literal + " }", "1970-01-01"};
  }
  if (literal.front() == '[') {
    return {"80", "\"80\"", "true", "{ on = 80 }"};
  }
  if (literal == "true" || literal == "false") {
    return {"\"" + literal + "\"", "0", "[" + literal + "]", "{ v = " + literal + " }"};
  }
  if (contains(literal, ".")) {  // a float (face.threshold: an integer is a valid number)
    return {"\"" + literal + "\"", "true", "[" + literal + "]", "{ v = " + literal + " }",
            "1970-01-01"};
  }
  return {"\"" + literal + "\"",     literal + ".5",        "true", "[" + literal + "]",
          "{ v = " + literal + " }", "1970-01-01T00:00:00Z"};
}

std::string describeLiteral(const std::string& literal) {
  if (literal.front() == '"') {
    return "string";
  }
  if (literal.front() == '[') {
    return "array";
  }
  if (literal.front() == '{') {
    return "table";
  }
  if (literal == "true" || literal == "false") {
    return "boolean";
  }
  if (contains(literal, "T")) {
    return "datetime";
  }
  if (contains(literal, "-") && literal.size() == 10) {
    return "date";
  }
  return contains(literal, ".") ? "float" : "integer";
}

std::vector<ConfigRow> generatedConfigRows() {
  std::vector<ConfigRow> rows;
  const std::string file(kConfigName);
  for (const ShippedKey& key : shipped().keys) {
    const std::string at = fmt::format("{}:{}: {}", file, key.line, key.path);
    for (const std::string& wrong : wrongTypes(key.value)) {
      rows.push_back({fmt::format("{}_as_{}", key.path, describeLiteral(wrong)),
                      shippedWithLine(key.line, keyName(key.path) + " = " + wrong),
                      {at + " must be"}});
    }
    const auto range = std::find_if(numericRanges().begin(), numericRanges().end(),
                                    [&](const NumericRange& r) { return r.path == key.path; });
    if (range != numericRanges().end()) {
      rows.push_back({key.path + "_below_its_minimum",
                      shippedWithLine(key.line, keyName(key.path) + " = " + range->below),
                      {fmt::format("{} = {}", at, range->below)}});
      rows.push_back({key.path + "_above_its_maximum",
                      shippedWithLine(key.line, keyName(key.path) + " = " + range->above),
                      {fmt::format("{} = {}", at, range->above)}});
    }
    if (key.value.front() == '[') {  // a pattern: its entries and their count
      const std::string entries = fmt::format("{}:{}: {}[0]", file, key.line, key.path);
      rows.push_back({key.path + "_entry_as_string",
                      shippedWithLine(key.line, keyName(key.path) + " = [\"80\"]"),
                      {entries + " must be an integer"}});
      rows.push_back({key.path + "_nested_array",
                      shippedWithLine(key.line, keyName(key.path) + " = [[80]]"),
                      {entries + " must be an integer"}});
      rows.push_back({key.path + "_entry_below_10_ms",
                      shippedWithLine(key.line, keyName(key.path) + " = [9]"),
                      {entries + " = 9 is out of range [10, 5000]"}});
      rows.push_back({key.path + "_entry_above_5000_ms",
                      shippedWithLine(key.line, keyName(key.path) + " = [5001]"),
                      {entries + " = 5001 is out of range [10, 5000]"}});
      rows.push_back({key.path + "_empty",
                      shippedWithLine(key.line, keyName(key.path) + " = []"),
                      {at + " has 0 entries"}});
      rows.push_back(
          {key.path + "_17_entries",
           shippedWithLine(key.line,
                           keyName(key.path) + " = [" +
                               fmt::format("{}", fmt::join(std::vector<int>(17, 80), ", ")) + "]"),
           {at + " has 17 entries"}});
    }
  }
  // A table given as something else. A top-level table's header becomes a comment and the
  // value goes on line 1 (the file's first line is a comment), before any table; a subtable's
  // header becomes the value inside its parent table. (Its keys then land in the table
  // before: more errors, which is fine.)
  for (const auto& [table, line] : shipped().tables) {
    const bool sub = contains(table, ".");
    const std::string name = table.substr(table.rfind('.') + 1);
    for (const auto& [type, value] :
         {std::pair<std::string, std::string>{"array", "[1]"}, {"string", "\"x\""}}) {
      auto lines = shipped().lines;
      EXPECT_TRUE(lines.front().starts_with("#"));
      if (sub) {
        lines.at(line - 1) = name + " = " + value;
      } else {
        lines.at(line - 1) = "# [" + table + "] removed";
        lines.front() = name + " = " + value;
      }
      // A table that has subtables ([gpio] and [gpio.patterns]) cannot even be written as
      // a value: the subtable's header is then a TOML syntax error. (toml++ reports it on the
      // line after the header.)
      const auto subtable =
          std::find_if(shipped().tables.begin(), shipped().tables.end(),
                       [&](const auto& other) { return other.first.starts_with(table + "."); });
      if (subtable != shipped().tables.end()) {
        rows.push_back({table + "_table_as_" + type,
                        joinLines(lines),
                        {file + ":", "invalid TOML", "'" + subtable->first + "' as table"}});
        continue;
      }
      // With its header gone, a top-level table's keys fall into the table above it; a key
      // name both have ([face] and [liveness] both have `frames`) is then a redefinition,
      // a TOML syntax error, before any table could be checked.
      if (!sub) {
        const std::pair<std::string, std::size_t>* above = nullptr;
        for (const auto& other : shipped().tables) {
          if (other.second < line && (above == nullptr || other.second > above->second)) {
            above = &other;
          }
        }
        const auto keyName = [](const std::string& path) {
          return path.substr(path.rfind('.') + 1);
        };
        const bool clash =
            above != nullptr &&
            std::any_of(shipped().keys.begin(), shipped().keys.end(), [&](const ShippedKey& k) {
              return k.path.starts_with(table + ".") &&
                     std::any_of(shipped().keys.begin(), shipped().keys.end(),
                                 [&](const ShippedKey& o) {
                                   return o.path == above->first + "." + keyName(k.path);
                                 });
            });
        if (clash) {
          rows.push_back({table + "_table_as_" + type,
                          joinLines(lines),
                          {file + ":", "invalid TOML", "cannot redefine"}});
          continue;
        }
      }
      rows.push_back(
          {table + "_table_as_" + type,
           joinLines(lines),
           {fmt::format("{}:{}: {} must be a table, got {}", file, sub ? line : 1, table, type)}});
    }
  }
  return rows;
}

std::vector<ConfigRow> handWrittenConfigRows() {
  const std::string file(kConfigName);
  const std::string text = joinLines(shipped().lines);
  const auto lineOf = [](const std::string& path) {
    for (const auto& k : shipped().keys) {
      if (k.path == path) {
        return k.line;
      }
    }
    ADD_FAILURE() << path << " is not in the shipped file";
    return std::size_t{0};
  };
  const std::size_t width = lineOf("camera.width");
  return {
      {"duplicate_key",
       shippedWithLine(width, "width = 640\nwidth = 800"),
       {fmt::format("{}:{}:", file, width + 1), "invalid TOML", "width"}},
      {"duplicate_table", text + "\n[camera]\nfps = 10\n", {"invalid TOML", "camera"}},
      {"array_of_tables_for_a_table",
       "[[camera]]\nfps = 10\n",
       {file + ":1: camera must be a table, got array"}},
      {"unknown_key",
       "[face]\nthreshhold = 0.5\n",
       {file + ":2: unknown key face.threshhold (did you mean face.threshold?)"}},
      {"unknown_table", "[camra]\nwidth = 640\n", {file + ":1: unknown key camra"}},
      // TOML has no include: a line asking for one is an unknown key, never ignored.
      {"include_line_at_the_top",
       "include = \"missing.toml\"\n" + text,
       {file + ":1: unknown key include"}},
      {"include_line_in_a_table",
       "[face]\ninclude = \"missing.toml\"\n",
       {file + ":2: unknown key face.include"}},
      {"dotted_key_out_of_range",
       "camera.width = 100000\n",
       {file + ":1: camera.width = 100000 is out of range [160, 3840]"}},
      {"integer_overflowing_64_bits",
       "[camera]\nwidth = 99999999999999999999\n",
       {file + ":2:", "invalid TOML"}},
      {"threshold_nan", "[face]\nthreshold = nan\n", {file + ":2: face.threshold = nan"}},
      {"threshold_inf", "[face]\nthreshold = inf\n", {file + ":2: face.threshold = inf"}},
      {"integer_key_as_float_with_zero_fraction",
       "[camera]\nwidth = 640.0\n",
       {file + ":2: camera.width must be an integer, got float"}},
      {"enum_value_unknown",
       "[face]\nfusion = \"mean\"\n",
       {file + ":2: face.fusion = \"mean\" is not one of \"median\", \"best\""}},
      {"enum_value_in_upper_case",
       "[storage]\nmode = \"SEALED\"\n",
       {file + ":2: storage.mode = \"SEALED\" is not one of"}},
      {"gate_id_with_a_space",
       "[gate]\nid = \"gate 1\"\n",
       {file + ":2: gate.id = \"gate 1\" contains ' '"}},
      {"gate_id_empty", "[gate]\nid = \"\"\n", {file + ":2: gate.id must not be empty"}},
      {"gate_id_65_characters",
       "[gate]\nid = \"" + std::string(65, 'g') + "\"\n",
       {file + ":2: gate.id = ", "is too long"}},
      {"path_with_a_control_character",
       "[storage]\ndatabase = \"a\\u0001b.db\"\n",
       {file + ":2: storage.database = \"a\\u0001b.db\" contains a control character (U+0001)"}},
      {"required_path_empty",
       "[badge]\npublic_key = \"\"\n",
       {file + ":2: badge.public_key must not be empty"}},
      {"very_long_value_is_cut_in_the_message",
       "[camera]\nsource = \"" + std::string(900'000, 's') + "\"\n",
       {file + ":2: camera.source = \"ssss", "(900000 characters)", "is too long"}},
      {"two_gpio_lines_the_same",
       "[gpio]\nbuzzer_line = 5\nred_line = 5\n",
       {file + ":3: gpio.red_line = 5 is the same line as gpio.buzzer_line"}},
      {"on_badge_without_its_key",
       "[storage]\nmode = \"on-badge\"\n",
       {file + ":2: storage.mode = \"on-badge\" needs badge.template_key"}},
      {"unknown_pattern_name",
       "[gpio.patterns]\nsiren = [100]\n",
       {file + ":2: unknown key gpio.patterns.siren"}},
      {"binary_garbage", randomBytes(4096, 3), {file + ":", "invalid TOML"}},
      {"invalid_utf8_in_a_string", "[gate]\nid = \"\xff\xfe\"\n", {file + ":2:", "invalid TOML"}},
      {"invalid_utf8_in_a_comment", "# caf\xc3\x28\n[gate]\n", {file + ":1:", "invalid TOML"}},
      {"nul_byte", std::string("[gate]\nid = \"a\0b\"\n", 17), {file + ":2:", "invalid TOML"}},
      {"deeply_nested_arrays", "x = " + std::string(100'000, '['), {file + ":1:", "invalid TOML"}},
      {"deeply_nested_inline_tables",
       [] {
         std::string t = "x = ";
         for (int i = 0; i < 10'000; ++i) {
           t += "{a=";
         }
         return t;
       }(),
       {file + ":1:", "invalid TOML"}},
      {"key_with_control_characters",
       "\"a\\u0007b\" = 1\n",
       {file + ":1: unknown key \"a\\u0007b\""}},
  };
}

class ConfigCatalogue : public ::testing::TestWithParam<ConfigRow> {};

TEST_P(ConfigCatalogue, IsRefusedNamingTheLineAndKey) {
  const ConfigRow& row = GetParam();
  const auto config = config::parseConfig(row.text, kConfigName);
  ASSERT_FALSE(config) << "accepted";
  EXPECT_EQ(config.error().code, ErrorCode::InvalidArgument);
  for (const auto& fragment : row.fragments) {
    EXPECT_TRUE(contains(config.error().message, fragment))
        << "wanted: " << fragment << "\ngot: " << config.error().message.substr(0, 2000);
  }
  // Each problem is one line of a terminal, not the hostile value.
  std::istringstream lines(config.error().message);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LT(line.size(), 400U) << line.substr(0, 400);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryShippedKey, ConfigCatalogue,
                         ::testing::ValuesIn(generatedConfigRows()), rowName<ConfigRow>);
INSTANTIATE_TEST_SUITE_P(Text, ConfigCatalogue, ::testing::ValuesIn(handWrittenConfigRows()),
                         rowName<ConfigRow>);

// The table of ranges above is the validator's: each bound itself is accepted (so the rows
// "below" and "above" test the edge, not some value far outside), every numeric key of the
// shipped file has a row, and the shipped file documents the same range.
TEST(ConfigRanges, EveryNumericKeyHasItsExactRangeAndTheFileDocumentsIt) {
  const std::string file(kConfigName);
  const std::string text = joinLines(shipped().lines);
  for (const ShippedKey& key : shipped().keys) {
    const bool numeric = key.value.front() != '"' && key.value.front() != '[' &&
                         key.value != "true" && key.value != "false";
    const auto range = std::find_if(numericRanges().begin(), numericRanges().end(),
                                    [&](const NumericRange& r) { return r.path == key.path; });
    EXPECT_EQ(numeric, range != numericRanges().end()) << key.path;
    if (range == numericRanges().end()) {
      continue;
    }
    for (const std::string& bound : {range->min, range->max}) {
      const auto config =
          config::parseConfig(shippedWithLine(key.line, keyName(key.path) + " = " + bound), file);
      // Accepted, or refused only by a cross-check with another key (reconnect_min_ms =
      // 60000 is above the file's reconnect_max_ms; camera.fps = 1 leaves the file's
      // window_ms too short for a decision's frames), never as out of range.
      if (!config) {
        EXPECT_FALSE(contains(config.error().message, key.path + " = " + bound + " is out of"))
            << config.error().message;
        EXPECT_TRUE(contains(config.error().message, "is less than") ||
                    contains(config.error().message, "face.window_ms = 3000 is too short"))
            << config.error().message;
      }
    }
  }
  for (const std::string documented :
       {"range 160..3840", "range 120..2160", "range 1..120", "range 200..5000", "range 100..60000",
        "range reconnect_min_ms..600000", "range 0..600000", "range 1..3660", "range (0, 2]",
        "range 500..20000", "range 1..15", "range 40..1000", "range 80..4096", "range 0..1023",
        "range -1..1023", "range 1..3650", "each 10..5000 ms", "1 to 16 entries"}) {
    EXPECT_TRUE(contains(text, documented)) << "config/facegate.toml no longer says " << documented;
  }
}

TEST(ConfigRanges, GeneratedRowsCoverEveryKeyOfTheShippedFile) {
  const auto rows = generatedConfigRows();
  EXPECT_GE(shipped().keys.size(), 30U);
  for (const ShippedKey& key : shipped().keys) {
    const auto n = std::count_if(rows.begin(), rows.end(), [&](const ConfigRow& r) {
      return r.name.starts_with(key.path + "_as_");
    });
    EXPECT_GE(n, 3) << key.path;
  }
}

// loadConfig: what can be at the end of a path instead of a configuration file.
struct ConfigFileRow {
  std::string name;
  std::function<fs::path(const fs::path& dir)> make;
  ErrorCode code;
  std::string fragment;
};

std::vector<ConfigFileRow> configFileRows() {
  return {
      {"missing_file", [](const fs::path& d) { return d / "missing.toml"; },
       ErrorCode::FileNotFound, "does not exist"},
      {"directory_instead_of_file",
       [](const fs::path& d) {
         fs::create_directory(d / "facegate.toml");
         return d / "facegate.toml";
       },
       ErrorCode::FileUnreadable, "is a directory, not a file"},
      {"named_pipe",
       [](const fs::path& d) {
         EXPECT_EQ(::mkfifo((d / "fifo.toml").c_str(), 0600), 0);
         return d / "fifo.toml";
       },
       ErrorCode::FileUnreadable, "is not a regular file"},
      {"symlink_to_nowhere",
       [](const fs::path& d) {
         fs::create_symlink(d / "gone.toml", d / "link.toml");
         return d / "link.toml";
       },
       ErrorCode::FileNotFound, "does not exist"},
      {"ten_megabyte_file",
       [](const fs::path& d) { return written(d / "huge.toml", std::string(10u << 20, '#')); },
       ErrorCode::InvalidArgument, "is 10485760 bytes; a configuration file is at most 1 MiB"},
      // An empty file is what a failed copy or a `> file` leaves: taking it as "all defaults"
      // would start the demo scenario instead of the school's camera.
      {"zero_byte_file", [](const fs::path& d) { return written(d / "empty.toml", ""); },
       ErrorCode::InvalidArgument, "is empty"},
      {"binary_garbage",
       [](const fs::path& d) { return written(d / "garbage.toml", randomBytes(2048, 4)); },
       ErrorCode::InvalidArgument, "invalid TOML"},
  };
}

class ConfigFileCatalogue : public ::testing::TestWithParam<ConfigFileRow> {
 protected:
  test::TempDir dir_;
};

TEST_P(ConfigFileCatalogue, IsRefusedNamingTheFile) {
  const ConfigFileRow& row = GetParam();
  const fs::path path = row.make(dir_.path());
  const auto before = treeState(dir_.path());
  const auto config = config::loadConfig(path);
  ASSERT_FALSE(config) << "accepted";
  EXPECT_EQ(config.error().code, row.code) << config.error().message;
  EXPECT_TRUE(contains(config.error().message, path.string())) << config.error().message;
  EXPECT_TRUE(contains(config.error().message, row.fragment)) << config.error().message;
  EXPECT_EQ(treeState(dir_.path()), before);
}

INSTANTIATE_TEST_SUITE_P(File, ConfigFileCatalogue, ::testing::ValuesIn(configFileRows()),
                         rowName<ConfigFileRow>);

// As root (CI) the check runs unprivileged, on its own file that its mode forbids it to
// read: root reads any file.
TEST(ConfigFile, UnreadableFileIsNamed) {
  test::TempDir dir;
  test::writeFile(dir / "facegate.toml", "[gate]\n");
  test::writeFile(dir / "readable.toml", "[gate]\n");
  test::giveToUnprivilegedUser(dir / "facegate.toml");
  test::giveToUnprivilegedUser(dir / "readable.toml");
  fs::permissions(dir / "facegate.toml", fs::perms::none);
  const std::string found = test::runUnprivileged([&] {
    if (auto readable = config::loadConfig(dir / "readable.toml"); !readable) {
      return "the readable file was refused: " + readable.error().message;
    }
    const auto config = config::loadConfig(dir / "facegate.toml");
    return config ? std::string("accepted")
                  : fmt::format("{}: {}", toString(config.error().code), config.error().message);
  });
  EXPECT_TRUE(contains(found, "file-unreadable: ")) << found;
  EXPECT_TRUE(contains(found, (dir / "facegate.toml").string())) << found;
}

// =============================================================================================
// The database file: store::Database::open and the registry and audit log on top of it
// =============================================================================================

// A real facegate database: `pupils` volunteers, their badges and sealed templates, audit
// records (40 make a file of a dozen pages, enough to corrupt one in the middle).
void makeFacegateDatabase(const fs::path& path, int pupils = 40) {
  auto db = store::Database::open(path);
  ASSERT_TRUE(db) << db.error().message;
  enrolment::Registry registry(*db, "catalogue");
  auto key = badge::TemplateKey::generate();
  for (int i = 0; i < pupils; ++i) {
    enrolment::EnrolmentRequest r;
    r.pupilId = fmt::format("P-{:03}", i);
    r.consentRef = "FORM";
    r.guardianConsentRef = "GUARDIAN";
    r.now = kNow;
    ASSERT_TRUE(registry.enrol(r, someEmbedding(static_cast<std::uint32_t>(i)), &key));
  }
  ASSERT_TRUE(db->exec("PRAGMA wal_checkpoint(TRUNCATE)"));
}

void sqliteExec(const fs::path& path, const std::string& sql) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  char* message = nullptr;
  const int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &message);
  EXPECT_EQ(rc, SQLITE_OK) << (message != nullptr ? message : "");
  sqlite3_free(message);
  sqlite3_close(raw);
  // SQLite made it 0644 (the umask's): these rows are about what is inside the file, and a
  // database others can read is refused before that is looked at.
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
}

// A file written with `bytes`, for its owner only (see above).
fs::path privateFile(const fs::path& path, const std::string& bytes) {
  test::writeFile(path, bytes);
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  return path;
}

// Rows that need to give a file to another user (nobody) return this path when not root: the
// test then skips, saying why.
const fs::path kNeedsRoot = "<needs root>";
constexpr uid_t kOtherUid = 65534;
constexpr gid_t kOtherGid = 65534;

void chmodOrFail(const fs::path& path, mode_t mode) {
  EXPECT_EQ(::chmod(path.c_str(), mode), 0) << path;
}
void giveToNobody(const fs::path& path) {
  EXPECT_EQ(::lchown(path.c_str(), kOtherUid, kOtherGid), 0) << path;
}

struct DatabaseRow {
  std::string name;
  // Makes the file and returns the path to open.
  std::function<fs::path(const fs::path& dir)> make;
  store::Database::Options options;
  ErrorCode code;
  std::vector<std::string> fragments;  // the path is always required as well
};

std::vector<DatabaseRow> databaseRows() {
  using Options = store::Database::Options;
  return {
      {"corrupted_page_in_the_middle",
       [](const fs::path& d) {
         makeFacegateDatabase(d / "facegate.db");
         std::string bytes = test::readFile(d / "facegate.db");
         const std::size_t pageSize = 4096;
         const std::size_t pages = bytes.size() / pageSize;
         EXPECT_GE(pages, 4U);
         const std::string garbage = randomBytes(pageSize, 5);
         bytes.replace((pages / 2) * pageSize, pageSize, garbage);
         test::writeFile(d / "facegate.db", bytes);
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::StorageCorrupt,
       {"restore it from a backup"}},
      {"corrupted_header_page",
       [](const fs::path& d) {
         makeFacegateDatabase(d / "facegate.db");
         std::string bytes = test::readFile(d / "facegate.db");
         bytes.replace(100, 200, randomBytes(200, 6));  // the schema page's b-tree header
         test::writeFile(d / "facegate.db", bytes);
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::StorageCorrupt,
       {"malformed"}},
      {"schema_version_99",
       [](const fs::path& d) {
         makeFacegateDatabase(d / "facegate.db");
         sqliteExec(d / "facegate.db", "PRAGMA user_version = 99");
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::SchemaMismatch,
       {"schema version 99, newer than this facegate understands"}},
      {"schema_version_negative",
       [](const fs::path& d) {
         makeFacegateDatabase(d / "facegate.db");
         sqliteExec(d / "facegate.db", "PRAGMA user_version = -1");
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::SchemaMismatch,
       {"schema version -1, which no facegate writes"}},
      {"not_an_sqlite_file",
       [](const fs::path& d) { return privateFile(d / "notes.db", std::string(8192, 'x')); },
       Options{},
       ErrorCode::StorageCorrupt,
       {"file is not a database"}},
      {"random_bytes",
       [](const fs::path& d) { return privateFile(d / "random.db", randomBytes(16384, 7)); },
       Options{},
       ErrorCode::StorageCorrupt,
       {"file is not a database"}},
      {"database_of_another_application",
       [](const fs::path& d) {
         sqliteExec(d / "other.db",
                    "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);"
                    "INSERT INTO invoices VALUES (1, 9.5);");
         return d / "other.db";
       },
       Options{},
       ErrorCode::SchemaMismatch,
       {"is an SQLite database but not a facegate database"}},
      {"another_application_using_user_version_2",
       [](const fs::path& d) {
         sqliteExec(d / "other.db",
                    "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);"
                    "PRAGMA user_version = 2;");
         return d / "other.db";
       },
       Options{},
       ErrorCode::SchemaMismatch,
       {"without facegate's tables"}},
      {"zero_byte_file_opened_for_an_existing_database",
       [](const fs::path& d) { return privateFile(d / "empty.db", ""); },
       Options{.create = false},
       ErrorCode::SchemaMismatch,
       {"is empty"}},
      {"wal_file_without_its_database",
       [](const fs::path& d) {
         makeFacegateDatabase(d / "source.db");
         // A -wal holding committed pages, copied while its connection keeps it.
         {
           auto db = store::Database::open(d / "source.db");
           EXPECT_TRUE(db);
           EXPECT_TRUE(db->exec("PRAGMA wal_autocheckpoint = 0; DELETE FROM badges"));
           fs::copy_file(d / "source.db-wal", d / "facegate.db-wal");
         }
         fs::remove(d / "source.db");
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::StorageCorrupt,
       {"facegate.db-wal does", "write-ahead log"}},
      {"directory_instead_of_file",
       [](const fs::path& d) {
         fs::create_directory(d / "facegate.db");
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::StorageFailure,
       {"is a directory, not a file"}},
      {"missing_file_when_it_must_exist",
       [](const fs::path& d) { return d / "missing.db"; },
       Options{.create = false},
       ErrorCode::NotFound,
       {"does not exist"}},
      {"file_in_a_missing_directory",
       [](const fs::path& d) { return d / "no" / "such.db"; },
       Options{},
       ErrorCode::StorageFailure,
       {"cannot create database"}},
      // Whose file it is (issue 11): names and sealed templates readable by others, or a
      // file someone else controls, are refused before SQLite reads a byte of them.
      {"database_readable_and_writable_by_everyone",
       [](const fs::path& d) {
         makeFacegateDatabase(d / "facegate.db", 3);
         chmodOrFail(d / "facegate.db", 0666);
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::Refused,
       {"mode 0666", "chmod 600"}},
      {"database_readable_by_its_group",
       [](const fs::path& d) {
         makeFacegateDatabase(d / "facegate.db", 3);
         chmodOrFail(d / "facegate.db", 0640);
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::Refused,
       {"mode 0640", "chmod 600"}},
      {"database_readable_by_others",
       [](const fs::path& d) {
         makeFacegateDatabase(d / "facegate.db", 3);
         chmodOrFail(d / "facegate.db", 0604);
         return d / "facegate.db";
       },
       Options{.readOnly = true},
       ErrorCode::Refused,
       {"mode 0604", "chmod 600"}},
      {"empty_file_made_by_touch_under_umask_022",
       [](const fs::path& d) {
         test::writeFile(d / "facegate.db", "");
         chmodOrFail(d / "facegate.db", 0644);
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::Refused,
       {"mode 0644", "chmod 600"}},
      {"wal_readable_by_others",
       [](const fs::path& d) {
         makeFacegateDatabase(d / "facegate.db", 3);
         {  // a -wal holding the last transactions, as while the gate has the database open
           auto db = store::Database::open(d / "facegate.db");
           EXPECT_TRUE(db && db->exec("PRAGMA wal_autocheckpoint = 0; DELETE FROM badges"));
           fs::copy_file(d / "facegate.db-wal", d / "kept-wal");
         }
         fs::rename(d / "kept-wal", d / "facegate.db-wal");
         chmodOrFail(d / "facegate.db-wal", 0644);
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::Refused,
       {"facegate.db-wal (the write-ahead log of database", "mode 0644", "chmod 600"}},
      {"shm_writable_by_others",
       [](const fs::path& d) {
         makeFacegateDatabase(d / "facegate.db", 3);
         test::writeFile(d / "facegate.db-shm", "");
         chmodOrFail(d / "facegate.db-shm", 0666);
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::Refused,
       {"facegate.db-shm (the shared-memory index", "mode 0666", "chmod 600"}},
      {"rollback_journal_readable_by_others",
       [](const fs::path& d) {
         makeFacegateDatabase(d / "facegate.db", 3);
         test::writeFile(d / "facegate.db-journal", "");
         chmodOrFail(d / "facegate.db-journal", 0644);
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::Refused,
       {"facegate.db-journal (the rollback journal", "mode 0644", "chmod 600"}},
      {"database_of_another_user",
       [](const fs::path& d) {
         if (::geteuid() != 0) {
           return kNeedsRoot;
         }
         makeFacegateDatabase(d / "facegate.db", 3);
         giveToNobody(d / "facegate.db");
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::Refused,
       {"belongs to nobody", "sudo -u nobody facegate"}},
      {"file_precreated_0666_by_another_user_in_a_sticky_directory",
       [](const fs::path& d) {
         if (::geteuid() != 0) {
           return kNeedsRoot;
         }
         fs::create_directory(d / "tmp");
         chmodOrFail(d / "tmp", 01777);
         test::writeFile(d / "tmp" / "school.db", "");
         giveToNobody(d / "tmp" / "school.db");
         chmodOrFail(d / "tmp" / "school.db", 0666);
         return d / "tmp" / "school.db";
       },
       Options{},
       ErrorCode::Refused,
       {"belongs to nobody"}},
      {"wal_of_another_user",
       [](const fs::path& d) {
         if (::geteuid() != 0) {
           return kNeedsRoot;
         }
         makeFacegateDatabase(d / "facegate.db", 3);
         privateFile(d / "facegate.db-wal", std::string(4096, 'x'));
         giveToNobody(d / "facegate.db-wal");
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::Refused,
       {"facegate.db-wal (the write-ahead log of database", "belongs to nobody"}},
      {"symbolic_link_to_a_database",
       [](const fs::path& d) {
         makeFacegateDatabase(d / "real.db", 3);
         fs::create_symlink(d / "real.db", d / "facegate.db");
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::Refused,
       {"is a symbolic link"}},
      {"dangling_symbolic_link_where_a_database_would_be_created",
       [](const fs::path& d) {
         fs::create_symlink(d / "target.db", d / "facegate.db");
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::Refused,
       {"is a symbolic link"}},
      {"symbolic_link_in_place_of_the_wal",
       [](const fs::path& d) {
         makeFacegateDatabase(d / "facegate.db", 3);
         privateFile(d / "elsewhere", "");
         fs::create_symlink(d / "elsewhere", d / "facegate.db-wal");
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::Refused,
       {"facegate.db-wal (the write-ahead log of database", "is a symbolic link"}},
      {"fifo_instead_of_file",
       [](const fs::path& d) {
         EXPECT_EQ(::mkfifo((d / "facegate.db").c_str(), 0600), 0);
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::StorageFailure,
       {"is a FIFO, not a regular file"}},
      {"fifo_in_place_of_the_wal",
       [](const fs::path& d) {
         makeFacegateDatabase(d / "facegate.db", 3);
         EXPECT_EQ(::mkfifo((d / "facegate.db-wal").c_str(), 0600), 0);
         return d / "facegate.db";
       },
       Options{},
       ErrorCode::StorageFailure,
       {"facegate.db-wal (the write-ahead log of database", "is a FIFO"}},
  };
}

class DatabaseCatalogue : public ::testing::TestWithParam<DatabaseRow> {
 protected:
  test::TempDir dir_;
};

TEST_P(DatabaseCatalogue, IsRefusedAndLeftAsItWas) {
  const DatabaseRow& row = GetParam();
  const fs::path path = row.make(dir_.path());
  if (path == kNeedsRoot) {
    GTEST_SKIP() << "giving a file to another user needs root (CI runs the catalogue as root)";
  }
  const auto before = treeState(dir_.path());
  auto db = store::Database::open(path, row.options);
  if (db) {
    // Opened: the first real query must then fail clearly, never return wrong data.
    enrolment::Registry registry(*db, "catalogue");
    const auto pupils = registry.list();
    const auto chain = registry.auditLog().verify();
    ADD_FAILURE() << "opened; list() " << (pupils ? "returned data" : pupils.error().message)
                  << "; verify() "
                  << (chain ? (chain->intact ? "intact" : chain->problem) : chain.error().message);
    return;
  }
  EXPECT_EQ(db.error().code, row.code) << toString(db.error().code) << ": " << db.error().message;
  EXPECT_TRUE(contains(db.error().message, path.string())) << db.error().message;
  for (const auto& fragment : row.fragments) {
    EXPECT_TRUE(contains(db.error().message, fragment)) << db.error().message;
  }
  EXPECT_EQ(treeState(dir_.path()), before) << "refusing a database must not change any file";
}

INSTANTIATE_TEST_SUITE_P(File, DatabaseCatalogue, ::testing::ValuesIn(databaseRows()),
                         rowName<DatabaseRow>);

// An empty file given where a new database may be created is a new database: SQLite's own
// rule, and what `touch facegate.db && chmod 600 facegate.db` before the first enrolment
// expects (left 0644 by the umask, it is refused: see the rows above).
TEST(DatabaseFile, ZeroByteFileBecomesANewDatabaseWhenCreationIsAllowed) {
  test::TempDir dir;
  privateFile(dir / "new.db", "");
  auto db = store::Database::open(dir / "new.db");
  ASSERT_TRUE(db) << db.error().message;
  const auto s = snapshot(*db);
  EXPECT_TRUE(s.chainIntact);
  EXPECT_EQ(s.rows.at("pupils"), 0);
}

// Read-only: opened read-only, every write fails with SQLite's reason and nothing changes.
TEST(DatabaseFile, ReadOnlyDatabaseRefusesEveryWriteAndKeepsItsData) {
  test::TempDir dir;
  makeFacegateDatabase(dir / "facegate.db");
  const std::string bytes = test::readFile(dir / "facegate.db");
  auto db = store::Database::open(dir / "facegate.db", {.readOnly = true});
  ASSERT_TRUE(db) << db.error().message;
  const auto before = snapshot(*db);
  enrolment::Registry registry(*db, "catalogue");
  const auto revoke = registry.revokeBadge(1, kNow);
  ASSERT_FALSE(revoke);
  auto plain = registry.issuePlainBadge("P-NEW", true, kNow, 30);
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().code, ErrorCode::StorageFailure);
  EXPECT_TRUE(contains(plain.error().message, "readonly")) << plain.error().message;
  const auto erase = registry.erasePupil("P-001", kNow);
  ASSERT_FALSE(erase);
  EXPECT_TRUE(contains(erase.error().message, "readonly")) << erase.error().message;
  EXPECT_EQ(snapshot(*db), before);
  EXPECT_EQ(test::readFile(dir / "facegate.db"), bytes);
}

// A file the process may not write, as `facegate` sees it: its own, 0400, in a directory it
// may not write either. Run as an unprivileged user: root writes through any file mode, so a
// root test gives the files to nobody and drops to nobody with setpriv.
TEST(DatabaseFile, WriteProtectedFileIsRefusedByTheDeskCommands) {
  const fs::path setpriv = "/usr/bin/setpriv";
  if (::geteuid() == 0 && !fs::exists(setpriv)) {
    GTEST_SKIP() << "running as root without setpriv: cannot drop privileges to test modes";
  }
  test::TempDir dir;
  makeFacegateDatabase(dir / "facegate.db", 3);
  if (::geteuid() == 0) {
    giveToNobody(dir.path());
    giveToNobody(dir / "facegate.db");
  }
  fs::permissions(dir / "facegate.db", fs::perms::owner_read);
  fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec |
                                  fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  const auto before = treeState(dir.path());
  std::vector<std::string> args = {"erase", "--db", (dir / "facegate.db").string(), "--pupil",
                                   "P-001"};
  test::CommandResult r;
  if (::geteuid() == 0) {
    std::vector<std::string> dropped = {"--reuid=65534", "--regid=65534", "--clear-groups",
                                        kCli.string()};
    dropped.insert(dropped.end(), args.begin(), args.end());
    r = test::runCommand(setpriv, dropped);
  } else {
    r = test::runCommand(kCli, args);
  }
  fs::permissions(dir.path(), fs::perms::owner_all);  // for the clean-up
  EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, (dir / "facegate.db").string())) << r.err;
  EXPECT_TRUE(contains(r.err, "read-only") || contains(r.err, "readonly")) << r.err;
  EXPECT_EQ(treeState(dir.path()), before);
}

// The review's case through the desk command: a database file pre-created by someone else,
// readable by all, in a directory everyone may write to (a /tmp). `facegate badge issue`
// must refuse it, write nothing into it and issue no badge.
TEST(DatabaseFile, DeskCommandRefusesADatabaseOthersCanRead) {
  test::TempDir dir;
  const fs::path shared = dir / "tmp";
  fs::create_directory(shared);
  chmodOrFail(shared, 01777);
  ASSERT_TRUE(badge::SigningKey::generate().save(dir / "school.key"));
  const fs::path db = shared / "school.db";
  test::writeFile(db, "");
  const bool asRoot = ::geteuid() == 0;
  if (asRoot) {
    giveToNobody(db);
  }
  chmodOrFail(db, 0666);
  const auto r = test::runCommand(
      kCli, {"badge", "issue", "--db", db.string(), "--pupil", "P-001", "--key",
             (dir / "school.key").string(), "--badge-out", (dir / "badge.png").string()});
  EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, db.string())) << r.err;
  EXPECT_TRUE(contains(r.err, asRoot ? "belongs to nobody" : "chmod 600 " + db.string())) << r.err;
  EXPECT_EQ(fs::file_size(db), 0U) << "nothing may be written into it";
  EXPECT_FALSE(fs::exists(dir / "badge.png"));
  EXPECT_FALSE(fs::exists(shared / "school.db-wal"));
}

// =============================================================================================
// Command lines: facegate and facegated
// =============================================================================================

struct CliRow {
  std::string name;
  const fs::path* program;
  // The arguments; "{dir}" is the row's scratch directory, "{db}" a facegate database in it.
  std::vector<std::string> args;
  int exitCode;
  std::vector<std::string> fragments;  // in stderr
};

std::vector<CliRow> cliRows() {
  const fs::path* cli = &kCli;
  const fs::path* daemon = &kDaemon;
  return {
      {"unknown_command", cli, {"frobnicate"}, 2, {"unknown command 'frobnicate'"}},
      {"unknown_option", cli, {"list", "--db", "{db}", "--frob"}, 2, {"unknown option --frob"}},
      {"option_missing_its_value", cli, {"list", "--db"}, 2, {"--db needs a value"}},
      {"flag_given_a_value",
       cli,
       {"audit", "verify", "--db={db}", "--help=yes"},
       2,
       {"--help takes no value"}},
      {"option_given_twice",
       cli,
       {"list", "--db", "{db}", "--db", "{db}"},
       2,
       {"--db is given twice"}},
      {"stray_positional_argument",
       cli,
       {"list", "--db", "{db}", "extra"},
       2,
       {"unexpected argument 'extra'"}},
      {"whole_number_with_trailing_garbage",
       cli,
       {"audit", "show", "--db", "{db}", "--last", "12abc"},
       2,
       {"--last expects a whole number", "'12abc'"}},
      {"whole_number_negative",
       cli,
       {"audit", "show", "--db", "{db}", "--last", "-1"},
       2,
       {"--last expects a whole number", "'-1'"}},
      {"whole_number_overflowing",
       cli,
       {"audit", "show", "--db", "{db}", "--last", "99999999999999999999"},
       2,
       {"--last expects a whole number", "'99999999999999999999'"}},
      {"whole_number_empty",
       cli,
       {"purge", "--db", "{db}", "--retention-days", ""},
       2,
       {"--retention-days expects a whole number", "''"}},
      {"whole_number_with_a_sign",
       cli,
       {"purge", "--db", "{db}", "--retention-days", "+30"},
       2,
       {"--retention-days expects a whole number", "'+30'"}},
      {"retention_zero_would_purge_everything",
       cli,
       {"purge", "--db", "{db}", "--retention-days", "0"},
       2,
       {"--retention-days expects a whole number from 1 to 3650", "'0'"}},
      {"decimal_with_trailing_garbage",
       cli,
       {"verify", "a.jpg", "b.jpg", "--threshold", "0.5x"},
       2,
       {"--threshold expects a number", "'0.5x'"}},
      {"decimal_negative",
       cli,
       {"verify", "a.jpg", "b.jpg", "--threshold", "-1"},
       2,
       {"--threshold expects a number", "'-1'"}},
      {"decimal_overflowing",
       cli,
       {"verify", "a.jpg", "b.jpg", "--threshold", "1e999"},
       2,
       {"--threshold expects a number", "'1e999'"}},
      {"decimal_nan",
       cli,
       {"verify", "a.jpg", "b.jpg", "--threshold", "nan"},
       2,
       {"--threshold expects a number", "'nan'"}},
      {"serial_with_garbage",
       cli,
       {"revoke", "--db", "{db}", "--badge", "12abc"},
       2,
       {"'12abc' is not a badge serial"}},
      {"serial_overflowing",
       cli,
       {"revoke", "--db", "{db}", "--badge", "1ffffffffffffffff"},
       2,
       {"'1ffffffffffffffff' is not a badge serial"}},
      {"database_path_is_a_directory",
       cli,
       {"list", "--db", "{dir}"},
       2,
       {"{dir} is a directory, not a file"}},
      {"config_path_is_a_directory",
       cli,
       {"purge", "--db", "{db}", "--config", "{dir}"},
       2,
       {"{dir} is a directory, not a file"}},
      {"config_path_missing",
       cli,
       {"purge", "--db", "{db}", "--config", "{dir}/missing.toml"},
       2,
       {"{dir}/missing.toml does not exist"}},
      {"badge_image_is_a_directory",
       cli,
       {"badge", "inspect", "--public-key", "{dir}/school.pub", "--image", "{dir}"},
       2,
       {"{dir}"}},
      {"pupil_id_with_a_control_character",
       cli,
       {"erase", "--db", "{db}", "--pupil", "P\x1b[2J"},
       2,
       {"--pupil is not 1 to 32"}},
      {"plain_badge_for_a_pupil_id_with_a_control_character",
       cli,
       {"badge", "issue", "--db", "{db}", "--pupil", "P\x1b[2J", "--key", "{dir}/school.key",
        "--badge-out", "{dir}/badge.png"},
       2,
       {"the pupil id is not 1 to 32"}},
      {"daemon_unknown_option", daemon, {"--frob"}, 2, {"unknown option --frob"}},
      {"daemon_option_missing_its_value",
       daemon,
       {"--check-config", "--config"},
       2,
       {"--config needs a value"}},
      {"daemon_check_config_with_a_missing_file",
       daemon,
       {"--check-config", "--config", "{dir}/missing.toml"},
       1,
       {"{dir}/missing.toml does not exist"}},
      {"daemon_check_config_with_a_directory",
       daemon,
       {"--check-config", "--config", "{dir}"},
       1,
       {"{dir} is a directory, not a file"}},
      {"daemon_check_config_with_an_invalid_file",
       daemon,
       {"--check-config", "--config", "{dir}/bad.toml"},
       1,
       {"{dir}/bad.toml:2: camera.fps = 500 is out of range [1, 120]"}},
  };
}

std::string expand(std::string text, const fs::path& dir) {
  const auto replace = [&text](const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  };
  replace("{db}", (dir / "facegate.db").string());
  replace("{dir}", dir.string());
  return text;
}

class CliCatalogue : public ::testing::TestWithParam<CliRow> {
 protected:
  test::TempDir dir_;
};

TEST_P(CliCatalogue, ExitsWithTheUsageCodeNamingTheArgumentAndWritesNothing) {
  const CliRow& row = GetParam();
  makeFacegateDatabase(dir_ / "facegate.db", 3);
  test::writeFile(dir_ / "bad.toml", "[camera]\nfps = 500\n");
  const auto key = badge::SigningKey::generate();
  ASSERT_TRUE(key.save(dir_ / "school.key"));
  ASSERT_TRUE(badge::savePublicKey(key.publicKey(), dir_ / "school.pub"));
  std::optional<StoreSnapshot> dbBefore;
  {
    auto db = store::Database::open(dir_ / "facegate.db");
    ASSERT_TRUE(db);
    dbBefore = snapshot(*db);
  }
  const auto before = treeState(dir_.path());
  std::vector<std::string> args;
  for (const auto& a : row.args) {
    args.push_back(expand(a, dir_.path()));
  }
  const auto r = test::runCommand(*row.program, args);
  EXPECT_EQ(r.exitCode, row.exitCode) << r.out << r.err;
  for (const auto& fragment : row.fragments) {
    EXPECT_TRUE(contains(r.err, expand(fragment, dir_.path()))) << r.err;
  }
  EXPECT_FALSE(contains(r.err, "internal error")) << r.err;
  EXPECT_FALSE(contains(r.err, "\x1b")) << "a control character reached the terminal";
  EXPECT_EQ(treeState(dir_.path()), before) << "a refused command wrote something";
  auto db = store::Database::open(dir_ / "facegate.db");
  ASSERT_TRUE(db);
  EXPECT_EQ(snapshot(*db), *dbBefore);
}

INSTANTIATE_TEST_SUITE_P(Args, CliCatalogue, ::testing::ValuesIn(cliRows()), rowName<CliRow>);

}  // namespace
}  // namespace facegate
