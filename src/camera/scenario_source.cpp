#include "facegate/camera/scenario_source.hpp"

namespace facegate::camera {

Result<void> ScenarioSource::open() {
  if (!started_) {
    base_ = std::chrono::steady_clock::now();
    started_ = true;
  }
  open_ = true;
  return {};
}

ReadStatus ScenarioSource::read(Frame& out, std::chrono::milliseconds /*timeout*/) {
  if (!open_) {
    return ReadStatus::Failed;
  }
  if (next_ >= steps_.size()) {
    return ReadStatus::Ended;
  }
  const Step& step = steps_[next_++];
  // Time passes in the scenario whether or not a frame arrives.
  const auto at = base_ + std::chrono::microseconds(1'000'000 / fps_) * static_cast<long>(index_++);
  if (step.frame.empty()) {
    return ReadStatus::Stalled;
  }
  out.bgr = step.frame;  // shared, read-only: the gate never writes into frames
  out.capturedAt = at;
  out.index = index_;
  return ReadStatus::Frame;
}

}  // namespace facegate::camera
