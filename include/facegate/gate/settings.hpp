#pragma once

#include "facegate/config/config.hpp"
#include "facegate/gate/frame_loop.hpp"
#include "facegate/gate/gate.hpp"

namespace facegate::gate {

// The gate's and the frame loop's settings from a validated configuration.
GateSettings gateSettingsFrom(const config::Config& config);
LoopSettings loopSettingsFrom(const config::Config& config);

}  // namespace facegate::gate
