// The whole privacy core with real parts: enrol from fixture photos, render the badge as a
// PNG QR code, decode the PNG with zbar, check the signature, unseal, and compare with a
// fresh photo of the same person and of someone else.
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "facegate/badge/qr.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/enrolment/template_builder.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/face/image_file.hpp"
#include "facegate/face/match.hpp"
#include "test_support.hpp"

namespace facegate::enrolment {
namespace {

constexpr std::int64_t kNow = 1'780'000'000;

class RoundTrip : public ::testing::TestWithParam<badge::BadgeKind> {
 protected:
  void SetUp() override {
    FACEGATE_REQUIRE_MODELS();
    auto engine = face::FaceEngine::load(test::modelDir());
    ASSERT_TRUE(engine) << engine.error().message;
    engine_ = std::move(*engine);
  }

  face::Embedding embed(const std::string& photo) {
    auto image = face::loadImage(test::dataDir() / "faces" / photo);
    EXPECT_TRUE(image);
    auto d = engine_->describeLargest(*image);
    EXPECT_TRUE(d) << photo;
    return d ? std::move(d->embedding) : face::Embedding();
  }

  std::unique_ptr<face::FaceEngine> engine_;
  test::TempDir dir_;
};

TEST_P(RoundTrip, EnrolRenderScanVerifyUnsealMatch) {
  const badge::BadgeKind mode = GetParam();
  auto db = store::Database::open(dir_ / "school.db");
  ASSERT_TRUE(db);
  Registry registry(*db, "desk:test");
  const auto signing = badge::SigningKey::generate();
  const auto templateKey = badge::TemplateKey::generate();

  // Template from three photos, made as `facegate enroll` makes it (penny_3 would be refused:
  // it is 0.540 from penny_1, over the agreement bound).
  auto builder = TemplateBuilder::create(*engine_);
  ASSERT_TRUE(builder);
  for (const char* photo : {"penny/penny_1.png", "penny/penny_2.png", "penny/penny_4.png"}) {
    builder->addFile(test::dataDir() / "faces" / photo);
  }
  auto templ = builder->build();
  ASSERT_TRUE(templ) << templ.error().message;
  EnrolmentRequest request;
  request.pupilId = "PENNY-01";
  request.consentRef = "F-1";
  request.guardianConsentRef = "G-1";
  request.mode = mode;
  request.now = kNow;
  auto issued = registry.enrol(request, *templ, &templateKey);
  ASSERT_TRUE(issued) << issued.error().message;
  auto payload = badge::encodeBadge(*issued, signing);
  ASSERT_TRUE(payload) << payload.error().message;
  ASSERT_TRUE(badge::writeQrPng(*payload, dir_ / "badge.png"));

  // At the gate: the PNG as a camera would see it.
  const cv::Mat png = cv::imread((dir_ / "badge.png").string(), cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(png.empty());
  badge::QrScanner scanner;
  const auto texts = scanner.scan(png);
  ASSERT_EQ(texts.size(), 1U);
  EXPECT_EQ(texts.front(), *payload);
  auto badge = badge::parseBadge(texts.front(), signing.publicKey(), kNow + 60);
  ASSERT_TRUE(badge) << badge.error().message;
  EXPECT_EQ(badge->serial, issued->serial);
  EXPECT_EQ(badge->pupilId, "PENNY-01");
  auto record = registry.findBadge(badge->serial);
  ASSERT_TRUE(record && *record && !(*record)->revokedAt);

  Result<face::Embedding> opened = fail(ErrorCode::Internal, "unset");
  if (mode == badge::BadgeKind::Sealed) {
    auto sealed = registry.findSealedTemplate(badge->serial);
    ASSERT_TRUE(sealed && *sealed);
    opened = unsealTemplate(**sealed, *badge->secret, badge->serial);
  } else {
    opened = unsealFromBadge(badge->onBadgeTemplate, templateKey, badge->serial);
  }
  ASSERT_TRUE(opened) << opened.error().message;

  const double genuine = face::distance(*opened, embed("penny/penny_5.png"));
  const double impostor = face::distance(*opened, embed("bernadette/bernadette_1.png"));
  EXPECT_TRUE(face::isMatch(genuine, face::kDefaultMatchThreshold)) << genuine;
  EXPECT_FALSE(face::isMatch(impostor, face::kDefaultMatchThreshold)) << impostor;
  // The badge's int8 quantisation moves distances by far less than the decision margin.
  EXPECT_NEAR(genuine, face::distance(*templ, embed("penny/penny_5.png")), 0.005);
  std::cout << toString(mode) << ": genuine " << genuine << ", impostor " << impostor
            << ", payload " << payload->size() << " characters\n";
}

INSTANTIATE_TEST_SUITE_P(BothStorageModes, RoundTrip,
                         ::testing::Values(badge::BadgeKind::Sealed, badge::BadgeKind::OnBadge),
                         [](const ::testing::TestParamInfo<badge::BadgeKind>& p) {
                           return p.param == badge::BadgeKind::Sealed ? std::string("Sealed")
                                                                      : std::string("OnBadge");
                         });

TEST(Quantisation, FixtureDistancesMoveByLessThanAHundredth) {
  FACEGATE_REQUIRE_MODELS();
  auto engine = face::FaceEngine::load(test::modelDir());
  ASSERT_TRUE(engine);
  std::vector<face::Embedding> all;
  for (const char* photo :
       {"amy/amy_1.png", "amy/amy_2.png", "raj/raj_1.png", "obama/obama_1.jpg", "biden/biden_1.jpg",
        "leonard/leonard_2.png", "leonard/leonard_5.png"}) {
    auto image = face::loadImage(test::dataDir() / "faces" / photo);
    ASSERT_TRUE(image);
    auto d = (*engine)->describeLargest(*image);
    ASSERT_TRUE(d);
    for (const float v : d->embedding.values()) {
      EXPECT_LT(std::abs(v), 127 * kQuantStep) << "a component outside the badge's range";
    }
    all.push_back(std::move(d->embedding));
  }
  // A template's distance to itself after quantisation is the quantisation noise:
  // step / sqrt(12) * sqrt(128) = 0.0128 expected. Between two faces the shift is bounded by
  // that and in practice much smaller, against a 0.02 gap around the threshold.
  double worst = 0.0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_LT(face::distance(quantiseRoundTrip(all[i]), all[i]), 0.015);
    for (std::size_t j = 0; j < all.size(); ++j) {
      if (i != j) {
        const double exact = face::distance(all[i], all[j]);
        const double quantised = face::distance(quantiseRoundTrip(all[i]), all[j]);
        worst = std::max(worst, std::abs(exact - quantised));
      }
    }
  }
  EXPECT_LT(worst, 0.005);
  std::cout << "largest distance shift from badge quantisation: " << worst << "\n";
}

}  // namespace
}  // namespace facegate::enrolment
