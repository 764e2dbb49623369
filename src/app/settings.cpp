#include "facegate/app/settings.hpp"

namespace facegate::app {
gate::GateSettings gateSettingsFrom(const config::Config& c) {
  gate::GateSettings s;
  s.gateId = c.gate.id;
  s.passage.threshold = c.face.threshold;
  s.passage.window = std::chrono::milliseconds(c.face.windowMs);
  s.passage.frames = config::decisionFrames(c);
  s.passage.debounce = std::chrono::milliseconds(c.badge.debounceMs);
  s.minFacePx = c.face.minFacePx;
  s.passage.liveness = c.liveness.enabled;
  s.liveness = static_cast<const liveness::Settings&>(c.liveness);  // without `enabled`
  s.patterns = c.gpio.patterns;
  return s;
}

gate::LoopSettings loopSettingsFrom(const config::Config& c) {
  gate::LoopSettings s;
  s.stallTimeout = std::chrono::milliseconds(c.camera.stallTimeoutMs);
  s.reconnectMin = std::chrono::milliseconds(c.camera.reconnectMinMs);
  s.reconnectMax = std::chrono::milliseconds(c.camera.reconnectMaxMs);
  return s;
}

face::EngineOptions gateEngineOptionsFrom(const config::Config& c) {
  face::EngineOptions options;
  options.detectMaxSide = c.face.detectMaxSide;
  options.upsampleWhenNoFace = false;
  return options;
}

void configureLoggingFrom(const config::Config& c) {
  configureLogging(c.logging.target, c.logging.level);
}

}  // namespace facegate::app
