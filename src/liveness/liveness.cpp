#include "facegate/liveness/liveness.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <opencv2/calib3d.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

namespace facegate::liveness {
namespace {

constexpr int kMinTrackedPoints = 12;

double median(std::vector<double> v) {
  if (v.empty()) {
    return 0.0;
  }
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

Assessment judge(const Settings& settings, const Scores& scores) {
  Assessment a;
  a.scores = scores;
  if (scores.frames > 0 && scores.borderShare >= settings.borderFrameShare) {
    a.verdict = Verdict::Spoof;
    a.cue = "device-border";
  } else if (scores.planarResidual >= 0.0 && scores.planarResidual <= settings.planarMaxResidual) {
    a.verdict = Verdict::Spoof;
    a.cue = "planar-motion";
  }
  return a;
}

}  // namespace

std::string describe(const Scores& s) {
  return fmt::format(
      "frames={} border={:.2f} sides={:.1f} motion={:.1f}px planar={} points={}", s.frames,
      s.borderShare, s.meanBorderSides, s.motionPx,
      s.planarResidual < 0 ? std::string("-") : fmt::format("{:.3f}", s.planarResidual),
      s.trackedPoints);
}

int enclosingEdgeSides(const cv::Mat& grey, const cv::Rect& face) {
  if (grey.empty() || face.width <= 0 || face.height <= 0) {
    return 0;
  }
  const double w = face.width;
  const double h = face.height;
  // The region a phone or a photo held up to the camera occupies around the face: a little
  // wider than the head, from above the hair to below the chin.
  const cv::Rect wanted(static_cast<int>(face.x - 1.2 * w), static_cast<int>(face.y - 1.0 * h),
                        static_cast<int>(3.4 * w), static_cast<int>(3.6 * h));
  const cv::Rect roi = wanted & cv::Rect(0, 0, grey.cols, grey.rows);
  if (roi.width < 8 || roi.height < 8) {
    return 0;
  }
  cv::Mat blurred;
  cv::Mat edges;
  cv::GaussianBlur(grey(roi), blurred, cv::Size(5, 5), 0);
  cv::Canny(blurred, edges, 40, 120);
  std::vector<cv::Vec4i> lines;
  // 2 px distance bins and gaps of up to ~8 % of the face: a device edge seen slightly
  // tilted through a noisy sensor is a staircase, not a one-pixel line.
  cv::HoughLinesP(edges, lines, 2, CV_PI / 180, 40, 0.8 * h, std::max(8.0, 0.08 * h));

  const double cx = face.x + w / 2.0 - roi.x;
  const double cy = face.y + h / 2.0 - roi.y;
  bool left = false;
  bool right = false;
  bool top = false;
  bool bottom = false;
  for (const auto& l : lines) {
    const double dx = l[2] - l[0];
    const double dy = l[3] - l[1];
    const double angle = std::fmod(std::abs(std::atan2(dy, dx) * 180.0 / CV_PI), 180.0);
    if (angle > 70.0 && angle < 110.0) {  // vertical: must run alongside the face
      const double xm = (l[0] + l[2]) / 2.0;
      if (std::min(l[1], l[3]) < cy && std::max(l[1], l[3]) > cy - 0.2 * h) {
        left = left || xm < cx - 0.5 * w;
        right = right || xm > cx + 0.5 * w;
      }
    } else if (angle < 20.0 || angle > 160.0) {  // horizontal: must run across the face
      const double ym = (l[1] + l[3]) / 2.0;
      if (std::min(l[0], l[2]) < cx && std::max(l[0], l[2]) > cx) {
        top = top || ym < cy - 0.6 * h;
        bottom = bottom || ym > cy + 0.6 * h;
      }
    }
  }
  return static_cast<int>(left) + static_cast<int>(right) + static_cast<int>(top) +
         static_cast<int>(bottom);
}

Planarity measurePlanarity(const std::vector<cv::Mat>& greys, const cv::Rect& face,
                           double minMotionPx) {
  Planarity result;
  if (greys.size() < 2) {
    return result;
  }
  const cv::Rect inner = cv::Rect(face.x + face.width / 8, face.y + face.height / 8,
                                  face.width * 3 / 4, face.height * 3 / 4) &
                         cv::Rect(0, 0, greys[0].cols, greys[0].rows);
  if (inner.area() <= 0) {
    return result;
  }
  cv::Mat mask = cv::Mat::zeros(greys[0].size(), CV_8UC1);
  mask(inner).setTo(255);
  std::vector<cv::Point2f> first;
  cv::goodFeaturesToTrack(greys[0], first, 80, 0.01, std::max(3, face.width / 30), mask);
  if (static_cast<int>(first.size()) < kMinTrackedPoints) {
    return result;
  }
  std::vector<cv::Point2f> current = first;
  std::vector<unsigned char> alive(first.size(), 1);
  for (std::size_t i = 1; i < greys.size(); ++i) {
    std::vector<cv::Point2f> next;
    std::vector<unsigned char> status;
    std::vector<float> error;
    cv::calcOpticalFlowPyrLK(greys[i - 1], greys[i], current, next, status, error, cv::Size(15, 15),
                             3);
    for (std::size_t k = 0; k < status.size(); ++k) {
      alive[k] = static_cast<unsigned char>(alive[k] != 0 && status[k] != 0);
    }
    current = std::move(next);
  }
  std::vector<cv::Point2f> a;
  std::vector<cv::Point2f> b;
  std::vector<double> motion;
  for (std::size_t k = 0; k < first.size(); ++k) {
    if (alive[k] != 0) {
      a.push_back(first[k]);
      b.push_back(current[k]);
      motion.push_back(cv::norm(current[k] - first[k]));
    }
  }
  result.points = static_cast<int>(a.size());
  if (result.points < kMinTrackedPoints) {
    return result;
  }
  result.motionPx = median(motion);
  if (result.motionPx < minMotionPx) {
    return result;  // too still to tell a plane from a head
  }
  const cv::Mat homography = cv::findHomography(a, b, cv::RANSAC, 2.0);
  if (homography.empty()) {
    return result;
  }
  std::vector<cv::Point2f> projected;
  cv::perspectiveTransform(a, projected, homography);
  std::vector<double> residuals;
  residuals.reserve(a.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    residuals.push_back(cv::norm(projected[k] - b[k]));
  }
  result.residual = median(residuals) / result.motionPx;
  return result;
}

void LivenessCheck::reset() {
  for (auto& g : greys_) {
    g.setTo(0);  // frames of a pupil's face: not left in freed memory
  }
  greys_.clear();
  framesWithBorder_ = 0;
  sidesTotal_ = 0;
}

std::optional<Assessment> LivenessCheck::add(const cv::Mat& grey, const cv::Rect& face) {
  if (grey.empty() || grey.type() != CV_8UC1 || face.width <= 0 || face.height <= 0) {
    return std::nullopt;  // not a frame this check can use
  }
  if (!greys_.empty() && grey.size() != greys_.front().size()) {
    reset();  // the camera changed resolution: the frames cannot be tracked across it
  }
  if (greys_.empty()) {
    firstFace_ = face;
  }
  greys_.push_back(grey.clone());
  const int sides = enclosingEdgeSides(grey, face);
  sidesTotal_ += sides;
  framesWithBorder_ += sides >= settings_.borderSides ? 1 : 0;
  if (framesSoFar() < std::max(2, settings_.frames)) {
    return std::nullopt;
  }
  Scores scores;
  scores.frames = framesSoFar();
  scores.borderShare = static_cast<double>(framesWithBorder_) / scores.frames;
  scores.meanBorderSides = static_cast<double>(sidesTotal_) / scores.frames;
  const Planarity p = measurePlanarity(greys_, firstFace_, settings_.planarMinMotionPx);
  scores.motionPx = p.motionPx;
  scores.planarResidual = p.residual;
  scores.trackedPoints = p.points;
  reset();
  return judge(settings_, scores);
}

Assessment assess(const Settings& settings, const std::vector<cv::Mat>& greys,
                  const std::vector<cv::Rect>& faces) {
  Settings all = settings;
  all.frames = static_cast<int>(std::min(greys.size(), faces.size()));
  LivenessCheck check(all);
  std::optional<Assessment> result;
  for (std::size_t i = 0; i < greys.size() && i < faces.size(); ++i) {
    result = check.add(greys[i], faces[i]);
  }
  return result ? *result : Assessment{};
}

}  // namespace facegate::liveness
