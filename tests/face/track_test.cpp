// FaceTrack: following one face's box from frame to frame (pure geometry, no models).
#include "facegate/face/track.hpp"

#include <gtest/gtest.h>

namespace facegate::face {
namespace {

using namespace std::chrono_literals;
using Step = FaceTrack::Step;

const cv::Size kFrame(640, 480);
const FaceTrack::TimePoint kT0{};

TEST(FaceTrack, StartsOnTheFirstFaceThenFollowsItAsItMoves) {
  FaceTrack track;
  auto u = track.update({}, kT0, kFrame);
  EXPECT_EQ(u.step, Step::Missing);
  EXPECT_FALSE(track.active());

  u = track.update({cv::Rect(250, 150, 150, 150)}, kT0 + 33ms, kFrame);
  EXPECT_EQ(u.step, Step::Started);
  ASSERT_TRUE(u.index);
  EXPECT_EQ(*u.index, 0U);
  // A few pixels a frame, and one step of the detector's scale.
  for (int i = 1; i <= 10; ++i) {
    const int size = i % 2 == 0 ? 150 : 180;
    u = track.update({cv::Rect(250 + 6 * i, 150 - 3 * i, size, size)}, kT0 + 33ms * (i + 1),
                     kFrame);
    EXPECT_EQ(u.step, Step::Continued) << "frame " << i;
  }
}

TEST(FaceTrack, FollowsTheSameFaceWhenAnotherAppearsElsewhere) {
  FaceTrack track;
  (void)track.update({cv::Rect(250, 150, 150, 150)}, kT0, kFrame);
  // A larger face enters on the side: the followed face is still the one in the middle.
  const auto u =
      track.update({cv::Rect(0, 0, 220, 220), cv::Rect(255, 152, 150, 150)}, kT0 + 33ms, kFrame);
  EXPECT_EQ(u.step, Step::Continued);
  ASSERT_TRUE(u.index);
  EXPECT_EQ(*u.index, 1U);
}

TEST(FaceTrack, AFaceThatJumpsElsewhereStartsANewTrack) {
  FaceTrack track;
  (void)track.update({cv::Rect(100, 150, 150, 150)}, kT0, kFrame);
  const auto u = track.update({cv::Rect(400, 150, 150, 150)}, kT0 + 33ms, kFrame);
  EXPECT_EQ(u.step, Step::Restarted);
  EXPECT_EQ(u.why, "jumped");
  // The new track follows the new face.
  EXPECT_EQ(track.update({cv::Rect(405, 150, 150, 150)}, kT0 + 66ms, kFrame).step, Step::Continued);
}

TEST(FaceTrack, AFaceOfAVeryDifferentSizeInTheSamePlaceIsNotTheSameFace) {
  FaceTrack track;
  (void)track.update({cv::Rect(250, 150, 120, 120)}, kT0, kFrame);
  // A photo held up in front of the face: same centre, twice the size.
  const auto u = track.update({cv::Rect(190, 90, 240, 240)}, kT0 + 33ms, kFrame);
  EXPECT_EQ(u.step, Step::Restarted);
}

TEST(FaceTrack, TwoFacesThatCouldBothContinueTheTrackBreakIt) {
  FaceTrack track;
  (void)track.update({cv::Rect(250, 150, 150, 150)}, kT0, kFrame);
  const auto u = track.update({cv::Rect(230, 150, 150, 150), cv::Rect(275, 150, 150, 150)},
                              kT0 + 33ms, kFrame);
  EXPECT_EQ(u.step, Step::Restarted);
  EXPECT_EQ(u.why, "ambiguous");
}

TEST(FaceTrack, AShortGapIsToleratedALongOneLosesTheTrack) {
  FaceTrack track;
  const cv::Rect face(250, 150, 150, 150);
  (void)track.update({face}, kT0, kFrame);
  EXPECT_EQ(track.update({}, kT0 + 33ms, kFrame).step, Step::Missing);
  EXPECT_EQ(track.update({}, kT0 + 66ms, kFrame).step, Step::Missing);
  EXPECT_EQ(track.update({face}, kT0 + 100ms, kFrame).step, Step::Continued);

  EXPECT_EQ(track.update({}, kT0 + 200ms, kFrame).step, Step::Missing);
  const auto lost = track.update({}, kT0 + 300ms, kFrame);
  EXPECT_EQ(lost.step, Step::Lost);
  EXPECT_FALSE(track.active());
  EXPECT_EQ(track.update({face}, kT0 + 333ms, kFrame).step, Step::Started);
}

TEST(FaceTrack, AFaceBackAfterALongGapIsANewTrackEvenInTheSamePlace) {
  FaceTrack track;
  const cv::Rect face(250, 150, 150, 150);
  (void)track.update({face}, kT0, kFrame);
  // No frame at all for half a second (dropped frames), then a face in the same place.
  const auto u = track.update({face}, kT0 + 500ms, kFrame);
  EXPECT_EQ(u.step, Step::Restarted);
  EXPECT_EQ(u.why, "lost");
}

TEST(FaceTrack, ANewTrackTakesTheLargestFaceNearTheCentre) {
  FaceTrack track;
  const auto u = track.update(
      {cv::Rect(0, 0, 170, 170), cv::Rect(240, 160, 160, 160), cv::Rect(500, 300, 100, 100)}, kT0,
      kFrame);
  ASSERT_TRUE(u.index);
  EXPECT_EQ(*u.index, 1U);
}

TEST(FaceTrack, OverlapOfBoxes) {
  EXPECT_DOUBLE_EQ(overlap(cv::Rect(0, 0, 10, 10), cv::Rect(0, 0, 10, 10)), 1.0);
  EXPECT_DOUBLE_EQ(overlap(cv::Rect(0, 0, 10, 10), cv::Rect(20, 0, 10, 10)), 0.0);
  EXPECT_NEAR(overlap(cv::Rect(0, 0, 10, 10), cv::Rect(5, 0, 10, 10)), 50.0 / 150.0, 1e-12);
  EXPECT_DOUBLE_EQ(overlap(cv::Rect(), cv::Rect(0, 0, 10, 10)), 0.0);
}

}  // namespace
}  // namespace facegate::face
