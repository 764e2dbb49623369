// `facegate eval` and `facegate eval-pad` as a user runs them, on the fixtures.
#include <sys/stat.h>

#include <functional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "facegate/eval/photo_set.hpp"
#include "facegate/face/match.hpp"
#include "test_support.hpp"

namespace facegate {
namespace {

namespace fs = std::filesystem;

const fs::path kCli = FACEGATE_CLI;

fs::path faces() {
  return test::dataDir() / "faces";
}

test::CommandResult eval(const std::vector<std::string>& args) {
  std::vector<std::string> all{"eval"};
  all.insert(all.end(), args.begin(), args.end());
  return test::runCommand(kCli, all);
}

void expectBadInput(const test::CommandResult& r, const std::string& fragment) {
  EXPECT_EQ(r.exitCode, 2) << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << "stderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << "stdout: " << r.out;
}

TEST(EvalCli, FixturesHaveNoFalseAcceptAndTheKnownPairCounts) {
  FACEGATE_REQUIRE_MODELS();
  test::TempDir dir;
  const auto plot = dir / "det.png";
  // Without the detector's retry, as the fixture README counts (stuart_5's face missed).
  const auto r = eval({faces().string(), "--json", "--no-retry", "--plot", plot.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["detector_retry_score"], nullptr);
  EXPECT_EQ(json["images"], 52);
  EXPECT_EQ(json["persons"], 13);
  EXPECT_EQ(json["images_without_face"], 1);
  ASSERT_EQ(json["without_face"].size(), 1u);
  EXPECT_NE(json["without_face"][0]["file"].get<std::string>().find("stuart_5.png"),
            std::string::npos);
  EXPECT_EQ(json["genuine_pairs"], 86);
  EXPECT_EQ(json["impostor_pairs"], 1189);
  EXPECT_EQ(json["impostor_pairs_sampled"], false);
  EXPECT_DOUBLE_EQ(json["threshold"].get<double>(), face::kDefaultMatchThreshold);
  EXPECT_EQ(json["false_accepts"], 0);
  // Photo against photo: the shipped threshold is calibrated for templates against frames,
  // so some single-photo genuine pairs are above it (README, "The default threshold").
  EXPECT_GT(json["false_rejects"], 0);
  EXPECT_EQ(json["face_choice"], "face nearest the centre");
  // The fixtures separate (README: largest genuine 0.581, smallest impostor 0.590).
  EXPECT_DOUBLE_EQ(json["eer"]["rate"].get<double>(), 0.0);
  EXPECT_LT(json["genuine_distance_max"].get<double>(),
            json["impostor_distance_min"].get<double>());
  // 1189 impostor pairs support FMR 1e-2 (300 needed) but not 1e-3 (3000 needed).
  ASSERT_EQ(json["fnmr_at_fmr"].size(), 3u);
  EXPECT_EQ(json["fnmr_at_fmr"][0]["supported"], true);
  EXPECT_EQ(json["fnmr_at_fmr"][1]["supported"], false);
  EXPECT_EQ(json["fnmr_at_fmr"][2]["supported"], false);
  EXPECT_EQ(json["fnmr_at_fmr"][1]["impostor_pairs_needed"], 3000);

  const cv::Mat image = cv::imread(plot.string(), cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(image.empty()) << "not a readable PNG: " << plot;
  EXPECT_EQ(image.cols, 900);
  EXPECT_EQ(image.rows, 600);
  EXPECT_EQ(image.channels(), 3);
  EXPECT_EQ(test::readFile(plot).substr(1, 3), "PNG");
}

// By default a photo without a face is looked at again at a lower detector score: stuart_5's
// face is found, so every fixture takes part (4 more genuine pairs, 47 more impostor pairs),
// and still no impostor pair passes the shipped threshold.
TEST(EvalCli, DetectorRetryFindsTheMarginalCropsFace) {
  FACEGATE_REQUIRE_MODELS();
  const auto r = eval({faces().string(), "--json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_DOUBLE_EQ(json["detector_retry_score"].get<double>(), eval::kPhotoRetryScoreThreshold);
  EXPECT_EQ(json["images_without_face"], 0);
  EXPECT_EQ(json["genuine_pairs"], 90);
  EXPECT_EQ(json["impostor_pairs"], 1236);
  EXPECT_EQ(json["false_accepts"], 0);
  EXPECT_EQ(json["jitters"], 0);
}

TEST(EvalCli, LfwProtocolAndHumanReport) {
  FACEGATE_REQUIRE_MODELS();
  test::TempDir dir;
  // Two folds of three same-person and three different-person pairs; without the detector's
  // retry stuart 5 has no usable face, so its pair counts as an error.
  test::writeFile(dir / "pairs.txt",
                  "2 3\n"
                  "amy 1 2\npenny 1 3\nstuart 1 5\n"
                  "amy 1 penny 1\nraj 2 sheldon 3\nobama 1 biden 2\n"
                  "howard 1 4\nleonard 2 3\nobama 1 3\n"
                  "alex_lacamoire 1 raj 5\nbernadette 2 amy 4\nkit_harington 1 rose_leslie 2\n");
  const auto r = eval({faces().string(), "--pairs", (dir / "pairs.txt").string(), "--max-impostors",
                       "500", "--compare-stock", "--no-retry"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("52 images of 13 persons, 1 without a usable face"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("86 genuine, 500 impostor (a sample of the 1189 possible, seed 1)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("FNMR at FMR 1e-3: not supported (500 impostor pairs"), std::string::npos)
      << r.out;
  // LFW counts every pair: the one without a usable face is an error, and the accuracy
  // without it is the second figure; dlib's stock recipe runs in the same invocation.
  EXPECT_NE(r.out.find("2-fold accuracy, facegate: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("over 12 pairs, the 1 pairs without a usable face counted as errors "
                       "(failure to acquire 8.33 %)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("2-fold accuracy, dlib's stock recipe (same models, same run): "),
            std::string::npos)
      << r.out;
}

TEST(EvalCli, BadInput) {
  test::TempDir dir;
  fs::create_directories(dir / "only_one");
  cv::imwrite((dir / "only_one" / "a.png").string(), cv::Mat(64, 64, CV_8UC3, cv::Scalar(1)));
  test::writeFile(dir / "bad_pairs.txt", "1 1\namy 1 2\namy 1 penny\n");
  test::writeFile(dir / "one_fold.txt", "1 1\namy 1 2\namy 1 penny 1\n");
  test::writeFile(dir / "no_image.txt", "2 1\namy 1 2\namy 1 penny 1\namy 3 9\namy 1 penny 2\n");
  const std::string f = faces().string();
  for (const auto& [args, fragment] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{}, "expected the folder DIR"},
           {{(dir / "absent").string()}, "absent is not a folder of person folders"},
           {{(dir / "only_one" / "a.png").string()}, "is not a folder of person folders"},
           {{dir.path().string() + "/only_one"}, "holds no person folder with images"},
           {{dir.path().string()}, "holds one person folder (only_one)"},
           {{f, "--pairs", (dir / "bad_pairs.txt").string()},
            "bad_pairs.txt:3: a different-person pair has 4 fields"},
           {{f, "--pairs", (dir / "one_fold.txt").string()}, "one_fold.txt:1: cross-validation"},
           {{f, "--pairs", (dir / "no_image.txt").string()},
            "no_image.txt:4: there is no image 9 of amy"},
           {{f, "--pairs", (dir / "absent.txt").string()}, "absent.txt does not exist"},
           {{f, "--threshold", "abc"}, "--threshold expects a number"},
           {{f, "--threshold", "3"}, "--threshold expects a number"},
           {{f, "--seed", "-1"}, "--seed expects a whole number"},
           {{f, "--jitters", "-1"}, "--jitters expects a whole number"},
           {{f, "--jitters", "65"}, "--jitters expects a whole number"},
           {{f, "--jitters", "2x"}, "--jitters expects a whole number"},
           {{f, "--max-impostors", "0"}, "--max-impostors expects a whole number"},
           {{f, "--max-impostors", "1e5"}, "--max-impostors expects a whole number"},
           {{f, "--plot", ""}, "--plot must not be empty"},
           {{f, "--jsn"}, "unknown option --jsn"},
           {{f, "--face", "left"}, "--face must be centre or largest, got 'left'"},
       }) {
    expectBadInput(eval(args), fragment);
  }
}

test::CommandResult command(const std::string& name, const std::vector<std::string>& args) {
  std::vector<std::string> all{name};
  all.insert(all.end(), args.begin(), args.end());
  return test::runCommand(kCli, all);
}

// The gate's protocol on the fixtures: templates made by the desk's builder, one photo per
// passage, no impostor granted at the shipped threshold.
TEST(EvalGateCli, FixtureTemplatesAgainstPassages) {
  FACEGATE_REQUIRE_MODELS();
  const auto r = command("eval-gate", {faces().string(), "--json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["enrol_photos"], 3);
  EXPECT_EQ(json["frames_per_passage"], 1);
  EXPECT_GE(json["persons_enrolled"].get<int>(), 7) << r.out;
  EXPECT_LE(json["persons_enrolled"].get<int>(), json["persons_tried"].get<int>());
  EXPECT_GT(json["genuine_passages"].get<int>(), 0);
  EXPECT_GT(json["impostor_passages"].get<int>(), 150);
  EXPECT_DOUBLE_EQ(json["threshold"].get<double>(), face::kDefaultMatchThreshold);
  EXPECT_EQ(json["false_accepts"], 0);
  // Too few impostor passages for 1e-4: no calibrated threshold is claimed.
  EXPECT_TRUE(json["calibrated_threshold"].is_null());
  EXPECT_EQ(json["fnmr_at_fmr"][1]["supported"], false);

  // Two photos per passage: every one must match, so a passage is as far as its farther photo.
  const auto two = command("eval-gate", {faces().string(), "--json", "--frames", "2"});
  ASSERT_EQ(two.exitCode, 0) << two.err;
  EXPECT_EQ(nlohmann::json::parse(two.out)["frames_per_passage"], 2);
}

TEST(EvalGateCli, CalibrationRefusesATargetTheSetCannotSupport) {
  FACEGATE_REQUIRE_MODELS();
  const auto strict = command("calibrate-threshold", {faces().string()});
  EXPECT_EQ(strict.exitCode, 2) << strict.out;
  EXPECT_NE(strict.err.find("cannot support FMR 1e-4 (the rule of three needs 30000)"),
            std::string::npos)
      << strict.err;
  const auto loose = command("calibrate-threshold", {faces().string(), "--target-fmr", "0.02"});
  ASSERT_EQ(loose.exitCode, 0) << loose.err;
  EXPECT_NE(loose.out.find("calibrated for FMR 0.02: FNMR "), std::string::npos) << loose.out;
  EXPECT_NE(loose.out.find("[face]\nthreshold = 0."), std::string::npos) << loose.out;
}

TEST(EvalGateCli, BadInput) {
  const std::string f = faces().string();
  for (const auto& [args, fragment] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{}, "expected the folder DIR"},
           {{"/nonexistent-dir"}, "is not a folder of person folders"},
           {{f, "--enrol-photos", "0"}, "--enrol-photos expects a whole number from 1 to 10"},
           {{f, "--frames", "9"}, "--frames expects a whole number from 1 to 8"},
           {{f, "--enrol-jitters", "65"}, "--enrol-jitters expects a whole number from 0 to 64"},
           {{f, "--min-face-px", "5"}, "--min-face-px expects a whole number from 20 to 1000"},
           {{f, "--face", "left"}, "--face must be centre or largest, got 'left'"},
           {{f, "--threshold", "nan"}, "--threshold expects a number"},
           {{f, "--force"}, "--force requires --plot"},
       }) {
    expectBadInput(command("eval-gate", args), fragment);
  }
  expectBadInput(command("calibrate-threshold", {f, "--target-fmr", "0.5"}),
                 "--target-fmr expects a number");
  expectBadInput(command("calibrate-threshold", {f, "--config", "/nonexistent.toml"}),
                 "nonexistent.toml");
}

TEST(EvalCli, Help) {
  const auto help = eval({"--help"});
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_NE(help.out.find("usage: facegate eval DIR"), std::string::npos);
}

// Review, issue 11: --plot followed a symbolic link (cv::imwrite) and overwrote whatever was
// at the path. A taken path is refused before the evaluation starts; --force replaces a
// file or a link by a new file, never writing through the link.
struct stat lstatOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

void expectPlotPathsRefused(const std::function<test::CommandResult(const fs::path&)>& run) {
  test::TempDir dir;
  test::writeFile(dir / "facegate.toml", "[gate]\n");
  ::chmod((dir / "facegate.toml").c_str(), 0644);
  fs::create_symlink(dir / "facegate.toml", dir / "det.png");
  expectBadInput(run(dir / "det.png"), "is a symbolic link");
  EXPECT_EQ(test::readFile(dir / "facegate.toml"), "[gate]\n");
  EXPECT_EQ(lstatOf(dir / "facegate.toml").st_mode & 07777, 0644U);

  fs::create_symlink(dir / "target.png", dir / "dangling.png");
  expectBadInput(run(dir / "dangling.png"), "is a symbolic link");
  EXPECT_FALSE(fs::exists(dir / "target.png"));

  test::writeFile(dir / "old.png", "an earlier plot");
  expectBadInput(run(dir / "old.png"), "already exists; refusing to overwrite it (give --force");
  EXPECT_EQ(test::readFile(dir / "old.png"), "an earlier plot");

  fs::create_directory(dir / "dir.png");
  expectBadInput(run(dir / "dir.png"), "is a directory");
}

void expectForcedPlotReplacesTheLink(
    const std::function<test::CommandResult(const fs::path&)>& runForced) {
  test::TempDir dir;
  test::writeFile(dir / "facegate.toml", "[gate]\n");
  ::chmod((dir / "facegate.toml").c_str(), 0644);
  fs::create_symlink(dir / "facegate.toml", dir / "det.png");
  const auto r = runForced(dir / "det.png");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const struct stat st = lstatOf(dir / "det.png");
  EXPECT_TRUE(S_ISREG(st.st_mode)) << "the link itself is replaced";
  EXPECT_EQ(st.st_mode & 07777, 0600U);
  EXPECT_EQ(test::readFile(dir / "det.png").substr(1, 3), "PNG");
  EXPECT_EQ(test::readFile(dir / "facegate.toml"), "[gate]\n");
  EXPECT_EQ(lstatOf(dir / "facegate.toml").st_mode & 07777, 0644U);
}

TEST(EvalCli, PlotNeverWritesThroughALinkNorOverAFile) {
  FACEGATE_REQUIRE_MODELS();
  expectPlotPathsRefused([](const fs::path& plot) {
    return eval({faces().string(), "--max-impostors", "200", "--plot", plot.string()});
  });
  expectBadInput(eval({faces().string(), "--force"}), "--force requires --plot");
}

TEST(EvalCli, ForceReplacesTheLinkNotItsTarget) {
  FACEGATE_REQUIRE_MODELS();
  expectForcedPlotReplacesTheLink([](const fs::path& plot) {
    return eval({faces().string(), "--max-impostors", "200", "--plot", plot.string(), "--force"});
  });
}

std::vector<std::string> evalPad(const fs::path& plot) {
  const fs::path video = test::dataDir() / "pad" / "video";
  return {"eval-pad",
          "--live",
          (video / "live_1.webm").string(),
          "--attack",
          "replay=" + (video / "replay_1.webm").string(),
          "--max-frames",
          "40",
          "--plot",
          plot.string()};
}

TEST(EvalPadCli, PlotNeverWritesThroughALinkNorOverAFile) {
  FACEGATE_REQUIRE_MODELS();
  expectPlotPathsRefused(
      [](const fs::path& plot) { return test::runCommand(kCli, evalPad(plot)); });
}

TEST(EvalPadCli, ForceReplacesTheLinkNotItsTarget) {
  FACEGATE_REQUIRE_MODELS();
  expectForcedPlotReplacesTheLink([](const fs::path& plot) {
    auto args = evalPad(plot);
    args.push_back("--force");
    return test::runCommand(kCli, args);
  });
}

}  // namespace
}  // namespace facegate
