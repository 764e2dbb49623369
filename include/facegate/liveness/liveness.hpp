#pragma once

#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "facegate/liveness/settings.hpp"

// Presentation-attack detection with one ordinary colour camera: cues that a photo (on
// paper) or a phone/tablet replay shows, measured over the frames of the verification
// window. No trained model: each cue is a geometric measurement with a threshold in the
// config, so a school can read why a presentation was flagged. See README "Limits" for what
// these cues do not stop (masks, a replay with no visible device edge held still, …).
namespace facegate::liveness {

// What the cues measured for one presentation: numbers only, never pixels (they go into
// the audit record).
struct Scores {
  int frames = 0;
  double borderShare = 0.0;  // share of frames with an edge on >= borderSides sides
  double meanBorderSides = 0.0;
  double motionPx = 0.0;       // median motion of the tracked face points, first to last frame
  double planarResidual = -1;  // median homography residual / motion; < 0: the cue abstained
  int trackedPoints = 0;
};

enum class Verdict { Live, Spoof };

struct Assessment {
  Verdict verdict = Verdict::Live;
  Scores scores;
  std::string cue;  // the cue that flagged it: "device-border", "planar-motion"; empty if live
};

// "border=0.75 sides=2.4 motion=5.1px planar=0.021 points=43" for logs and the audit record.
std::string describe(const Scores& scores);

// How many sides (0..4) of the face are enclosed by a long straight edge close around it.
// `grey` is the whole frame; `face` the face box in it.
int enclosingEdgeSides(const cv::Mat& grey, const cv::Rect& face);

struct Planarity {
  double motionPx = 0.0;
  double residual = -1.0;  // < 0 when too few points could be tracked or too little motion
  int points = 0;
};
// Tracks corners inside `face` (in greys[0]) through the frames (pyramidal Lucas–Kanade)
// and fits one homography from the first to the last frame.
Planarity measurePlanarity(const std::vector<cv::Mat>& greys, const cv::Rect& face,
                           double minMotionPx);

// Collects one presentation's frames and judges it once `settings.frames` frames with a
// face have been added. Frames are kept in memory for the window only and zeroed on reset.
class LivenessCheck {
 public:
  explicit LivenessCheck(const Settings& settings) : settings_(settings) {}
  ~LivenessCheck() { reset(); }
  LivenessCheck(const LivenessCheck&) = delete;
  LivenessCheck& operator=(const LivenessCheck&) = delete;

  void reset();
  void reconfigure(const Settings& settings) { settings_ = settings; }
  const Settings& settings() const { return settings_; }
  // `grey`: the whole frame, 8-bit single channel; `face`: the candidate face in it.
  // Returns the assessment when this frame completes the presentation, then resets.
  // Frames of another size than the first start the presentation again; empty or non-grey
  // frames and empty boxes are ignored.
  std::optional<Assessment> add(const cv::Mat& grey, const cv::Rect& face);
  int framesSoFar() const { return static_cast<int>(greys_.size()); }

 private:
  Settings settings_;
  std::vector<cv::Mat> greys_;
  cv::Rect firstFace_;
  int framesWithBorder_ = 0;
  int sidesTotal_ = 0;
};

// Judges a whole sequence (eval-pad and tests): the frames and the face box found in each
// (frames without a face are skipped).
Assessment assess(const Settings& settings, const std::vector<cv::Mat>& greys,
                  const std::vector<cv::Rect>& faces);

}  // namespace facegate::liveness
