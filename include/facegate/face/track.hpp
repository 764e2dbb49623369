#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include <opencv2/core/types.hpp>

namespace facegate::face {

// Follows one face from frame to frame by its box, so that the frames a decision is made
// from all show the same face: a photo held up for two frames and then replaced by another
// person's face, two people taking turns in front of the camera, or a face that disappears
// and comes back are never taken for one presentation.
//
// Geometry only: a face continues the track when its box overlaps the last box enough and
// has about the same size. That cannot tell two faces apart in the same place (a photo held
// exactly in front of a face); the gate embeds every tracked frame for that.
// Not thread-safe; no I/O. Time is passed in (frame timestamps).
class FaceTrack {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  struct Settings {
    // Intersection over union of the new box with the last one. A face held in front of a
    // camera moves a few pixels a frame at 15-30 fps; HOG's boxes also jump by one step of
    // its scale pyramid (~20 % in size), which keeps IoU around 0.7 for a still face. 0.4
    // lets a face move by ~40 % of its width between two frames.
    double minOverlap = 0.4;
    // Width ratio between the new box and the last one (either way).
    double maxSizeChange = 1.5;
    // How long the face may go unseen (frames without a usable face: a blink of the
    // detector on a blurred frame) before the track is lost. ~4 frames at 30 fps.
    std::chrono::milliseconds maxGap{150};
  };

  enum class Step {
    Started,    // a new track begins with face `index` (nothing was tracked before)
    Continued,  // face `index` continues the track
    Missing,    // no usable face in this frame; the track survives (gap <= maxGap)
    Lost,       // no usable face for longer than maxGap: the track ended
    Restarted,  // the track broke (the face jumped elsewhere, or two faces could continue it)
                // and a new one begins with face `index`
  };

  struct Update {
    Step step = Step::Missing;
    std::optional<std::size_t> index;  // the face to process in this frame
    std::string_view why;              // for Lost / Restarted: "lost", "jumped", "ambiguous"
  };

  FaceTrack() = default;
  explicit FaceTrack(const Settings& settings) : settings_(settings) {}

  // `faces`: the usable faces of the frame captured at `at`; `frame`: its size (to choose a
  // new track's face: the largest, weighted towards the centre).
  Update update(const std::vector<cv::Rect>& faces, TimePoint at, const cv::Size& frame);

  void reset() { last_.reset(); }
  bool active() const { return last_.has_value(); }
  const Settings& settings() const { return settings_; }

 private:
  bool continues(const cv::Rect& box) const;

  Settings settings_;
  std::optional<cv::Rect> last_;
  TimePoint lastSeen_{};
};

// The face a new passage looks at: the largest, weighted towards the centre of the frame
// (the pupil at the gate stands in front of the camera; someone passing by is off to the
// side). `faces` must not be empty.
std::size_t pickCandidate(const std::vector<cv::Rect>& faces, const cv::Size& frame);

// Intersection over union of two boxes (0 when either is empty).
double overlap(const cv::Rect& a, const cv::Rect& b);

}  // namespace facegate::face
