#pragma once

#include <spdlog/common.h>

#include "facegate/config/config.hpp"
#include "facegate/core/logging.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/gate/frame_loop.hpp"
#include "facegate/gate/gate.hpp"

// From a validated configuration to each module's own settings: the one place that knows
// both the TOML schema (config/) and the modules it configures.
namespace facegate::app {

gate::GateSettings gateSettingsFrom(const config::Config& config);
gate::LoopSettings loopSettingsFrom(const config::Config& config);

// The engine as the gate runs it: no upsampling (a face too small is too far away).
face::EngineOptions gateEngineOptionsFrom(const config::Config& config);

// Points every logger at [logging]'s target and level.
void configureLoggingFrom(const config::Config& config);

}  // namespace facegate::app
