#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <opencv2/core/mat.hpp>

#include "facegate/core/error.hpp"

namespace facegate::camera {

struct Frame {
  cv::Mat bgr;  // 8-bit BGR; owned by the Frame (the source never writes into it again)
  std::chrono::steady_clock::time_point capturedAt;
  std::uint64_t index = 0;  // counts frames since open()
};

enum class ReadStatus {
  Frame,    // `out` holds a new frame
  Stalled,  // no new frame within the timeout: the camera may be hung or unplugged
  Ended,    // the source has no more frames (end of a file or a scenario)
  Failed,   // the device reported an error; close() and open() again after a back-off
};

// Where frames come from. Every wait is bounded: read() returns within its timeout (plus a
// small margin) whatever the device does.
// Not thread-safe: one caller (the frame loop).
class FrameSource {
 public:
  virtual ~FrameSource() = default;

  // Opens (or reopens after close()) the source. An error says why in one sentence.
  virtual Result<void> open() = 0;

  // Waits at most `timeout` for the next frame.
  virtual ReadStatus read(Frame& out, std::chrono::milliseconds timeout) = 0;

  // Releases the device and any thread; safe to call twice. Must not leak a file
  // descriptor or a thread across open()/close() cycles.
  virtual void close() noexcept = 0;

  // For logs: what this source is, with any password in a URL masked.
  virtual std::string describe() const = 0;
};

}  // namespace facegate::camera
