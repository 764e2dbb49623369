#include "facegate/face/track.hpp"

#include <algorithm>
#include <cmath>

namespace facegate::face {

double overlap(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  const double uni = static_cast<double>(a.area()) + b.area() - inter;
  return a.empty() || b.empty() || uni <= 0.0 ? 0.0 : inter / uni;
}

std::size_t pickCandidate(const std::vector<cv::Rect>& faces, const cv::Size& frame) {
  std::size_t best = 0;
  double bestScore = -1.0;
  const cv::Point2d centre(frame.width / 2.0, frame.height / 2.0);
  const double halfDiagonal = std::max(1.0, std::hypot(frame.width / 2.0, frame.height / 2.0));
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const cv::Rect& r = faces[i];
    const cv::Point2d c(r.x + r.width / 2.0, r.y + r.height / 2.0);
    const double offCentre = std::hypot(c.x - centre.x, c.y - centre.y) / halfDiagonal;
    const double score = static_cast<double>(r.area()) * (1.0 - 0.5 * std::min(1.0, offCentre));
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}

bool FaceTrack::continues(const cv::Rect& box) const {
  const double ratio = static_cast<double>(box.width) / std::max(1, last_->width);
  return overlap(*last_, box) >= settings_.minOverlap && ratio <= settings_.maxSizeChange &&
         ratio >= 1.0 / settings_.maxSizeChange;
}

FaceTrack::Update FaceTrack::update(const std::vector<cv::Rect>& faces, TimePoint at,
                                    const cv::Size& frame) {
  const auto start = [&](Step step, std::string_view why) {
    if (faces.empty()) {
      last_.reset();
      return Update{Step::Lost, std::nullopt, why};
    }
    const std::size_t pick = pickCandidate(faces, frame);
    last_ = faces[pick];
    lastSeen_ = at;
    return Update{step, pick, why};
  };
  if (!last_) {
    return faces.empty() ? Update{} : start(Step::Started, {});
  }
  if (at - lastSeen_ > settings_.maxGap) {
    // Unseen for too long: whatever is there now is a new presentation.
    return start(Step::Restarted, "lost");
  }
  std::optional<std::size_t> match;
  for (std::size_t i = 0; i < faces.size(); ++i) {
    if (!continues(faces[i])) {
      continue;
    }
    if (match) {
      // Two faces where one was: no way to tell which is the one followed so far.
      return start(Step::Restarted, "ambiguous");
    }
    match = i;
  }
  if (match) {
    last_ = faces[*match];
    lastSeen_ = at;
    return Update{Step::Continued, match, {}};
  }
  if (faces.empty()) {
    return Update{};  // Missing: within the gap allowed
  }
  return start(Step::Restarted, "jumped");
}

}  // namespace facegate::face
