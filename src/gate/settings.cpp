#include "facegate/gate/settings.hpp"

namespace facegate::gate {

GateSettings gateSettingsFrom(const config::Config& c) {
  GateSettings s;
  s.gateId = c.gate.id;
  s.passage.threshold = c.face.threshold;
  s.passage.window = std::chrono::milliseconds(c.face.windowMs);
  s.passage.frames = config::decisionFrames(c);
  s.passage.debounce = std::chrono::milliseconds(c.badge.debounceMs);
  s.minFacePx = c.face.minFacePx;
  s.passage.liveness = c.liveness.enabled;
  s.liveness.enabled = c.liveness.enabled;
  s.liveness.frames = c.liveness.frames;
  s.liveness.borderSides = c.liveness.borderSides;
  s.liveness.borderFrameShare = c.liveness.borderFrameShare;
  s.liveness.planarMinMotionPx = c.liveness.planarMinMotionPx;
  s.liveness.planarMaxResidual = c.liveness.planarMaxResidual;
  for (const auto& [name, pattern] : c.gpio.patterns) {
    s.patterns[name] = pattern.onOffMs;
  }
  return s;
}

LoopSettings loopSettingsFrom(const config::Config& c) {
  LoopSettings s;
  s.stallTimeout = std::chrono::milliseconds(c.camera.stallTimeoutMs);
  s.reconnectMin = std::chrono::milliseconds(c.camera.reconnectMinMs);
  s.reconnectMax = std::chrono::milliseconds(c.camera.reconnectMaxMs);
  return s;
}

}  // namespace facegate::gate
