// `facegate verify` as a user runs it: the real binary, real files, exit codes and messages.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "facegate/face/models.hpp"
#include "test_support.hpp"

namespace facegate {
namespace {

namespace fs = std::filesystem;

const fs::path kCli = FACEGATE_CLI;

fs::path face(const std::string& relative) {
  return test::dataDir() / "faces" / relative;
}

test::CommandResult verify(const std::vector<std::string>& args) {
  std::vector<std::string> all{"verify"};
  all.insert(all.end(), args.begin(), args.end());
  return test::runCommand(kCli, all);
}

// Exit 2 with one sentence on stderr containing `fragment`, nothing on stdout.
void expectUndecided(const test::CommandResult& r, const std::string& fragment) {
  EXPECT_EQ(r.exitCode, 2) << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << "stderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << "stdout: " << r.out;
}

TEST(VerifyCli, SamePersonIsExitZeroAndJsonSaysMatch) {
  FACEGATE_REQUIRE_MODELS();
  const auto r = verify({face("obama/obama_1.jpg"), face("obama/obama_4_480p.jpg"), "--json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["match"], true);
  EXPECT_LT(json["distance"].get<double>(), json["threshold"].get<double>());
  EXPECT_EQ(json["faces"], nlohmann::json::array({1, 1}));
  for (const char* stage : {"detect", "align", "embed"}) {
    EXPECT_GT(json["ms"][stage].get<double>(), 0.0) << stage;
  }
}

TEST(VerifyCli, DifferentPeopleIsExitOneAndJsonSaysNoMatch) {
  FACEGATE_REQUIRE_MODELS();
  const auto r = verify({face("obama/obama_1.jpg"), face("biden/biden_1.jpg"), "--json"});
  ASSERT_EQ(r.exitCode, 1) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["match"], false);
  EXPECT_GT(json["distance"].get<double>(), json["threshold"].get<double>());
}

TEST(VerifyCli, ThresholdOptionDecides) {
  FACEGATE_REQUIRE_MODELS();
  // alex_lacamoire_1 vs raj_5 is the closest impostor pair of the set (~0.59): dlib's
  // folklore 0.6 accepts it, the shipped default does not.
  const auto loose = verify(
      {face("alex_lacamoire/alex_lacamoire_1.jpg"), face("raj/raj_5.png"), "--threshold", "0.6"});
  EXPECT_EQ(loose.exitCode, 0) << loose.out << loose.err;
  const auto shipped = verify({face("alex_lacamoire/alex_lacamoire_1.jpg"), face("raj/raj_5.png")});
  EXPECT_EQ(shipped.exitCode, 1) << shipped.out << shipped.err;
  EXPECT_NE(shipped.out.find("different people"), std::string::npos);
}

TEST(VerifyCli, SeveralFacesAreReported) {
  FACEGATE_REQUIRE_MODELS();
  const auto r = verify({face("_multi/obama_and_biden.jpg"), face("obama/obama_1.jpg"), "--json"});
  ASSERT_NE(r.exitCode, 2) << r.err;
  // Obama, Biden, and a child in the lower right corner.
  EXPECT_EQ(nlohmann::json::parse(r.out)["faces"], nlohmann::json::array({3, 1}));
}

class VerifyCliBadInput : public ::testing::Test {
 protected:
  test::TempDir dir_;
  std::string good_ = face("obama/obama_1.jpg").string();
};

TEST_F(VerifyCliBadInput, MissingFile) {
  expectUndecided(verify({good_, (dir_ / "absent.jpg").string()}), "absent.jpg does not exist");
}

TEST_F(VerifyCliBadInput, TruncatedJpeg) {
  const std::string whole = test::readFile(good_);
  test::writeFile(dir_ / "cut.jpg", whole.substr(0, whole.size() / 2));
  expectUndecided(verify({good_, (dir_ / "cut.jpg").string()}), "truncated JPEG");
}

TEST_F(VerifyCliBadInput, NonImage) {
  test::writeFile(dir_ / "cv.pdf", "%PDF-1.4 not a face\n");
  expectUndecided(verify({(dir_ / "cv.pdf").string(), good_}), "not a PNG, JPEG or BMP image");
}

TEST_F(VerifyCliBadInput, ImageWithoutAFace) {
  FACEGATE_REQUIRE_MODELS();
  cv::Mat wall(480, 640, CV_8UC3);
  cv::randu(wall, cv::Scalar(100, 100, 100), cv::Scalar(140, 140, 140));
  cv::imwrite((dir_ / "wall.png").string(), wall);
  expectUndecided(verify({good_, (dir_ / "wall.png").string()}), "no face was found in");
}

TEST_F(VerifyCliBadInput, OnePixelImage) {
  cv::imwrite((dir_ / "dot.png").string(), cv::Mat(1, 1, CV_8UC3, cv::Scalar(1, 2, 3)));
  expectUndecided(verify({good_, (dir_ / "dot.png").string()}), "too small to hold a face");
}

TEST_F(VerifyCliBadInput, HugeImage) {
  cv::imwrite((dir_ / "huge.jpg").string(), cv::Mat(8000, 8000, CV_8UC3, cv::Scalar(9, 9, 9)));
  expectUndecided(verify({good_, (dir_ / "huge.jpg").string()}), "megapixel limit");
}

TEST_F(VerifyCliBadInput, MissingModel) {
  expectUndecided(verify({good_, good_, "--models", dir_.path().string()}),
                  std::string(face::kLandmarkModel) + " is missing");
}

TEST_F(VerifyCliBadInput, CorruptedModel) {
  FACEGATE_REQUIRE_MODELS();
  const auto models = test::modelDir();
  fs::create_symlink(models / face::kLandmarkModel, dir_ / std::string(face::kLandmarkModel));
  std::string bytes = test::readFile(models / face::kRecognitionModel);
  bytes[12345] = static_cast<char>(bytes[12345] ^ 0x40);
  test::writeFile(dir_ / std::string(face::kRecognitionModel), bytes);
  const auto r = verify({good_, good_, "--models", dir_.path().string()});
  expectUndecided(r, std::string(face::kRecognitionModel) + " is corrupted");
  EXPECT_NE(r.err.find("scripts/setup.sh"), std::string::npos);
}

TEST_F(VerifyCliBadInput, BadArguments) {
  for (const auto& [args, fragment] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{}, "expected two image files, got 0"},
           {{good_}, "expected two image files, got 1"},
           {{good_, good_, good_}, "expected two image files, got 3"},
           {{good_, good_, "--threshold"}, "--threshold needs a value"},
           {{good_, good_, "--threshold", "abc"}, "--threshold expects a number"},
           {{good_, good_, "--threshold", "-0.5"}, "--threshold expects a number"},
           {{good_, good_, "--threshold", "nan"}, "--threshold expects a number"},
           {{good_, good_, "--threshold", "0.5x"}, "--threshold expects a number"},
           {{good_, good_, "--threshold", "0.5", "--threshold", "0.6"}, "given twice"},
           {{good_, good_, "--jsn"}, "unknown option --jsn"},
           {{good_, good_, "--json=yes"}, "--json takes no value"},
       }) {
    expectUndecided(verify(args), fragment);
  }
}

TEST(Cli, UnknownCommandAndHelp) {
  const auto unknown = test::runCommand(kCli, {"frobnicate"});
  EXPECT_EQ(unknown.exitCode, 2);
  EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos);
  const auto help = test::runCommand(kCli, {"verify", "--help"});
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_NE(help.out.find("usage: facegate verify"), std::string::npos);
}

}  // namespace
}  // namespace facegate
