#include "painted_faces.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "facegate/core/stopwatch.hpp"

namespace facegate::test {
namespace {

// BGR. Saturated: no wall shade, QR module or photo skin tone is exactly one of these.
constexpr std::array<std::array<unsigned char, 3>, PaintedFaces::kMaxPeople> kColours{{
    {0, 0, 255},
    {0, 255, 0},
    {255, 0, 0},
    {0, 255, 255},
    {255, 0, 255},
    {255, 255, 0},
    {0, 128, 255},
    {255, 0, 128},
}};

Result<void> checkFrame(const cv::Mat& bgr) {
  if (bgr.empty()) {
    return fail(ErrorCode::InvalidArgument, "the frame is empty");
  }
  if (bgr.type() != CV_8UC3) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("the frame must be 8-bit BGR (CV_8UC3), got type {}", bgr.type()));
  }
  return {};
}

}  // namespace

cv::Vec3b PaintedFaces::addPerson(face::Embedding embedding) {
  if (people_.size() >= kMaxPeople) {
    throw std::length_error("PaintedFaces holds at most kMaxPeople people");
  }
  const auto& c = kColours[people_.size()];
  const cv::Vec3b colour(c[0], c[1], c[2]);
  people_.push_back(Person{colour, std::move(embedding)});
  return colour;
}

void PaintedFaces::paint(cv::Mat& frame, const cv::Rect& where, const cv::Vec3b& colour) {
  const cv::Rect inside = where & cv::Rect(0, 0, frame.cols, frame.rows);
  if (inside.area() > 0) {
    frame(inside).setTo(cv::Scalar(colour[0], colour[1], colour[2]));
  }
}

Result<face::Detection> PaintedFaces::detect(const cv::Mat& bgr, face::StageTimings& ms) {
  ++detectCalls_;
  if (auto ok = checkFrame(bgr); !ok) {
    return tl::unexpected(ok.error());
  }
  const Stopwatch watch;
  face::Detection result;
  cv::Mat mask;
  cv::Mat labels;
  cv::Mat stats;
  cv::Mat centroids;
  for (const Person& p : people_) {
    const cv::Scalar colour(p.colour[0], p.colour[1], p.colour[2]);
    cv::inRange(bgr, colour, colour, mask);
    const int found = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
    for (int i = 1; i < found; ++i) {  // 0 is the background
      if (stats.at<int>(i, cv::CC_STAT_AREA) < kMinFacePixels) {
        continue;
      }
      const cv::Rect box(stats.at<int>(i, cv::CC_STAT_LEFT), stats.at<int>(i, cv::CC_STAT_TOP),
                         stats.at<int>(i, cv::CC_STAT_WIDTH), stats.at<int>(i, cv::CC_STAT_HEIGHT));
      result.faces.push_back(face::FaceBox{box, 1.0});
    }
  }
  // Largest first, as the engine's; ties by position, so that the order never depends on
  // the order people were added.
  std::sort(result.faces.begin(), result.faces.end(),
            [](const face::FaceBox& a, const face::FaceBox& b) {
              if (a.rect.area() != b.rect.area()) {
                return a.rect.area() > b.rect.area();
              }
              return a.rect.y != b.rect.y ? a.rect.y < b.rect.y : a.rect.x < b.rect.x;
            });
  ms.detectMs += watch.elapsedMs();
  return result;
}

Result<face::Embedding> PaintedFaces::describe(const cv::Mat& bgr, const face::FaceBox& face,
                                               face::StageTimings& ms) {
  ++describeCalls_;
  if (auto ok = checkFrame(bgr); !ok) {
    return tl::unexpected(ok.error());
  }
  const Stopwatch watch;
  const cv::Rect inside = face.rect & cv::Rect(0, 0, bgr.cols, bgr.rows);
  const Person* best = nullptr;
  int bestPixels = 0;
  if (inside.area() > 0) {
    cv::Mat mask;
    for (const Person& p : people_) {
      const cv::Scalar colour(p.colour[0], p.colour[1], p.colour[2]);
      cv::inRange(bgr(inside), colour, colour, mask);
      const int pixels = cv::countNonZero(mask);
      if (pixels > bestPixels) {
        best = &p;
        bestPixels = pixels;
      }
    }
  }
  ms.embedMs += watch.elapsedMs();
  if (best == nullptr) {
    return fail(ErrorCode::NoFace, "no painted face in the box");
  }
  return best->embedding.copy();
}

}  // namespace facegate::test
