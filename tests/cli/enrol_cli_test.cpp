// The enrolment desk's workflow through the real `facegate` binary: keys, enrolment with its
// refusals, badges, listing, revocation, erasure, retention and the audit chain.
#include <sys/stat.h>

#include <algorithm>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "facegate/audit/audit_log.hpp"
#include "facegate/badge/keys.hpp"
#include "facegate/badge/payload.hpp"
#include "facegate/badge/qr.hpp"
#include "facegate/enrolment/sealing.hpp"
#include "facegate/store/database.hpp"
#include "test_support.hpp"

namespace facegate {
namespace {

namespace fs = std::filesystem;

const fs::path kCli = FACEGATE_CLI;

std::string face(const std::string& relative) {
  return (test::dataDir() / "faces" / relative).string();
}

class EnrolmentDesk : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto keygen = run({"keygen", "--out-dir", dir_.path().string()});
    ASSERT_EQ(keygen.exitCode, 0) << keygen.err;
  }

  test::CommandResult run(const std::vector<std::string>& args) {
    return test::runCommand(kCli, args);
  }

  std::vector<std::string> enroll(const std::string& pupil, const std::vector<std::string>& photos,
                                  const std::string& badge) {
    std::vector<std::string> args{"enroll",
                                  "--db",
                                  db(),
                                  "--pupil",
                                  pupil,
                                  "--consent",
                                  "F-" + pupil,
                                  "--guardian-consent",
                                  "G-" + pupil,
                                  "--key",
                                  key(),
                                  "--badge-out",
                                  (dir_ / badge).string()};
    for (const auto& photo : photos) {
      args.push_back("--photo");
      args.push_back(photo);
    }
    return args;
  }

  std::string db() const { return (dir_ / "school.db").string(); }
  std::string key() const { return (dir_ / "school-signing.key").string(); }
  std::string pub() const { return (dir_ / "school.pub").string(); }

  // The payload printed in a badge PNG, read back with zbar.
  std::string scanBadge(const std::string& png) {
    const cv::Mat image = cv::imread((dir_ / png).string(), cv::IMREAD_GRAYSCALE);
    badge::QrScanner scanner;
    const auto texts = scanner.scan(image);
    return texts.empty() ? std::string() : texts.front();
  }

  test::TempDir dir_;
};

TEST_F(EnrolmentDesk, KeygenWritesPrivateAndPublicKeysAndNeverOverwrites) {
  struct stat st {};
  ASSERT_EQ(stat(key().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  const auto again = run({"keygen", "--out-dir", dir_.path().string()});
  EXPECT_EQ(again.exitCode, 2);
  EXPECT_NE(again.err.find("school-signing.key"), std::string::npos) << again.err;
}

TEST_F(EnrolmentDesk, EnrolListRevokeEraseWithAuditTrail) {
  FACEGATE_REQUIRE_MODELS();
  const auto enrolled =
      run(enroll("PENNY-01", {face("penny/penny_1.png"), face("penny/penny_2.png")}, "penny.png"));
  ASSERT_EQ(enrolled.exitCode, 0) << enrolled.err;
  EXPECT_NE(enrolled.out.find("enrolled PENNY-01 (sealed, minor, template from 2 photos)"),
            std::string::npos)
      << enrolled.out;
  struct stat st {};
  ASSERT_EQ(stat((dir_ / "penny.png").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U) << "the badge image holds the secret";
  ASSERT_EQ(stat(db().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);

  // The badge verifies with the public key, and is registered.
  const std::string payload = scanBadge("penny.png");
  ASSERT_FALSE(payload.empty());
  const auto inspect = run({"badge", "inspect", "--public-key", pub(), "--image",
                            (dir_ / "penny.png").string(), "--db", db()});
  EXPECT_EQ(inspect.exitCode, 0) << inspect.out << inspect.err;
  EXPECT_NE(inspect.out.find("pupil PENNY-01"), std::string::npos);
  EXPECT_NE(inspect.out.find("registered and not revoked"), std::string::npos);

  // Privacy: the badge secret and the payload appear in no output; the database holds no
  // plaintext template.
  auto publicKey = badge::loadPublicKey(pub());
  ASSERT_TRUE(publicKey);
  auto parsed = badge::parseBadge(payload, *publicKey, std::time(nullptr));
  ASSERT_TRUE(parsed) << parsed.error().message;
  const std::string secret(reinterpret_cast<const char*>(parsed->secret->get()->data()), 32);
  std::string secretHex;
  for (const unsigned char c : secret) {
    secretHex += fmt::format("{:02x}", c);
  }
  for (const auto* output : {&enrolled.out, &enrolled.err, &inspect.out, &inspect.err}) {
    EXPECT_EQ(output->find(payload), std::string::npos);
    EXPECT_EQ(output->find(secretHex.substr(0, 16)), std::string::npos);
  }
  std::string files = test::readFile(db());
  if (fs::exists(db() + "-wal")) {
    files += test::readFile(db() + "-wal");
  }
  EXPECT_EQ(files.find(secret.substr(0, 12)), std::string::npos);
  {
    auto database = store::Database::open(db());
    ASSERT_TRUE(database);
    auto row =
        database->prepare("SELECT template_version, nonce, ciphertext FROM sealed_templates");
    ASSERT_TRUE(row && row->step().value_or(false));
    enrolment::SealedTemplate sealed;
    const auto nonce = row->blob(1);
    std::copy(nonce.begin(), nonce.end(), sealed.nonce.begin());
    sealed.ciphertext = row->blob(2);
    auto templ = enrolment::unsealTemplate(sealed, *parsed->secret, parsed->serial);
    ASSERT_TRUE(templ) << templ.error().message;
    const std::string plain(reinterpret_cast<const char*>(templ->values().data()), 512);
    EXPECT_EQ(files.find(plain.substr(0, 16)), std::string::npos);
    EXPECT_EQ(files.find(plain.substr(300, 16)), std::string::npos);
  }

  const auto plain = run({"badge", "issue", "--db", db(), "--pupil", "RAJ-02", "--key", key(),
                          "--badge-out", (dir_ / "raj.png").string()});
  ASSERT_EQ(plain.exitCode, 0) << plain.err;

  const auto list = run({"list", "--db", db()});
  ASSERT_EQ(list.exitCode, 0) << list.err;
  EXPECT_NE(list.out.find("PENNY-01"), std::string::npos);
  EXPECT_NE(list.out.find("yes (sealed"), std::string::npos);
  EXPECT_NE(list.out.find("no (paper pass)"), std::string::npos);
  EXPECT_NE(list.out.find("2 pupil(s)"), std::string::npos);

  const std::string serial = fmt::format("{:016x}", parsed->serial);
  const auto revoked = run({"revoke", "--db", db(), "--badge", serial});
  ASSERT_EQ(revoked.exitCode, 0) << revoked.err;
  const auto inspectRevoked = run({"badge", "inspect", "--public-key", pub(), "--image",
                                   (dir_ / "penny.png").string(), "--db", db()});
  EXPECT_EQ(inspectRevoked.exitCode, 1);
  EXPECT_NE(inspectRevoked.out.find("REJECTED (revoked)"), std::string::npos);

  const auto erased = run({"erase", "--db", db(), "--pupil", "PENNY-01"});
  ASSERT_EQ(erased.exitCode, 0) << erased.err;
  const auto listAfter = run({"list", "--db", db()});
  EXPECT_EQ(listAfter.out.find("PENNY-01"), std::string::npos);

  const auto verified = run({"audit", "verify", "--db", db()});
  EXPECT_EQ(verified.exitCode, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("audit log intact: 4 record(s)"), std::string::npos) << verified.out;
  const auto shown = run({"audit", "show", "--db", db()});
  ASSERT_EQ(shown.exitCode, 0);
  for (const char* action : {"enrol", "badge-issue", "revoke", "erase"}) {
    EXPECT_NE(shown.out.find(action), std::string::npos) << action;
  }
  EXPECT_EQ(shown.out.find("PENNY-01"), std::string::npos) << "the audit names no pupil";

  // Tampering with the file is caught by `audit verify`.
  {
    auto database = store::Database::open(db());
    ASSERT_TRUE(database);
    ASSERT_TRUE(database->exec("UPDATE audit_events SET action = 'nothing' WHERE seq = 2"));
  }
  const auto broken = run({"audit", "verify", "--db", db()});
  EXPECT_EQ(broken.exitCode, 1);
  EXPECT_NE(broken.out.find("BROKEN at record 2"), std::string::npos) << broken.out;
}

TEST_F(EnrolmentDesk, UnusablePhotosAreRefusedWithTheReason) {
  FACEGATE_REQUIRE_MODELS();
  cv::Mat wall(480, 640, CV_8UC3, cv::Scalar(128, 120, 110));
  cv::imwrite((dir_ / "wall.png").string(), wall);
  const cv::Mat penny = cv::imread(face("penny/penny_1.png"));
  cv::Mat blurred;
  cv::GaussianBlur(penny, blurred, cv::Size(), 2.5);
  cv::imwrite((dir_ / "blurred.png").string(), blurred);
  cv::Mat small(240, 240, CV_8UC3, cv::Scalar(200, 200, 200));
  cv::Mat shrunk;
  cv::resize(penny, shrunk, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
  shrunk.copyTo(small(cv::Rect(80, 80, shrunk.cols, shrunk.rows)));
  cv::imwrite((dir_ / "small.png").string(), small);

  // A photo a viewer sees as empty (fully transparent) whose pixels still hold a face.
  cv::Mat invisible;
  cv::cvtColor(penny, invisible, cv::COLOR_BGR2BGRA);
  std::vector<cv::Mat> planes;
  cv::split(invisible, planes);
  planes[3].setTo(0);
  cv::merge(planes, invisible);
  cv::imwrite((dir_ / "invisible.png").string(), invisible);
  // A small face enlarged 4x (nearest) and 2x (bicubic): large in pixels, not in detail.
  cv::Mat tiny;
  cv::resize(cv::imread(face("howard/howard_2.png")), tiny, cv::Size(), 0.6, 0.6, cv::INTER_AREA);
  cv::Mat blocky;
  cv::resize(tiny, blocky, cv::Size(), 4, 4, cv::INTER_NEAREST);
  cv::imwrite((dir_ / "blocky.png").string(), blocky);
  cv::Mat smooth;
  cv::resize(tiny, smooth, cv::Size(), 2, 2, cv::INTER_CUBIC);
  cv::imwrite((dir_ / "smooth.png").string(), smooth);

  const std::vector<std::pair<std::string, std::string>> cases = {
      {(dir_ / "invisible.png").string(), "is 100 % transparent"},
      {(dir_ / "blocky.png").string(), "was enlarged from a smaller picture"},
      {(dir_ / "smooth.png").string(), "was enlarged from a smaller picture"},
      {(dir_ / "wall.png").string(), "no face was found"},
      {face("_multi/two_people.jpg"), "shows 2 faces"},
      {(dir_ / "blurred.png").string(), "too blurry"},
      {(dir_ / "small.png").string(), "too small"},
      {(dir_ / "absent.png").string(), "does not exist"},
  };
  int n = 0;
  for (const auto& [photo, reason] : cases) {  // each case on its own pupil and badge
    const std::string badge = "badge-" + std::to_string(++n) + ".png";
    const auto r = run(enroll("P-" + std::to_string(n), {face("penny/penny_1.png"), photo}, badge));
    EXPECT_EQ(r.exitCode, 2) << photo;
    EXPECT_NE(r.err.find(reason), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir_ / badge));
  }
  const auto list = run({"list", "--db", db()});
  EXPECT_NE(list.out.find("0 pupil(s)"), std::string::npos) << "nothing was recorded";
}

// Issue 11: photos of penny, howard and sheldon made one template that granted all three.
TEST_F(EnrolmentDesk, PhotosOfDifferentPeopleAreRefusedNamingThem) {
  FACEGATE_REQUIRE_MODELS();
  const auto three = run(enroll(
      "P-1",
      {face("penny/penny_1.png"), face("howard/howard_1.png"), face("sheldon/sheldon_1.png")},
      "badge.png"));
  EXPECT_EQ(three.exitCode, 2) << three.out;
  EXPECT_NE(three.err.find("do not show the same person"), std::string::npos) << three.err;
  EXPECT_EQ(std::count(three.err.begin(), three.err.end(), '\n'), 1)
      << "one sentence: " << three.err;

  const auto odd = run(enroll(
      "P-1", {face("penny/penny_1.png"), face("penny/penny_2.png"), face("howard/howard_1.png")},
      "badge.png"));
  EXPECT_EQ(odd.exitCode, 2) << odd.out;
  EXPECT_NE(odd.err.find("howard_1.png does not show the same person as the other photos"),
            std::string::npos)
      << odd.err;
  EXPECT_EQ(odd.err.find("penny_2.png does not"), std::string::npos) << odd.err;
  EXPECT_FALSE(fs::exists(dir_ / "badge.png"));
  const auto list = run({"list", "--db", db()});
  EXPECT_NE(list.out.find("0 pupil(s)"), std::string::npos) << "nothing was recorded";

  // The same photos of one person are accepted.
  const auto same = run(enroll(
      "P-1", {face("penny/penny_1.png"), face("penny/penny_2.png"), face("penny/penny_4.png")},
      "badge.png"));
  EXPECT_EQ(same.exitCode, 0) << same.err;
}

// The template bound follows the gate's threshold when the desk is given the gate's
// configuration.
TEST_F(EnrolmentDesk, AgreementFollowsTheGateThresholdOfTheConfig) {
  FACEGATE_REQUIRE_MODELS();
  test::writeFile(dir_ / "strict.toml", "[face]\nthreshold = 0.15\n");
  auto args = enroll(
      "P-1", {face("penny/penny_1.png"), face("penny/penny_2.png"), face("penny/penny_4.png")},
      "badge.png");
  args.push_back("--config");
  args.push_back((dir_ / "strict.toml").string());
  const auto strict = run(args);
  EXPECT_EQ(strict.exitCode, 2) << strict.out;
  // Below the photo scale (0.58) only the template bound follows the threshold (0.9 T).
  EXPECT_NE(strict.err.find("is too far from the template made with the other photos"),
            std::string::npos)
      << strict.err;
  EXPECT_NE(strict.err.find("at most 0.14"), std::string::npos) << strict.err;
  EXPECT_FALSE(fs::exists(dir_ / "badge.png"));
}

// The desk finds the models as the gate does: --models, else the configuration's
// face.models_dir, else the installed ones.
TEST_F(EnrolmentDesk, ModelsAreLookedUpAsTheGateLooksThemUp) {
  FACEGATE_REQUIRE_MODELS();
  const fs::path empty = dir_ / "no-models-here";
  fs::create_directories(empty);
  test::writeFile(dir_ / "gate.toml", fmt::format("[face]\nmodels_dir = \"{}\"\n", empty.string()));
  auto args = enroll(
      "P-1", {face("penny/penny_1.png"), face("penny/penny_2.png"), face("penny/penny_4.png")},
      "badge.png");
  args.push_back("--config");
  args.push_back((dir_ / "gate.toml").string());
  const auto fromConfig = run(args);
  EXPECT_EQ(fromConfig.exitCode, 2) << fromConfig.out;
  EXPECT_NE(fromConfig.err.find(empty.string()), std::string::npos) << fromConfig.err;
  EXPECT_FALSE(fs::exists(dir_ / "badge.png"));

  args.push_back("--models");  // the command line wins over the configuration
  args.push_back(test::modelDir().string());
  const auto fromFlag = run(args);
  EXPECT_EQ(fromFlag.exitCode, 0) << fromFlag.err;
  EXPECT_TRUE(fs::exists(dir_ / "badge.png"));
}

TEST_F(EnrolmentDesk, ConsentRulesAndBadArguments) {
  const std::string photo = face("penny/penny_1.png");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"enroll", "--db", db(), "--pupil", "P1", "--consent", "F1", "--key", key(), "--badge-out",
        (dir_ / "b.png").string(), "--photo", photo},
       "is a minor: --guardian-consent is required"},
      {{"enroll", "--db", db(), "--pupil", "P1", "--consent", "F1", "--date-of-birth", "2015-03-01",
        "--key", key(), "--badge-out", (dir_ / "b.png").string(), "--photo", photo},
       "is a minor"},
      {{"enroll", "--db", db(), "--pupil", "P1", "--consent", "F1", "--date-of-birth", "2015-13-01",
        "--key", key(), "--badge-out", (dir_ / "b.png").string(), "--photo", photo},
       "expects YYYY-MM-DD"},
      {{"enroll", "--db", db(), "--pupil", "bad id", "--consent", "F1", "--adult", "--key", key(),
        "--badge-out", (dir_ / "b.png").string(), "--photo", photo},
       "is not 1 to 32"},
      {{"enroll", "--db", db(), "--pupil", "P1", "--adult", "--key", key(), "--badge-out",
        (dir_ / "b.png").string(), "--photo", photo},
       "--consent is required"},
      {{"enroll", "--db", db(), "--pupil", "P1", "--consent", "F1", "--adult", "--key", key(),
        "--badge-out", (dir_ / "b.png").string()},
       "--photo is required"},
      {{"enroll", "--db", db(), "--pupil", "P1", "--consent", "F1", "--adult", "--key", pub(),
        "--badge-out", (dir_ / "b.png").string(), "--photo", photo},
       "public key"},
      {{"enroll", "--db", db(), "--pupil", "P1", "--consent", "F1", "--adult", "--key", key(),
        "--badge-out", (dir_ / "b.png").string(), "--photo", photo, "--mode", "cloud"},
       "--mode must be sealed or on-badge"},
      {{"enroll", "--db", db(), "--pupil", "P1", "--consent", "F1", "--adult", "--key", key(),
        "--badge-out", (dir_ / "b.png").string(), "--photo", photo, "--mode", "on-badge"},
       "--template-key"},
      {{"enroll", "--db", db(), "--pupil", "P1", "--consent", "F1", "--adult", "--key", key(),
        "--badge-out", (dir_ / "b.png").string(), "--photo", photo, "--valid-days", "0"},
       "--valid-days"},
      {{"revoke", "--db", db(), "--badge", "xyz"}, "is not a badge serial"},
      {{"revoke", "--db", (dir_ / "none.db").string(), "--badge", "0123456789abcdef"},
       "does not exist"},
      {{"erase", "--db", db()}, "--pupil is required"},
      {{"purge", "--db", db()}, "--config or --retention-days is required"},
      {{"purge", "--db", db(), "--retention-days", "-3"}, "--retention-days expects"},
      {{"audit", "frobnicate"}, "expected 'verify' or 'show'"},
      {{"badge", "issue", "--db", db(), "--pupil", "P1", "--key", key()},
       "--badge-out is required"},
  };
  for (const auto& [args, fragment] : cases) {
    const auto r = run(args);
    EXPECT_EQ(r.exitCode, 2) << fragment;
    EXPECT_NE(r.err.find(fragment), std::string::npos)
        << "expected '" << fragment << "' in: " << r.err;
  }
  EXPECT_FALSE(fs::exists(dir_ / "b.png"));
}

TEST_F(EnrolmentDesk, PurgeRemovesOldRecordsAndKeepsTheChain) {
  const std::int64_t now = std::time(nullptr);
  {
    auto database = store::Database::open(db());
    ASSERT_TRUE(database);
    audit::AuditLog log(*database);
    for (const std::int64_t daysAgo : {400, 200, 40, 10, 1}) {
      audit::AuditEvent e;
      e.at = now - daysAgo * 86'400;
      e.actor = "gate-1";
      e.action = "passage";
      e.outcome = "GRANTED";
      ASSERT_TRUE(log.append(e));
    }
  }
  const auto purged = run({"purge", "--db", db(), "--retention-days", "30"});
  ASSERT_EQ(purged.exitCode, 0) << purged.err;
  EXPECT_NE(purged.out.find("3 audit record(s) older than 30 days removed"), std::string::npos)
      << purged.out;
  const auto verified = run({"audit", "verify", "--db", db()});
  EXPECT_EQ(verified.exitCode, 0) << verified.out;
  EXPECT_NE(verified.out.find("3 record(s) checked (records up to 3 removed by retention: "
                              "purge record 6, retention 30 days)"),
            std::string::npos)
      << verified.out;
}

}  // namespace
}  // namespace facegate
