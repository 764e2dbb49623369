#include "facegate/face/image_file.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "test_support.hpp"

namespace facegate::face {
namespace {

namespace fs = std::filesystem;

class ImageFile : public ::testing::Test {
 protected:
  test::TempDir dir_;
  fs::path jpeg_ = test::dataDir() / "faces/obama/obama_1.jpg";
  fs::path png_ = test::dataDir() / "faces/amy/amy_1.png";

  void expectError(const fs::path& path, ErrorCode code, const std::string& fragment) {
    const auto image = loadImage(path);
    ASSERT_FALSE(image) << path;
    EXPECT_EQ(image.error().code, code) << image.error().message;
    EXPECT_NE(image.error().message.find(fragment), std::string::npos) << image.error().message;
    EXPECT_NE(image.error().message.find(path.filename().string()), std::string::npos)
        << "the message names the file: " << image.error().message;
  }
};

TEST_F(ImageFile, DecodesFixturesAsBgr) {
  for (const auto& path : {jpeg_, png_}) {
    const auto image = loadImage(path);
    ASSERT_TRUE(image) << image.error().message;
    EXPECT_EQ(image->type(), CV_8UC3);
    EXPECT_GE(image->cols, 150);
  }
}

// loadImage drops an alpha channel without compositing: a fully transparent photo comes
// back as the colours stored under it. loadImageWithAlpha keeps it, so enrolment can see it.
TEST_F(ImageFile, AlphaIsDroppedByLoadImageAndKeptByLoadImageWithAlpha) {
  const cv::Mat amy = cv::imread(png_.string(), cv::IMREAD_COLOR);
  cv::Mat bgra;
  cv::cvtColor(amy, bgra, cv::COLOR_BGR2BGRA);
  std::vector<cv::Mat> planes;
  cv::split(bgra, planes);
  planes[3].setTo(0);
  planes[3](cv::Rect(0, 0, 10, 10)).setTo(200);
  cv::merge(planes, bgra);
  ASSERT_TRUE(cv::imwrite((dir_ / "clear.png").string(), bgra));

  const auto plain = loadImage(dir_ / "clear.png");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(cv::norm(*plain, amy, cv::NORM_INF), 0.0) << "the hidden pixels come back as they are";

  const auto withAlpha = loadImageWithAlpha(dir_ / "clear.png");
  ASSERT_TRUE(withAlpha) << withAlpha.error().message;
  EXPECT_EQ(cv::norm(withAlpha->bgr, amy, cv::NORM_INF), 0.0);
  ASSERT_EQ(withAlpha->alpha.type(), CV_8UC1);
  ASSERT_EQ(withAlpha->alpha.size(), amy.size());
  EXPECT_EQ(withAlpha->alpha.at<unsigned char>(5, 5), 200);
  EXPECT_EQ(withAlpha->alpha.at<unsigned char>(50, 50), 0);

  // 16-bit alpha is scaled to 8 bits.
  cv::Mat deep;
  bgra.convertTo(deep, CV_16UC4, 257.0);
  ASSERT_TRUE(cv::imwrite((dir_ / "deep.png").string(), deep));
  const auto deepAlpha = loadImageWithAlpha(dir_ / "deep.png");
  ASSERT_TRUE(deepAlpha) << deepAlpha.error().message;
  EXPECT_EQ(deepAlpha->alpha.at<unsigned char>(5, 5), 200);
  EXPECT_EQ(deepAlpha->bgr.type(), CV_8UC3);
}

TEST_F(ImageFile, NoAlphaPlaneWithoutAnAlphaChannel) {
  for (const auto& path : {jpeg_, png_}) {
    const auto image = loadImageWithAlpha(path);
    ASSERT_TRUE(image) << image.error().message;
    EXPECT_TRUE(image->alpha.empty()) << path;
    EXPECT_EQ(image->bgr.type(), CV_8UC3);
  }
  const auto missing = loadImageWithAlpha(dir_ / "nobody.png");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::FileNotFound);
}

TEST_F(ImageFile, MissingFile) {
  expectError(dir_ / "nobody.jpg", ErrorCode::FileNotFound, "does not exist");
}

TEST_F(ImageFile, DirectoryIsNotAnImage) {
  expectError(dir_.path(), ErrorCode::FileUnreadable, "not a regular file");
}

TEST_F(ImageFile, EmptyFile) {
  test::writeFile(dir_ / "empty.jpg", "");
  expectError(dir_ / "empty.jpg", ErrorCode::ImageUndecodable, "is empty");
}

TEST_F(ImageFile, NonImage) {
  test::writeFile(dir_ / "notes.jpg", "this is a text file, not a photo\n");
  expectError(dir_ / "notes.jpg", ErrorCode::ImageUndecodable, "not a PNG, JPEG or BMP");
}

TEST_F(ImageFile, TruncatedJpegAtManyPoints) {
  const std::string whole = test::readFile(jpeg_);
  for (const double fraction : {0.001, 0.01, 0.1, 0.5, 0.9, 0.999}) {
    const auto cut = static_cast<std::size_t>(static_cast<double>(whole.size()) * fraction);
    test::writeFile(dir_ / "cut.jpg", whole.substr(0, cut));
    expectError(dir_ / "cut.jpg", ErrorCode::ImageUndecodable, "truncated JPEG");
  }
}

TEST_F(ImageFile, TruncatedPng) {
  const std::string whole = test::readFile(png_);
  for (const double fraction : {0.001, 0.1, 0.5, 0.95}) {
    const auto cut = static_cast<std::size_t>(static_cast<double>(whole.size()) * fraction);
    test::writeFile(dir_ / "cut.png", whole.substr(0, cut));
    expectError(dir_ / "cut.png", ErrorCode::ImageUndecodable, "truncated PNG");
  }
}

TEST_F(ImageFile, CorruptJpegBody) {
  std::string bytes = test::readFile(jpeg_);
  // Keep the header and the end marker, scramble the entropy-coded data.
  for (std::size_t i = bytes.size() / 3; i < bytes.size() - 2; ++i) {
    bytes[i] = static_cast<char>(0xff);
  }
  bytes[bytes.size() - 2] = static_cast<char>(0xff);
  bytes[bytes.size() - 1] = static_cast<char>(0xd9);
  test::writeFile(dir_ / "scrambled.jpg", bytes);
  const auto image = loadImage(dir_ / "scrambled.jpg");
  // libjpeg may salvage part of the picture; what matters is no crash and a BGR result or a
  // clear error.
  if (image) {
    EXPECT_EQ(image->type(), CV_8UC3);
  } else {
    EXPECT_EQ(image.error().code, ErrorCode::ImageUndecodable);
  }
}

TEST_F(ImageFile, OnePixelImage) {
  cv::imwrite((dir_ / "dot.png").string(), cv::Mat(1, 1, CV_8UC3, cv::Scalar(0, 0, 255)));
  expectError(dir_ / "dot.png", ErrorCode::ImageTooSmall, "too small");
}

TEST_F(ImageFile, HugeImageIsRefusedFromItsHeader) {
  // 8000x8000 = 64 MP; a flat colour compresses to a small file, so only the header check
  // (not the file size cap) can stop it.
  cv::imwrite((dir_ / "huge.jpg").string(), cv::Mat(8000, 8000, CV_8UC3, cv::Scalar(90, 90, 90)));
  expectError(dir_ / "huge.jpg", ErrorCode::ImageTooLarge, "8000x8000");
}

TEST_F(ImageFile, ForgedPngHeaderDimensionsAreRefused) {
  std::string bytes = test::readFile(png_);
  // IHDR width at offset 16: claim 2^31-1 pixels wide.
  bytes[16] = 0x7f;
  bytes[17] = static_cast<char>(0xff);
  bytes[18] = static_cast<char>(0xff);
  bytes[19] = static_cast<char>(0xff);
  test::writeFile(dir_ / "bomb.png", bytes);
  expectError(dir_ / "bomb.png", ErrorCode::ImageTooLarge, "megapixel limit");
}

TEST_F(ImageFile, OversizedFileIsRefusedUnread) {
  ImageLimits limits;
  limits.maxFileBytes = 1000;
  const auto image = loadImage(jpeg_, limits);
  ASSERT_FALSE(image);
  EXPECT_EQ(image.error().code, ErrorCode::ImageTooLarge);
}

}  // namespace
}  // namespace facegate::face
