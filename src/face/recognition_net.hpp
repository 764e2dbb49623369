#pragma once

// Private to the face module: the one place that sees dlib's ResNet type is
// recognition_net.cpp, so its heavy templates compile once.

#include <filesystem>
#include <memory>

#include <dlib/matrix.h>
#include <dlib/pixel.h>

#include "facegate/core/error.hpp"
#include "facegate/face/embedding.hpp"

namespace facegate::face {

inline constexpr long kChipSize = 150;  // the network's input, fixed by its training
inline constexpr double kChipPadding = 0.25;

class RecognitionNet {
 public:
  // Deserialises the model; ModelCorrupt if dlib rejects it.
  static Result<std::unique_ptr<RecognitionNet>> load(const std::filesystem::path& model);
  ~RecognitionNet();

  // Writes the 128-D embedding of an aligned 150x150 RGB chip into `out`; the network's
  // own output buffer is wiped afterwards.
  void embed(const dlib::matrix<dlib::rgb_pixel>& chip, Embedding& out);

  // The mean of the embeddings of `chip` and of its mirror image, one batch of two through
  // the network: the same face seen from both sides, less sensitive to pose and to light
  // falling on one side. Every copy of the pixels and of the outputs is wiped.
  void embedWithMirror(const dlib::matrix<dlib::rgb_pixel>& chip, Embedding& out);

  // The mean of the embeddings of `chip`, its mirror image and `jitters` randomly jittered
  // copies of it (dlib's jitter_image: a small random rotation, scale and shift, and a random
  // flip; the random generator is seeded the same way on every call, so the result depends
  // only on the chip). One batch through the network; every copy is wiped. For enrolment,
  // where a second's work per photo is cheap; dlib's own LFW figure uses 100 jitters.
  void embedJittered(const dlib::matrix<dlib::rgb_pixel>& chip, int jitters, Embedding& out);

 private:
  struct Net;
  explicit RecognitionNet(std::unique_ptr<Net> net);
  std::unique_ptr<Net> net_;
};

}  // namespace facegate::face
