#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

// Synthetic presentation attacks made from an ordinary face photo, for tests and for
// `facegate eval-pad`: what a camera would see when someone holds that photo up to it.
namespace facegate::liveness {

enum class AttackKind {
  Print,   // the photo printed on paper (white margin, paper grain, duller colours, uneven
           // light), held in the hand: it tilts and sways as one plane
  Screen,  // the photo shown on a phone: dark bezel, moiré from the pixel grid, a blue cast,
           // a glare spot; held with a slight tremor
};
std::string_view toString(AttackKind kind);

// `frames` camera frames of `frameSize` showing `photo` (BGR) presented as `kind`, moving
// along a random but smooth path chosen by `seed` (the same seed gives the same frames).
// The print is about 60 % of the frame height, the phone 80 %.
std::vector<cv::Mat> synthesizeAttack(const cv::Mat& photo, AttackKind kind, std::uint32_t seed,
                                      int frames, cv::Size frameSize = cv::Size(640, 480));

}  // namespace facegate::liveness
