#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "facegate/camera/frame_source.hpp"
#include "facegate/core/error.hpp"

namespace facegate::camera {

struct ImageSequenceSettings {
  std::filesystem::path directory;  // its *.png, *.jpg, *.jpeg files (any case), by name
  double fps = 10.0;                // frames per second; 0 = as fast as read() is called
  bool loop = false;                // start again after the last image instead of Ended
};

// The images of a directory played as frames: the demo mode of the gate (no camera needed)
// and the replay of recorded scenarios in tests.
//
// Pacing: frame n is due one period after frame n-1 was due (so the rate does not drift),
// but never before the previous read() returned (a caller that falls behind gets the next
// image at once, not a burst). read() sleeps on steady_clock until the frame is due; if that
// is further away than its timeout, it sleeps the timeout and returns Stalled, like a camera
// that did not deliver in time. No injected clock: the decision logic that consumes frames
// is tested with a manual clock; this fake only needs to look like a camera.
//
// Each image is decoded when it is due, so a damaged file shows up as it would from a
// camera: read() returns Failed, lastError() names the file, and the source stays Failed
// until close() and open(). Frames are 8-bit BGR, each with its own buffer.
//
// Not thread-safe: one caller (the frame loop), like every FrameSource. No threads.
class ImageSequenceSource final : public FrameSource {
 public:
  explicit ImageSequenceSource(ImageSequenceSettings settings);

  // Lists the images. FileNotFound when the directory does not exist or holds no image;
  // InvalidArgument for an fps that is negative, not finite, or over 1000.
  Result<void> open() override;

  ReadStatus read(Frame& out, std::chrono::milliseconds timeout) override;
  void close() noexcept override;
  std::string describe() const override;

  // Why open() or read() last failed (the file named); nullopt after a successful open().
  const std::optional<Error>& lastError() const { return lastError_; }

  // The images open() found, in playing order. Empty before open().
  const std::vector<std::filesystem::path>& images() const { return images_; }

 private:
  ImageSequenceSettings settings_;
  std::vector<std::filesystem::path> images_;
  std::size_t next_ = 0;                       // the image read() delivers next
  std::uint64_t delivered_ = 0;                // Frame::index
  std::chrono::steady_clock::time_point due_;  // when the next frame is due
  bool open_ = false;
  bool failed_ = false;
  std::optional<Error> lastError_;
};

}  // namespace facegate::camera
