#include "facegate/gate/frame_loop.hpp"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "facegate/camera/backoff.hpp"
#include "facegate/core/logging.hpp"

namespace facegate::gate {
namespace {

constexpr int kMaxFailedFrames = 10;

}  // namespace

bool FrameLoop::waitKicking(std::chrono::milliseconds delay, const std::atomic<bool>& stop) {
  using namespace std::chrono_literals;
  const auto until = std::chrono::steady_clock::now() + delay;
  while (std::chrono::steady_clock::now() < until) {
    if (stop.load()) {
      return false;
    }
    notifier_.watchdog();
    gate_.pollAcknowledge();  // the supervisor can silence the out-of-service alarm
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        200ms, until - std::chrono::steady_clock::now()));
  }
  return !stop.load();
}

LoopResult FrameLoop::run(const std::atomic<bool>& stop,
                          const std::function<void()>& betweenFrames) {
  LoopResult result;
  camera::Backoff backoff(settings_.reconnectMin, settings_.reconnectMax);
  auto log = logger("camera");
  camera::Frame frame;
  auto lastFrameAt = std::chrono::steady_clock::now();
  bool down = false;
  int failedFrames = 0;

  for (;;) {
    notifier_.watchdog();
    if (stop.load() && !gate_.inPassage()) {
      break;
    }
    if (!gate_.inPassage() && betweenFrames) {
      betweenFrames();
    }
    const camera::ReadStatus status = source_.read(frame, settings_.stallTimeout);
    if (status == camera::ReadStatus::Frame) {
      ++result.frames;
      lastFrameAt = std::max(lastFrameAt, frame.capturedAt);
      if (down) {
        down = false;
        backoff.reset();
        gate_.onCameraRestored(frame.capturedAt);
      }
      // A frame the gate cannot process (an exception from OpenCV or dlib on an odd frame)
      // is dropped and logged; if every frame fails, the gate is out of service.
      try {
        if (gate_.onFrame(frame)) {
          ++result.passages;
        }
        failedFrames = 0;
      } catch (const std::exception& e) {
        log->error("frame {} could not be processed: {}", frame.index, e.what());
        if (++failedFrames == kMaxFailedFrames && !down) {
          down = true;
          ++result.outages;
          if (gate_.onCameraLost(frame.capturedAt, "frames cannot be processed")) {
            ++result.passages;
          }
        }
      }
      continue;
    }
    if (status == camera::ReadStatus::Ended && settings_.stopAtEnd) {
      break;
    }
    // Stalled, failed, or a live source that ended: out of service until frames return.
    const std::string what = status == camera::ReadStatus::Stalled
                                 ? fmt::format("no frame from {} for {} ms", source_.describe(),
                                               settings_.stallTimeout.count())
                             : status == camera::ReadStatus::Ended
                                 ? fmt::format("{} ended", source_.describe())
                                 : fmt::format("{} failed", source_.describe());
    // Time for the state machine: frame timestamps may run ahead of the wall (a replayed
    // scenario), so never go back behind the last frame.
    const auto now =
        std::max(std::chrono::steady_clock::now(), lastFrameAt + settings_.stallTimeout);
    if (!down) {
      down = true;
      ++result.outages;
      log->warn("{}: out of service, reconnecting", what);
      if (gate_.onCameraLost(now, what)) {
        ++result.passages;
      }
    }
    // A stalled stream is reopened too: a hung RTSP session or USB camera rarely recovers
    // by itself, and reopening costs little.
    source_.close();
    for (;;) {
      if (!waitKicking(backoff.next(), stop)) {
        return result;
      }
      ++result.reconnects;
      if (auto opened = source_.open(); opened) {
        log->info("reconnected to {}", source_.describe());
        break;
      } else {
        log->warn("cannot reopen {}: {}", source_.describe(), opened.error().message);
      }
    }
  }
  return result;
}

}  // namespace facegate::gate
