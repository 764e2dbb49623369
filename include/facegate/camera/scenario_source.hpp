#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "facegate/camera/frame_source.hpp"

namespace facegate::camera {

// A camera that replays a prepared list of frames and outages. Frame timestamps advance by
// one frame interval per frame from the first open(), so that the replay runs as fast as
// the gate can process it yet the state machine sees the scenario's own timing. An outage
// step makes read() report Stalled once (the loop then reconnects). close()/open() resume
// where the replay was, like a camera that comes back.
class ScenarioSource final : public FrameSource {
 public:
  struct Step {
    cv::Mat frame;        // empty: an outage
    std::string caption;  // for describe() and the demo's log
  };

  ScenarioSource(std::vector<Step> steps, int fps) : steps_(std::move(steps)), fps_(fps) {}

  Result<void> open() override;
  ReadStatus read(Frame& out, std::chrono::milliseconds timeout) override;
  void close() noexcept override { open_ = false; }
  std::string describe() const override { return "demo scenario"; }

  std::size_t position() const { return next_; }

 private:
  std::vector<Step> steps_;
  int fps_;
  std::size_t next_ = 0;
  std::uint64_t index_ = 0;
  bool open_ = false;
  bool started_ = false;
  std::chrono::steady_clock::time_point base_{};
};

}  // namespace facegate::camera
