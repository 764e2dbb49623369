#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include <opencv2/core/mat.hpp>

#include "facegate/core/error.hpp"
#include "facegate/face/embedding.hpp"
#include "facegate/face/face_analyser.hpp"

namespace facegate::face {

inline constexpr int kMaxJitters = 64;  // one batch of 66 chips is ~12 MB

struct EngineOptions {
  // The HOG detector runs on a grey copy scaled so that its longer side is at most this
  // many pixels; boxes are mapped back. HOG cost grows with pixels (~45 ms on a full 853x480
  // frame here); a face at gate distance stays well above the detector's 80 px window.
  int detectMaxSide = 480;
  // Passed to dlib's detector as its score threshold (not an upsampling count, as the
  // Python API's second argument is). 0 is the trained boundary; lower finds more.
  double detectScoreThreshold = 0.0;
  // When the first pass finds nothing, run a second pass at twice the scale (an upsample
  // when the frame was not downscaled) to find faces half the size. Costs ~4x the first
  // pass, so only when needed.
  bool upsampleWhenNoFace = true;
  // When those passes find nothing, run them again with this lower score threshold. Off at
  // the gate: a frame without a face is normal there, and a false face (a poster, a coat)
  // would be compared and buzz. Off at the desk too (a photo without a face is retaken).
  // For benchmark photos, each known to hold a face, where a miss is an error (`facegate
  // eval`): measured on lfw-dev (README, "The face engine"), -0.3 finds 16 of the 20 faces
  // the two passes miss. Must be finite and below detectScoreThreshold.
  std::optional<double> retryScoreThreshold;
  // Each embedding is the mean of the aligned chip's and its mirror image's (one batch of
  // two through the network). Measured on lfw-dev (README, "The face engine"): it lowers the
  // error at every operating point, for the cost given there. Templates and gate frames must
  // be made the same way: a template made one way compared with frames described the other
  // way is measured at a threshold calibrated for neither.
  bool mirrorAverage = true;
  // When positive, each embedding is the mean over the chip, its mirror image and this many
  // randomly jittered copies (implies the mirror). One batch through the network, so the
  // cost grows with the count (~N + 2 times one chip's): for enrolment, not for the gate.
  int jitters = 0;
};

struct FaceDescription {
  Embedding embedding;
  FaceBox face;       // the face that was described (the largest one)
  int faceCount = 0;  // how many faces the frame held
  StageTimings ms;
};

// How usable a detected face is for enrolment (the gate uses the same measures).
struct FaceQuality {
  int sidePx = 0;          // the face box's shorter side, in full-resolution pixels
  double sharpness = 0.0;  // variance of the Laplacian of the face, resampled to 150x150 grey
  // The side of a face holding as much real detail: sidePx for a face photographed at its
  // size, sidePx / k when the picture was enlarged k times (k = 2, 3 or 4) from a smaller
  // one, so that reducing the face k times and enlarging it back loses (almost) nothing. The
  // largest such k is taken: an already soft face enlarged 2x may be judged enlarged 4x.
  int detailSidePx = 0;
  int enlargement = 1;  // that k, 1 when no enlargement was found
};

// Measures a face of `bgr` (8-bit BGR) found by FaceEngine::detect. Costs ~2 ms for a
// 125 px face, ~70 ms for a 900 px one (the enlargement test, measured here): enrolment only.
FaceQuality assessFace(const cv::Mat& bgr, const FaceBox& face);

// The face pipeline: HOG detection on a downscaled grey frame, 5-point landmarks, aligned
// 150x150 chip, dlib ResNet 128-D embedding. The gate's FaceAnalyser in the product.
//
// Frames are 8-bit BGR cv::Mat (CV_8UC3), borrowed for the duration of a call: the engine
// wraps their pixels without copying and keeps no reference after returning.
// Not thread-safe: one engine per thread (the network holds per-call state). Loading takes
// ~0.5 s and ~100 MB, so build one at start-up and keep it.
class FaceEngine final : public FaceAnalyser {
 public:
  // Verifies both model files against models/SHA256SUMS, then loads them.
  // ModelMissing / ModelCorrupt when a file is absent, altered or unreadable.
  static Result<std::unique_ptr<FaceEngine>> load(const std::filesystem::path& modelDir,
                                                  const EngineOptions& options = {});
  ~FaceEngine() override;
  FaceEngine(const FaceEngine&) = delete;
  FaceEngine& operator=(const FaceEngine&) = delete;

  const EngineOptions& options() const noexcept;

  // All faces in the frame, largest first. An empty list is a normal outcome.
  // InvalidArgument if the frame is empty or not CV_8UC3.
  Result<Detection> detect(const cv::Mat& bgr, StageTimings& ms) override;

  // The embedding of one face of `bgr` (from detect() on the same frame).
  Result<Embedding> describe(const cv::Mat& bgr, const FaceBox& face, StageTimings& ms) override;

  // detect() then describe() the largest face. NoFace when there is none.
  Result<FaceDescription> describeLargest(const cv::Mat& bgr);

  // The stock recipe a newcomer writes from dlib's examples, for benchmarks only: the frame
  // copied into a dlib RGB image, HOG on the full-resolution colour image (no downscale, no
  // region of interest), landmarks, chip, embedding of the largest face. Same models, same
  // network instance.
  Result<FaceDescription> describeStock(const cv::Mat& bgr);

 private:
  struct Impl;
  explicit FaceEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace facegate::face
