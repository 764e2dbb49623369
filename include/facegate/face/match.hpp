#pragma once

namespace facegate::face {

// The distance at or below which two embeddings are taken as the same person.
//
// Why 0.44: calibrated with the gate's own protocol (`facegate calibrate-threshold`) on the
// LFW development set (README, "The default threshold"): templates made by the enrolment
// desk from 3 photos, mirror-averaged embeddings, one probe photo per passage; 0.443 is the
// largest threshold whose false match rate is at most 1e-4 there (858,792 impostor passages),
// rounded down. The former 0.58 came from single photos of 13 people; against averaged
// templates it let 1.2 % of impostor passages through. A template compared with frames is
// not a photo compared with a photo: single-photo pairs of one person are often farther
// apart than this. dlib's network separates children less well than adults: schools should
// recalibrate on their own volunteers' photos. config/facegate.toml repeats this next to the
// key.
inline constexpr double kDefaultMatchThreshold = 0.44;

inline constexpr double kMinThreshold = 0.0;  // exclusive
// The largest threshold a configuration may set. dlib's embeddings are not unit vectors, only
// roughly unit length (enrolment averages them as they are: template_builder.hpp), so this is
// no hard bound on a distance: it is a ceiling for the setting, far above the shipped
// threshold, where nearly every face would match.
inline constexpr double kMaxThreshold = 2.0;

inline bool isMatch(double distance, double threshold) noexcept {
  return distance <= threshold;
}

}  // namespace facegate::face
