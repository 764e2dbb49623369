#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <opencv2/core/mat.hpp>
#include <opencv2/core/types.hpp>

#include "facegate/face/face_analyser.hpp"

namespace facegate::test {

// A face engine for the tests that run without the dlib models: what the image shows, it
// finds. A face is a filled rectangle painted in a person's own colour. detect() finds every
// painted face where the frame shows it, in frame coordinates, largest first, as the dlib
// engine does; describe() returns the embedding the test gave the person whose colour fills
// most of the box. So whatever is decided — match, mismatch, no face in time, a face too
// small, a second face behind — is decided by the gate from geometry and distances, never by
// the double. The same contract suite runs against it and the dlib engine
// (tests/face/face_analyser_contract_test.cpp).
//
// Colours are matched exactly: frames must reach it unscaled and uncompressed (the gate and
// ScenarioSource pass them as they are). Deterministic; not thread-safe (the counters).
class PaintedFaces final : public face::FaceAnalyser {
 public:
  static constexpr std::size_t kMaxPeople = 8;
  // Painted regions smaller than this many pixels are specks, not faces.
  static constexpr int kMinFacePixels = 16;

  // A new person whose face describes as `embedding`: returns the colour to paint them in,
  // saturated, distinct for each person and never black, white or grey (QR codes and walls).
  // Throws std::length_error past kMaxPeople.
  cv::Vec3b addPerson(face::Embedding embedding);

  // Paints a face in `colour` on `frame` (8-bit BGR) at `where`, clipped to the frame.
  static void paint(cv::Mat& frame, const cv::Rect& where, const cv::Vec3b& colour);

  Result<face::Detection> detect(const cv::Mat& bgr, face::StageTimings& ms) override;
  // NoFace when no person's colour is inside the box.
  Result<face::Embedding> describe(const cv::Mat& bgr, const face::FaceBox& face,
                                   face::StageTimings& ms) override;

  std::uint64_t detectCalls() const { return detectCalls_; }
  std::uint64_t describeCalls() const { return describeCalls_; }

 private:
  struct Person {
    cv::Vec3b colour;
    face::Embedding embedding;
  };
  std::vector<Person> people_;
  std::uint64_t detectCalls_ = 0;
  std::uint64_t describeCalls_ = 0;
};

}  // namespace facegate::test
