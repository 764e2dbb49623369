#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "facegate/badge/kind.hpp"
#include "facegate/core/error.hpp"
#include "facegate/core/logging.hpp"
#include "facegate/face/match.hpp"
#include "facegate/liveness/settings.hpp"
#include "facegate/signal/gpio_settings.hpp"

namespace facegate::config {

// The gate's whole configuration: one struct, every field with its default, read from one
// TOML file (config/facegate.toml documents every key). Each struct below is one TOML table;
// its TOML keys are the snake_case of the field names (stallTimeoutMs -> stall_timeout_ms).
// Where a module has its own settings the table holds them (liveness::Settings,
// signal::GpioSettings, the log's spdlog level and LogDestination, the face module's default
// threshold): their defaults are the module's. The ranges are checked by parseConfig(); a
// Config built in code is not checked.

enum class GpioBackend {
  Log,    // "log": no hardware, patterns are written to the log (demo, tests)
  Gpiod,  // "gpiod": real lines through libgpiod
};
// A buzzer/LED pattern is alternating on/off durations in milliseconds, starting with "on"
// (signal::Pattern::onOffMs). Parsed patterns hold 1..kMaxPatternEntries entries, each
// kMinPatternMs..kMaxPatternMs.
inline constexpr std::size_t kMaxPatternEntries = 16;
inline constexpr int kMinPatternMs = 10;
inline constexpr int kMaxPatternMs = 5000;

// The names of the patterns, one per gate outcome: the keys of GpioConfig::patterns.
inline constexpr std::array<std::string_view, 7> kPatternNames = {
    "granted", "mismatch", "manual_check", "reject_badge", "timeout", "spoof", "out_of_service"};

// The default pattern of every name in kPatternNames.
std::map<std::string, std::vector<int>> defaultPatterns();

// [gate]
struct GateConfig {
  std::string id = "gate-1";  // 1..64 characters of [A-Za-z0-9._-]; written in audit records
  bool operator==(const GateConfig&) const = default;
};

// [camera]
struct CameraConfig {
  std::string source = "demo";  // "demo", a V4L2 index or device, a URL or a video file
  int width = 640;              // 160..3840 px
  int height = 480;             // 120..2160 px
  int fps = 30;                 // 1..120
  int stallTimeoutMs = 2000;    // 200..5000: at most half of the unit's WatchdogSec
  int reconnectMinMs = 500;     // 100..60000
  int reconnectMaxMs = 30000;   // reconnectMinMs..600000
  bool operator==(const CameraConfig&) const = default;
};

// [badge]
struct BadgeConfig {
  std::filesystem::path publicKey = "/etc/facegate/school.pub";  // never empty
  std::filesystem::path templateKey;  // empty = none; required by storage.mode = "on-badge"
  int debounceMs = 5000;              // 0..600000
  int validDays = 365;                // 1..3660
  bool operator==(const BadgeConfig&) const = default;
};

// [face]
struct FaceConfig {
  double threshold = face::kDefaultMatchThreshold;  // (0, 2]
  int windowMs = 3000;  // 500..20000; long enough for decisionFrames() at camera.fps
  // 1..15: frames of one face per decision window when the liveness check is off; with it
  // on, the window is the larger of this and liveness.frames (decisionFrames()). Every frame
  // of the window is compared with the template and must match. (The former key `fusion`
  // is accepted with a warning and has no effect.)
  int frames = 3;
  int minFacePx = 80;               // 40..1000
  int detectMaxSide = 480;          // 80..4096
  std::filesystem::path modelsDir;  // empty = default search (face::findModelDir)
  bool operator==(const FaceConfig&) const = default;
};

// [liveness] Presentation-attack detection: whether it runs, and the check's own settings
// (liveness/liveness.hpp has what each cue means). Ranges: frames 2..30, borderSides 1..4,
// borderFrameShare (0, 1], planarMinMotionPx (0, 100], planarMaxResidual (0, 1].
struct LivenessConfig : liveness::Settings {
  bool enabled = true;
  bool operator==(const LivenessConfig&) const = default;
};

// [gpio] Which backend drives the signals, the GPIO lines it uses (the signal module's
// GpioSettings: chip never empty, buzzerLine 0..1023, the other lines -1..1023 with -1 = not
// connected, every used line distinct; its `consumer` is not configurable) and the patterns.
struct GpioConfig : signal::GpioSettings {
  GpioBackend backend = GpioBackend::Log;
  // Every name of kPatternNames, always: a file's [gpio.patterns] overrides some of them.
  std::map<std::string, std::vector<int>> patterns = defaultPatterns();
  bool operator==(const GpioConfig&) const = default;
};

// [storage]
struct StorageConfig {
  // Where the volunteers' templates live: Sealed or OnBadge, never Plain (a school's
  // choice of storage mode is a volunteer's badge kind).
  badge::BadgeKind mode = badge::BadgeKind::Sealed;
  std::filesystem::path database = "/var/lib/facegate/facegate.db";  // never empty
  bool operator==(const StorageConfig&) const = default;
};

// [audit]
struct AuditConfig {
  int retentionDays = 30;  // 1..3650
  bool operator==(const AuditConfig&) const = default;
};

// [logging]
struct LoggingConfig {
  spdlog::level::level_enum level = spdlog::level::info;  // "trace" "debug" "info" "warn" "error"
  LogDestination target = LogDestination::Auto;           // "auto" "journal" "stderr"
  bool operator==(const LoggingConfig&) const = default;
};

struct Config {
  // Not problems, but things the technician should change: deprecated keys, each as
  // "<file>:<line>: <what>". Filled by parseConfig(); the daemon logs them at start and
  // --check-config prints them.
  std::vector<std::string> warnings;
  GateConfig gate;
  CameraConfig camera;
  BadgeConfig badge;
  FaceConfig face;
  LivenessConfig liveness;
  GpioConfig gpio;
  StorageConfig storage;
  AuditConfig audit;
  LoggingConfig logging;
  bool operator==(const Config&) const = default;
};

// The configuration of a gate whose file sets nothing (equal to Config{}).
Config defaults();

// How many frames of one face a decision is made from: face.frames, or liveness.frames if
// the liveness check is on and needs more. At camera.fps they take
// decisionFrames * 1000 / fps milliseconds, which face.window_ms must leave room for.
int decisionFrames(const Config& config);

// Parses and validates TOML `text`. Every table and key is optional; unknown tables and
// keys, wrong TOML types (no coercion, except an integer for face.threshold), values out of
// range and inconsistent combinations are all errors. All problems are collected: the
// InvalidArgument error's message holds one line per problem, in file order, each as
// "<sourceName>:<line>: <key path> ... <what is allowed>". A TOML syntax error (duplicate
// keys included) stops parsing and is reported as "<sourceName>:<line>:<column>: ...".
// Paths are returned as written.
Result<Config> parseConfig(std::string_view text, std::string_view sourceName);

// A configuration file is a few kilobytes; anything past this is not one.
inline constexpr std::uintmax_t kMaxConfigFileBytes = std::uintmax_t{1024} * 1024;

// Reads the file at `path` (a regular file of at most kMaxConfigFileBytes), then
// parseConfig() with the path as written as the source name. Relative paths in the file
// (badge.public_key, badge.template_key, face.models_dir, storage.database) are resolved
// against the directory of the configuration file. FileNotFound when it does not exist,
// FileUnreadable when it is not a regular file or cannot be read, InvalidArgument when it
// is too large or invalid.
Result<Config> loadConfig(const std::filesystem::path& path);

// The TOML spellings.
std::string_view toString(GpioBackend backend) noexcept;
std::string_view toString(spdlog::level::level_enum level) noexcept;
std::string_view toString(LogDestination target) noexcept;

}  // namespace facegate::config
