#pragma once

#include <atomic>
#include <filesystem>
#include <optional>

#include "facegate/config/config.hpp"

namespace facegate::app {

// What the daemon was started with, beyond the configuration itself.
struct DaemonStart {
  std::optional<std::filesystem::path> configPath;  // nullopt: readConfig()'s default
  std::optional<std::filesystem::path> modelsDir;   // --models
};

// Set from signal handlers: stop (SIGTERM, SIGINT) and reload the configuration (SIGHUP).
struct DaemonControls {
  std::atomic<bool> stop{false};
  std::atomic<bool> reload{false};
};

// facegated's job: loads the models, opens the keys and the database (or builds the demo's
// world), the buzzer and the camera (out of service and retrying with back-off until it
// opens), tells systemd READY, then runs the frame loop until `controls.stop`: SIGHUP
// reloads (a configuration that does not parse is refused and the running one kept), the
// audit retention purge runs at start and daily. Returns the exit status: 0, or for the
// demo 1 when a passage was not decided as the scenario expects. Throws std::runtime_error
// (one sentence) when the gate cannot start.
int runDaemon(const DaemonStart& start, config::Config config, DaemonControls& controls);

}  // namespace facegate::app
