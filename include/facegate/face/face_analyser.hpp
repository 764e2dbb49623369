#pragma once

#include <vector>

#include <opencv2/core/mat.hpp>
#include <opencv2/core/types.hpp>

#include "facegate/core/error.hpp"
#include "facegate/face/embedding.hpp"

namespace facegate::face {

// A detected face, in the coordinates of the full-resolution frame it was found in.
struct FaceBox {
  cv::Rect rect;
  double score = 0.0;  // detector confidence (dlib HOG's: > 0 is above the trained boundary)
};

// Milliseconds spent in each stage by one call (or summed over calls by the caller).
struct StageTimings {
  double detectMs = 0.0;  // grey conversion, downscale, HOG (both passes when needed)
  double alignMs = 0.0;   // 5-point landmarks and the 150x150 aligned chip
  double embedMs = 0.0;   // ResNet forward pass

  StageTimings& operator+=(const StageTimings& other) noexcept;
};

struct Detection {
  std::vector<FaceBox> faces;  // largest first
  bool upsampled = false;      // a second, finer pass was needed
};

// What the gate asks of a face engine, and no more: the faces in a frame, and the embedding
// of one of them. The dlib engine (face/engine.hpp) is the product's; tests without the
// models use a double that finds painted faces (tests/support/painted_faces.hpp).
//
// Frames are 8-bit BGR cv::Mat (CV_8UC3), borrowed for the duration of a call: an analyser
// keeps no reference to a frame after returning. Not thread-safe unless an implementation
// says otherwise: one per thread.
class FaceAnalyser {
 public:
  virtual ~FaceAnalyser() = default;

  // All faces in the frame, largest first. An empty list is a normal outcome.
  // InvalidArgument if the frame is empty or not CV_8UC3.
  virtual Result<Detection> detect(const cv::Mat& bgr, StageTimings& ms) = 0;

  // The embedding of one face of `bgr`, as found by detect() on the same frame.
  // InvalidArgument if the frame is empty or not CV_8UC3.
  virtual Result<Embedding> describe(const cv::Mat& bgr, const FaceBox& face, StageTimings& ms) = 0;

 protected:
  FaceAnalyser() = default;
  FaceAnalyser(const FaceAnalyser&) = default;
  FaceAnalyser& operator=(const FaceAnalyser&) = default;
};

}  // namespace facegate::face
