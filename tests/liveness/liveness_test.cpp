// The liveness cues on constructed frames: no models needed.
#include "facegate/liveness/liveness.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "facegate/face/image_file.hpp"
#include "facegate/liveness/synthetic.hpp"
#include "test_support.hpp"

namespace facegate::liveness {
namespace {

const cv::Rect kFace(260, 160, 120, 140);

cv::Mat wall() {
  return cv::Mat(480, 640, CV_8UC1, cv::Scalar(170));
}

// A face-sized blob of texture, so there is something to track.
cv::Mat texturedFace(std::uint64_t seed = 7) {
  cv::Mat frame = wall();
  cv::Mat noise(kFace.size(), CV_8UC1);
  cv::RNG rng(seed);
  rng.fill(noise, cv::RNG::UNIFORM, 0, 255);
  cv::GaussianBlur(noise, noise, cv::Size(0, 0), 2.0);
  noise.copyTo(frame(kFace));
  return frame;
}

TEST(EnclosingEdges, APlainWallAroundTheFaceHasNone) {
  EXPECT_EQ(enclosingEdgeSides(texturedFace(), kFace), 0);
}

TEST(EnclosingEdges, ADeviceOutlineAroundTheFaceHasFourSides) {
  cv::Mat frame = texturedFace();
  cv::rectangle(frame, cv::Rect(kFace.x - 40, kFace.y - 100, kFace.width + 80, kFace.height + 200),
                cv::Scalar(20), 6);
  EXPECT_EQ(enclosingEdgeSides(frame, kFace), 4);
}

TEST(EnclosingEdges, OneDoorFrameFarAwayOrOneEdgeBesideTheFaceIsNotADevice) {
  cv::Mat far = texturedFace();
  cv::line(far, cv::Point(20, 0), cv::Point(20, 479), cv::Scalar(20), 6);  // outside the region
  EXPECT_EQ(enclosingEdgeSides(far, kFace), 0);
  cv::Mat near = texturedFace();
  cv::line(near, cv::Point(kFace.x - 30, 0), cv::Point(kFace.x - 30, 479), cv::Scalar(20), 6);
  EXPECT_EQ(enclosingEdgeSides(near, kFace), 1);
}

TEST(EnclosingEdges, HostileInputGivesZero) {
  EXPECT_EQ(enclosingEdgeSides(cv::Mat(), kFace), 0);
  EXPECT_EQ(enclosingEdgeSides(wall(), cv::Rect()), 0);
  EXPECT_EQ(enclosingEdgeSides(wall(), cv::Rect(5000, 5000, 100, 100)), 0);
  EXPECT_EQ(enclosingEdgeSides(wall(), cv::Rect(-500, -500, 10, 10)), 0);
}

// The frames of a flat picture moved by a smooth series of homographies.
std::vector<cv::Mat> planeMoving(const cv::Mat& first, int frames) {
  std::vector<cv::Mat> out;
  for (int i = 0; i < frames; ++i) {
    const double a = 0.01 * i;
    const cv::Matx33d h(std::cos(a), -std::sin(a), 3.0 * i, std::sin(a), std::cos(a), 1.5 * i,
                        2e-5 * i, 1e-5 * i, 1.0);
    cv::Mat warped;
    cv::warpPerspective(first, warped, cv::Mat(h), first.size(), cv::INTER_LINEAR,
                        cv::BORDER_REPLICATE);
    out.push_back(warped);
  }
  return out;
}

TEST(Planarity, APictureMovingAsOnePlaneFitsOneHomography) {
  const auto frames = planeMoving(texturedFace(), 8);
  const Planarity p = measurePlanarity(frames, kFace, 3.0);
  EXPECT_GE(p.points, 12);
  EXPECT_GT(p.motionPx, 3.0);
  ASSERT_GE(p.residual, 0.0);
  EXPECT_LT(p.residual, 0.02);
}

TEST(Planarity, PartsMovingDifferentlyDoNotFitOnePlane) {
  // The upper half of the "face" moves left, the lower half right: no single homography
  // explains both (a head turning shows the same kind of parallax).
  std::vector<cv::Mat> frames;
  const cv::Mat base = texturedFace();
  for (int i = 0; i < 8; ++i) {
    cv::Mat f = wall();
    const cv::Rect top(kFace.x, kFace.y, kFace.width, kFace.height / 2);
    const cv::Rect bottom(kFace.x, kFace.y + kFace.height / 2, kFace.width, kFace.height / 2);
    base(top).copyTo(f(top - cv::Point(i, 0)));
    base(bottom).copyTo(f(bottom + cv::Point(i, 0)));
    frames.push_back(f);
  }
  const Planarity p = measurePlanarity(frames, kFace, 3.0);
  ASSERT_GE(p.residual, 0.0);
  EXPECT_GT(p.residual, 0.2);
}

TEST(Planarity, AStillFaceAbstains) {
  const std::vector<cv::Mat> frames(8, texturedFace());
  const Planarity p = measurePlanarity(frames, kFace, 3.0);
  EXPECT_LT(p.motionPx, 0.5);
  EXPECT_LT(p.residual, 0.0) << "no motion: a plane and a head look the same";
}

TEST(Planarity, TooFewFramesOrNothingToTrackAbstains) {
  EXPECT_LT(measurePlanarity({texturedFace()}, kFace, 3.0).residual, 0.0);
  const std::vector<cv::Mat> blank(8, wall());
  EXPECT_LT(measurePlanarity(blank, kFace, 3.0).residual, 0.0);
  EXPECT_EQ(measurePlanarity(blank, kFace, 3.0).points, 0);
}

TEST(LivenessCheck, JudgesOnceItHasItsFramesThenStartsOver) {
  Settings settings;
  settings.frames = 4;
  LivenessCheck check(settings);
  const cv::Mat f = texturedFace();
  EXPECT_FALSE(check.add(f, kFace));
  EXPECT_FALSE(check.add(f, kFace));
  EXPECT_FALSE(check.add(f, kFace));
  const auto judged = check.add(f, kFace);
  ASSERT_TRUE(judged);
  EXPECT_EQ(judged->verdict, Verdict::Live);
  EXPECT_EQ(judged->scores.frames, 4);
  EXPECT_EQ(check.framesSoFar(), 0);
}

TEST(LivenessCheck, IgnoresUnusableFramesAndStartsOverOnAResolutionChange) {
  Settings settings;
  settings.frames = 3;
  LivenessCheck check(settings);
  EXPECT_FALSE(check.add(cv::Mat(), kFace));
  EXPECT_FALSE(check.add(cv::Mat(480, 640, CV_8UC3, cv::Scalar::all(0)), kFace));
  EXPECT_FALSE(check.add(texturedFace(), cv::Rect()));
  EXPECT_EQ(check.framesSoFar(), 0);
  EXPECT_FALSE(check.add(texturedFace(), kFace));
  EXPECT_FALSE(check.add(texturedFace(), kFace));
  cv::Mat small;
  cv::resize(texturedFace(), small, cv::Size(320, 240));
  EXPECT_FALSE(check.add(small, cv::Rect(130, 80, 60, 70)));
  EXPECT_EQ(check.framesSoFar(), 1) << "the two frames before the change were dropped";
}

TEST(LivenessCheck, ADeviceOutlineInMostFramesIsASpoof) {
  Settings settings;
  settings.frames = 4;
  LivenessCheck check(settings);
  cv::Mat framed = texturedFace();
  cv::rectangle(framed, cv::Rect(kFace.x - 40, kFace.y - 100, kFace.width + 80, kFace.height + 200),
                cv::Scalar(20), 6);
  std::optional<Assessment> judged;
  for (int i = 0; i < 4; ++i) {
    judged = check.add(framed, kFace);
  }
  ASSERT_TRUE(judged);
  EXPECT_EQ(judged->verdict, Verdict::Spoof);
  EXPECT_EQ(judged->cue, "device-border");
  EXPECT_DOUBLE_EQ(judged->scores.borderShare, 1.0);
  EXPECT_NE(describe(judged->scores).find("border=1.00"), std::string::npos);
}

TEST(LivenessCheck, APlaneSwayingInFrontOfTheCameraIsASpoof) {
  Settings settings;
  settings.frames = 8;
  LivenessCheck check(settings);
  std::optional<Assessment> judged;
  for (const auto& f : planeMoving(texturedFace(), 8)) {
    judged = check.add(f, kFace);
  }
  ASSERT_TRUE(judged);
  EXPECT_EQ(judged->verdict, Verdict::Spoof);
  EXPECT_EQ(judged->cue, "planar-motion");
}

TEST(SyntheticAttack, IsDeterministicPerSeedAndDiffersAcrossSeeds) {
  auto photo = face::loadImage(test::dataDir() / "faces" / "penny" / "penny_4.png");
  ASSERT_TRUE(photo) << photo.error().message;
  for (const auto kind : {AttackKind::Print, AttackKind::Screen}) {
    const auto a = synthesizeAttack(*photo, kind, 11, 3);
    const auto b = synthesizeAttack(*photo, kind, 11, 3);
    const auto c = synthesizeAttack(*photo, kind, 12, 3);
    ASSERT_EQ(a.size(), 3U);
    EXPECT_EQ(a[0].size(), cv::Size(640, 480));
    EXPECT_EQ(a[0].type(), CV_8UC3);
    EXPECT_EQ(cv::norm(a[2], b[2], cv::NORM_INF), 0.0);
    EXPECT_GT(cv::norm(a[2], c[2], cv::NORM_INF), 0.0);
    EXPECT_GT(cv::norm(a[0], a[2], cv::NORM_INF), 0.0) << "the sheet moves";
  }
}

}  // namespace
}  // namespace facegate::liveness
