#include "facegate/badge/qr.hpp"

#include <sys/stat.h>

#include <iostream>
#include <random>

#include <gtest/gtest.h>
#include <zbar.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "facegate/badge/payload.hpp"
#include "test_support.hpp"

namespace facegate::badge {
namespace {

namespace fs = std::filesystem;

constexpr int kQuietZone = 4;

// The QR version from the rendered size: a version-v symbol is 17 + 4v modules wide.
int versionOf(const cv::Mat& qr, int moduleSize, int quietZone = kQuietZone) {
  const int modules = qr.cols / moduleSize - 2 * quietZone;
  EXPECT_EQ((modules - 17) % 4, 0);
  return (modules - 17) / 4;
}

std::string randomBase45(std::size_t length, unsigned seed) {
  constexpr std::string_view kAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  std::mt19937 random(seed);
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string text(length, ' ');
  for (auto& c : text) {
    c = kAlphabet[pick(random)];
  }
  return text;
}

// The longest badge texts of each kind, as the enrolment machine makes them.
std::string badgeText(BadgeKind kind) {
  static const SigningKey school = SigningKey::generate();
  Badge badge;
  badge.kind = kind;
  badge.serial = newBadgeSerial();
  badge.pupilId = std::string(kMaxPupilIdLength, 'p');
  badge.issuedAt = 1'725'000'000;
  badge.expiresAt = badge.issuedAt + std::int64_t{365} * 24 * 3600;
  if (kind == BadgeKind::Sealed) {
    badge.secret.emplace(newBadgeSecret());
  }
  if (kind == BadgeKind::OnBadge) {
    badge.onBadgeTemplate.assign(kOnBadgeTemplateSize, 0x5a);
  }
  auto text = encodeBadge(badge, school);
  EXPECT_TRUE(text) << text.error().message;
  return text ? *text : std::string{};
}

cv::Mat renderOrFail(std::string_view text, int moduleSize = 8) {
  auto qr = renderQr(text, moduleSize);
  EXPECT_TRUE(qr) << qr.error().message;
  return qr ? *qr : cv::Mat{};
}

// A 640x480 grey camera-like frame with `qr` shrunk by `scale`, slightly blurred, on a
// mid-grey background at (x, y).
cv::Mat inFrame(const cv::Mat& qr, double scale, int x = 180, int y = 100) {
  cv::Mat frame(480, 640, CV_8UC1, cv::Scalar(110));
  cv::Mat small;
  cv::resize(qr, small, cv::Size(), scale, scale, cv::INTER_AREA);
  cv::GaussianBlur(small, small, cv::Size(3, 3), 0.8);
  small.copyTo(frame(cv::Rect(x, y, small.cols, small.rows)));
  return frame;
}

// EAN-13 bars for 13 digits, as 0/1 modules: start guard, 6 digits in L/G codes chosen by
// the first digit, centre guard, 6 digits in R code, end guard.
std::vector<int> ean13Modules(std::string_view digits) {
  static const char* kL[] = {"0001101", "0011001", "0010011", "0111101", "0100011",
                             "0110001", "0101111", "0111011", "0110111", "0001011"};
  static const char* kG[] = {"0100111", "0110011", "0011011", "0100001", "0011101",
                             "0111001", "0000101", "0010001", "0001001", "0010111"};
  static const char* kParity[] = {"LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
                                  "LGGLLG", "LGGGLG", "LGLGGL", "LGLGLG", "LGGLGL"};
  std::string bits = "101";
  const int first = digits[0] - '0';
  for (int i = 1; i <= 6; ++i) {
    const int d = digits[static_cast<std::size_t>(i)] - '0';
    bits += kParity[first][i - 1] == 'L' ? kL[d] : kG[d];
  }
  bits += "01010";
  for (int i = 7; i <= 12; ++i) {
    std::string code = kL[digits[static_cast<std::size_t>(i)] - '0'];
    for (auto& c : code) {
      c = c == '0' ? '1' : '0';  // R code: L inverted
    }
    bits += code;
  }
  bits += "101";
  std::vector<int> modules;
  for (const char c : bits) {
    modules.push_back(c - '0');
  }
  return modules;
}

cv::Mat ean13Frame(std::string_view digits) {
  cv::Mat frame(480, 640, CV_8UC1, cv::Scalar(255));
  const auto modules = ean13Modules(digits);
  constexpr int kModulePixels = 4;
  const int left = (640 - static_cast<int>(modules.size()) * kModulePixels) / 2;
  for (std::size_t i = 0; i < modules.size(); ++i) {
    if (modules[i] == 1) {
      frame(cv::Rect(left + static_cast<int>(i) * kModulePixels, 140, kModulePixels, 200)).setTo(0);
    }
  }
  return frame;
}

// zbar with its default configuration (every symbology on), to show that a test image does
// hold a barcode that only QrScanner's configuration ignores.
std::vector<std::string> scanWithEverySymbology(const cv::Mat& grey) {
  zbar::ImageScanner scanner;
  scanner.set_config(zbar::ZBAR_NONE, zbar::ZBAR_CFG_ENABLE, 1);
  zbar::Image image(static_cast<unsigned>(grey.cols), static_cast<unsigned>(grey.rows), "Y800",
                    grey.data, grey.total());
  scanner.scan(image);
  std::vector<std::string> texts;
  for (auto symbol = image.symbol_begin(); symbol != image.symbol_end(); ++symbol) {
    texts.push_back(symbol->get_data());
  }
  return texts;
}

TEST(RenderQr, BlackModulesOnWhiteWithAQuietZone) {
  const std::string text = badgeText(BadgeKind::Sealed);
  const cv::Mat qr = renderOrFail(text, 8);
  ASSERT_EQ(qr.type(), CV_8UC1);
  ASSERT_EQ(qr.cols, qr.rows);
  EXPECT_EQ(qr.cols % 8, 0);
  const int margin = kQuietZone * 8;
  EXPECT_EQ(cv::countNonZero(qr(cv::Rect(0, 0, qr.cols, margin)) != 255), 0);
  EXPECT_EQ(cv::countNonZero(qr(cv::Rect(0, 0, margin, qr.rows)) != 255), 0);
  EXPECT_EQ(cv::countNonZero(qr(cv::Rect(qr.cols - margin, 0, margin, qr.rows)) != 255), 0);
  EXPECT_EQ(cv::countNonZero((qr != 0) & (qr != 255)), 0) << "pure black and white";
  // The top-left finder pattern: a dark 7x7 ring, light ring, dark 3x3 centre.
  EXPECT_EQ(qr.at<std::uint8_t>(margin, margin), 0);
  EXPECT_EQ(qr.at<std::uint8_t>(margin + 8 + 4, margin + 8 + 4), 255);
  EXPECT_EQ(qr.at<std::uint8_t>(margin + 3 * 8 + 4, margin + 3 * 8 + 4), 0);

  const auto bigger = renderQr(text, 3, 0);
  ASSERT_TRUE(bigger);
  EXPECT_EQ(bigger->cols, qr.cols / 8 * 3 - 2 * kQuietZone * 3);
}

// Base45 is QR alphanumeric text, so it packs 5.5 bits a character. In byte mode (8 bits)
// the plain badge would need version 9, the sealed one 11 and the on-badge one 16.
TEST(RenderQr, BadgesUseAlphanumericModeAndSmallVersions) {
  for (const auto& [kind, name, maxVersion] :
       {std::tuple{BadgeKind::Plain, "plain", 8}, std::tuple{BadgeKind::Sealed, "sealed", 9},
        std::tuple{BadgeKind::OnBadge, "on-badge", 13}}) {
    const std::string text = badgeText(kind);
    const cv::Mat qr = renderOrFail(text, 1);
    const int version = versionOf(qr, 1);
    std::cout << "[ info     ] longest " << name << " badge: " << text.size()
              << " characters, QR version " << version << " (" << 17 + 4 * version << "x"
              << 17 + 4 * version << " modules, level M)\n";
    EXPECT_LE(version, maxVersion) << name;
  }
}

TEST(RenderQr, RejectsBadArguments) {
  for (const auto& [text, moduleSize, quietZone] :
       {std::tuple{std::string("BB8"), 0, 4}, std::tuple{std::string("BB8"), 33, 4},
        std::tuple{std::string("BB8"), 8, -1}, std::tuple{std::string("BB8"), 8, 17},
        std::tuple{std::string(), 8, 4},
        std::tuple{std::string("BB\0"
                               "8",
                               4),
                   8, 4},
        std::tuple{randomBase45(5000, 1), 8, 4}}) {
    const auto qr = renderQr(text, moduleSize, quietZone);
    ASSERT_FALSE(qr) << text.size() << " " << moduleSize << " " << quietZone;
    EXPECT_EQ(qr.error().code, ErrorCode::InvalidArgument) << qr.error().message;
  }
}

TEST(QrScanner, ReadsBackWhatWasRendered) {
  QrScanner scanner;
  for (const auto kind : {BadgeKind::Plain, BadgeKind::Sealed, BadgeKind::OnBadge}) {
    const std::string text = badgeText(kind);
    EXPECT_EQ(scanner.scan(renderOrFail(text, 4)), std::vector<std::string>{text});
  }
}

TEST(QrScanner, ReadsADownscaledBlurredQrInACameraFrame) {
  QrScanner scanner;
  const std::string sealed = badgeText(BadgeKind::Sealed);
  const cv::Mat frame = inFrame(renderOrFail(sealed, 4), 0.7);  // ~2.8 px a module
  EXPECT_EQ(scanner.scan(frame), std::vector<std::string>{sealed});

  const std::string onBadge = badgeText(BadgeKind::OnBadge);
  EXPECT_EQ(scanner.scan(inFrame(renderOrFail(onBadge, 4), 0.8, 150, 60)),
            std::vector<std::string>{onBadge});

  cv::Mat bgr;
  cv::cvtColor(frame, bgr, cv::COLOR_GRAY2BGR);
  EXPECT_EQ(scanner.scanBgr(bgr), std::vector<std::string>{sealed});
}

TEST(QrScanner, ReadsANonContinuousRegion) {
  QrScanner scanner;
  const std::string text = badgeText(BadgeKind::Sealed);
  const cv::Mat frame = inFrame(renderOrFail(text, 4), 0.7, 180, 100);
  const cv::Mat roi = frame(cv::Rect(100, 50, 400, 350));
  ASSERT_FALSE(roi.isContinuous());
  EXPECT_EQ(scanner.scan(roi), std::vector<std::string>{text});
}

TEST(QrScanner, ReadsTwoBadgesInOneFrame) {
  QrScanner scanner;
  const std::string a = badgeText(BadgeKind::Plain);
  const std::string b = badgeText(BadgeKind::Sealed);
  cv::Mat frame(480, 640, CV_8UC1, cv::Scalar(255));
  renderOrFail(a, 3).copyTo(frame(cv::Rect(10, 10, 0, 0) + renderOrFail(a, 3).size()));
  const cv::Mat qrB = renderOrFail(b, 3);
  qrB.copyTo(frame(cv::Rect(cv::Point(630 - qrB.cols, 470 - qrB.rows), qrB.size())));
  auto texts = scanner.scan(frame);
  std::sort(texts.begin(), texts.end());
  auto expected = std::vector<std::string>{a, b};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(texts, expected);
}

TEST(QrScanner, IgnoresAnEan13Barcode) {
  const cv::Mat frame = ean13Frame("4006381333931");
  // The image does hold a barcode zbar reads with its default configuration...
  ASSERT_EQ(scanWithEverySymbology(frame), std::vector<std::string>{"4006381333931"});
  // ...but the badge scanner only looks for QR codes.
  QrScanner scanner;
  EXPECT_TRUE(scanner.scan(frame).empty());
}

TEST(QrScanner, FindsNothingInNoiseOrAnEmptyScene) {
  QrScanner scanner;
  cv::Mat noise(480, 640, CV_8UC1);
  cv::RNG rng(7);
  rng.fill(noise, cv::RNG::UNIFORM, 0, 256);
  EXPECT_TRUE(scanner.scan(noise).empty());

  cv::Mat scene(480, 640, CV_8UC1);
  for (int y = 0; y < scene.rows; ++y) {
    scene.row(y).setTo(cv::Scalar(255.0 * y / scene.rows));
  }
  cv::putText(scene, "Entree des eleves", cv::Point(60, 240), cv::FONT_HERSHEY_SIMPLEX, 1.5,
              cv::Scalar(20), 3);
  EXPECT_TRUE(scanner.scan(scene).empty());
  EXPECT_TRUE(scanner.scan(cv::Mat(480, 640, CV_8UC1, cv::Scalar(128))).empty());
  EXPECT_TRUE(scanner.scan(cv::Mat()).empty());
}

TEST(QrScanner, DropsTextsLongerThanTheCap) {
  QrScanner scanner;
  const std::string atCap = randomBase45(kMaxPayloadTextLength, 3);
  EXPECT_EQ(scanner.scan(renderOrFail(atCap, 4)), std::vector<std::string>{atCap});
  const std::string over = randomBase45(kMaxPayloadTextLength + 1, 4);
  const cv::Mat overQr = renderOrFail(over, 4);
  ASSERT_EQ(scanWithEverySymbology(overQr), std::vector<std::string>{over}) << "readable";
  EXPECT_TRUE(scanner.scan(overQr).empty());
}

TEST(QrScanner, IsMovable) {
  QrScanner first;
  QrScanner second(std::move(first));
  QrScanner third;
  third = std::move(second);
  const std::string text = badgeText(BadgeKind::Plain);
  EXPECT_EQ(third.scan(renderOrFail(text, 4)), std::vector<std::string>{text});
}

TEST(QrScanner, RefusesOtherPixelTypes) {
  QrScanner scanner;
  EXPECT_THROW(scanner.scan(cv::Mat(10, 10, CV_8UC3)), std::invalid_argument);
  EXPECT_THROW(scanner.scan(cv::Mat(10, 10, CV_32FC1)), std::invalid_argument);
  EXPECT_THROW(scanner.scanBgr(cv::Mat(10, 10, CV_16UC3)), std::invalid_argument);
}

TEST(WriteQrPng, WritesAPngThatScansBack) {
  test::TempDir dir;
  const std::string text = badgeText(BadgeKind::Sealed);
  const auto path = dir / "badge.png";
  const auto written = writeQrPng(text, path, 6);
  ASSERT_TRUE(written) << written.error().message;
  const cv::Mat read = cv::imread(path.string(), cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(read.empty());
  EXPECT_EQ(cv::countNonZero(read != *renderQr(text, 6)), 0);
  QrScanner scanner;
  EXPECT_EQ(scanner.scan(read), std::vector<std::string>{text});
}

TEST(WriteQrPng, ReportsPathsItCannotWrite) {
  test::TempDir dir;
  const auto missing = dir / "no-such-dir" / "badge.png";
  auto written = writeQrPng("BB8", missing);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ErrorCode::StorageFailure);
  EXPECT_NE(written.error().message.find(missing.string()), std::string::npos)
      << written.error().message;

  fs::create_directory(dir / "taken.png");  // a directory where the file should go
  written = writeQrPng("BB8", dir / "taken.png");
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ErrorCode::StorageFailure) << written.error().message;

  written = writeQrPng("BB8", dir / "badge.jpg");
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ErrorCode::InvalidArgument);
  EXPECT_NE(written.error().message.find(".png"), std::string::npos);
}

// Review, issue 11: the badge PNG was written with cv::imwrite, which follows a symbolic
// link (a dangling one sent the badge to its target) and overwrites whatever is there,
// keeping its mode.
mode_t lmodeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode;
}

TEST(WriteQrPng, NeverWritesThroughASymlink) {
  test::TempDir dir;
  fs::create_symlink(dir / "elsewhere.png", dir / "dangling.png");
  auto written = writeQrPng("BB8", dir / "dangling.png");
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ErrorCode::AlreadyExists);
  EXPECT_NE(written.error().message.find("symbolic link"), std::string::npos)
      << written.error().message;
  EXPECT_FALSE(fs::exists(dir / "elsewhere.png")) << "the badge went to the link's target";

  test::writeFile(dir / "facegate.toml", "[gate]\n");
  fs::create_symlink(dir / "facegate.toml", dir / "config.png");
  written = writeQrPng("BB8", dir / "config.png");
  ASSERT_FALSE(written);
  EXPECT_EQ(test::readFile(dir / "facegate.toml"), "[gate]\n") << "overwritten through a link";
}

TEST(WriteQrPng, NeverWritesIntoAFileThatExists) {
  test::TempDir dir;
  test::writeFile(dir / "badge.png", "planted by someone else");
  ::chmod((dir / "badge.png").c_str(), 0666);
  const auto written = writeQrPng(badgeText(BadgeKind::Sealed), dir / "badge.png");
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ErrorCode::AlreadyExists);
  EXPECT_EQ(test::readFile(dir / "badge.png"), "planted by someone else");
  EXPECT_EQ(lmodeOf(dir / "badge.png") & 07777, 0666U);
}

TEST(WriteQrPng, IsPrivateWhateverTheUmask) {
  test::TempDir dir;
  const mode_t old = ::umask(0);
  const auto written = writeQrPng(badgeText(BadgeKind::Sealed), dir / "badge.png");
  ::umask(old);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(lmodeOf(dir / "badge.png") & 07777, 0600U) << "the badge holds its secret";
}

TEST(WriteQrPng, ReplaceSwapsTheLinkAndLeavesItsTargetAlone) {
  test::TempDir dir;
  test::writeFile(dir / "facegate.toml", "[gate]\n");
  ::chmod((dir / "facegate.toml").c_str(), 0644);
  fs::create_symlink(dir / "facegate.toml", dir / "badge.png");
  const std::string text = badgeText(BadgeKind::Plain);
  const auto written = writeQrPng(text, dir / "badge.png", 6, 4, Overwrite::Replace);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_TRUE(S_ISREG(lmodeOf(dir / "badge.png")));
  EXPECT_EQ(lmodeOf(dir / "badge.png") & 07777, 0600U);
  EXPECT_EQ(test::readFile(dir / "facegate.toml"), "[gate]\n");
  EXPECT_EQ(lmodeOf(dir / "facegate.toml") & 07777, 0644U);
  QrScanner scanner;
  EXPECT_EQ(scanner.scan(cv::imread((dir / "badge.png").string(), cv::IMREAD_GRAYSCALE)),
            std::vector<std::string>{text});
}

TEST(EncodeQrPng, DecodesToTheRenderedCode) {
  const std::string text = badgeText(BadgeKind::OnBadge);
  const auto png = encodeQrPng(text, 5);
  ASSERT_TRUE(png) << png.error().message;
  const cv::Mat read = cv::imdecode(*png, cv::IMREAD_GRAYSCALE);
  EXPECT_EQ(cv::countNonZero(read != *renderQr(text, 5)), 0);
}

}  // namespace
}  // namespace facegate::badge
