#pragma once

#include <atomic>
#include <chrono>
#include <functional>

#include "facegate/camera/frame_source.hpp"
#include "facegate/gate/gate.hpp"
#include "facegate/gate/services.hpp"

namespace facegate::gate {

struct LoopSettings {
  std::chrono::milliseconds stallTimeout{2000};  // no frame for this long: out of service
  std::chrono::milliseconds reconnectMin{500};
  std::chrono::milliseconds reconnectMax{30000};
  bool stopAtEnd = false;  // a source that ends (file, demo scenario) ends the loop
};

struct LoopResult {
  std::uint64_t frames = 0;
  std::uint64_t passages = 0;
  std::uint64_t outages = 0;
  std::uint64_t reconnects = 0;
};

// The daemon's frame loop: reads frames with a bounded wait, hands them to the Gate, kicks
// the watchdog on every turn (a hung loop is restarted by systemd), notices a stalled or
// failed camera, declares the gate out of service and reconnects with back-off.
// `stop` (SIGTERM) ends the loop once no passage is under way; `betweenFrames` runs on every
// turn outside a passage (the daemon applies a SIGHUP reload there).
class FrameLoop {
 public:
  FrameLoop(camera::FrameSource& source, Gate& gate, ServiceNotifier& notifier,
            const LoopSettings& settings)
      : source_(source), gate_(gate), notifier_(notifier), settings_(settings) {}

  // The source must already be open (READY is sent after it is).
  LoopResult run(const std::atomic<bool>& stop, const std::function<void()>& betweenFrames = {});

  void reconfigure(const LoopSettings& settings) { settings_ = settings; }

 private:
  // Waits `delay` in short slices, kicking the watchdog; false if stop was requested.
  bool waitKicking(std::chrono::milliseconds delay, const std::atomic<bool>& stop);

  camera::FrameSource& source_;
  Gate& gate_;
  ServiceNotifier& notifier_;
  LoopSettings settings_;
};

}  // namespace facegate::gate
