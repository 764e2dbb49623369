#include "facegate/config/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "toml_reader.hpp"

namespace facegate::config {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxGateIdChars = 64;
constexpr std::size_t kMaxCameraSourceChars = 1024;
constexpr int kMaxGpioLine = 1023;

// storage.mode: a volunteer's badge kind, spelt as the database and the desk spell it.
constexpr std::array<Spelling<badge::BadgeKind>, 2> kStorageModes{{
    {badge::toString(badge::BadgeKind::Sealed), badge::BadgeKind::Sealed},
    {badge::toString(badge::BadgeKind::OnBadge), badge::BadgeKind::OnBadge},
}};
// face.fusion: deprecated, accepted (and still checked, so that a typo is named) with a
// warning. Every frame of a decision window must now match; no fusion rule applies.
enum class Fusion { Median, Best };
constexpr std::array<Spelling<Fusion>, 2> kFusions{{
    {"median", Fusion::Median},
    {"best", Fusion::Best},
}};
constexpr std::array<Spelling<GpioBackend>, 2> kGpioBackends{{
    {"log", GpioBackend::Log},
    {"gpiod", GpioBackend::Gpiod},
}};
constexpr std::array<Spelling<spdlog::level::level_enum>, 5> kLogLevels{{
    {"trace", spdlog::level::trace},
    {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},
    {"error", spdlog::level::err},
}};
constexpr std::array<Spelling<LogDestination>, 3> kLogTargets{{
    {"auto", LogDestination::Auto},
    {"journal", LogDestination::Journal},
    {"stderr", LogDestination::Stderr},
}};

bool isIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// ---- The schema, table by table ----

void readGate(Table table, GateConfig& gate) {
  static constexpr TextRule kGateId{1, kMaxGateIdChars, isIdChar,
                                    "1 to 64 characters of A-Z a-z 0-9 . _ -"};
  table.text("id", gate.id, kGateId);
  table.finish();
}

Field readCamera(Table table, CameraConfig& camera, Problems& problems) {
  static constexpr TextRule kSource{1, kMaxCameraSourceChars, nullptr,
                                    "\"demo\", a camera index or device, a URL or a video file "
                                    "(1 to 1024 characters)"};
  table.text("source", camera.source, kSource);
  table.integer("width", camera.width, 160, 3840);
  table.integer("height", camera.height, 120, 2160);
  const Field fps = table.integer("fps", camera.fps, 1, 120);
  // At most half of the unit's WatchdogSec=10s: the frame loop kicks the watchdog between
  // reads, so one read must never outlast it.
  table.integer("stall_timeout_ms", camera.stallTimeoutMs, 200, 5000);
  const Field minWait = table.integer("reconnect_min_ms", camera.reconnectMinMs, 100, 60000);
  // The upper bound is checked here, the lower one (reconnect_min_ms) below.
  const Field maxWait = table.integer("reconnect_max_ms", camera.reconnectMaxMs, 100, 600000);
  table.finish();

  if (!minWait.invalid() && !maxWait.invalid() && camera.reconnectMaxMs < camera.reconnectMinMs) {
    problems.add(
        maxWait.given() ? maxWait.line : minWait.line,
        fmt::format("{} = {}{} is less than {} = {}{}; the longest wait between "
                    "reconnection attempts cannot be shorter than the first",
                    table.pathOf("reconnect_max_ms"), camera.reconnectMaxMs,
                    maxWait.given() ? "" : " (the default)", table.pathOf("reconnect_min_ms"),
                    camera.reconnectMinMs, minWait.given() ? "" : " (the default)"));
  }
  return fps;
}

Field readBadge(Table table, BadgeConfig& badge) {
  table.path("public_key", badge.publicKey, false);
  const Field templateKey = table.path("template_key", badge.templateKey, true);
  table.integer("debounce_ms", badge.debounceMs, 0, 600000);
  table.integer("valid_days", badge.validDays, 1, 3660);
  table.finish();
  return templateKey;
}

struct FaceFields {
  Field windowMs;
  Field frames;
};

FaceFields readFace(Table table, FaceConfig& face, Problems& problems) {
  table.number("threshold", face.threshold, face::kMinThreshold, face::kMaxThreshold);
  const Field windowMs = table.integer("window_ms", face.windowMs, 500, 20000);
  const Field frames = table.integer("frames", face.frames, 1, 15);
  Fusion fusion = Fusion::Median;
  if (const Field given = table.choice("fusion", fusion, kFusions);
      given.given() && !given.invalid()) {
    problems.warn(given.line, fmt::format("{} is no longer used and has no effect: every frame "
                                          "of the decision window must match the template; "
                                          "remove the key",
                                          table.pathOf("fusion")));
  }
  table.integer("min_face_px", face.minFacePx, 40, 1000);
  table.integer("detect_max_side", face.detectMaxSide, 80, 4096);
  table.path("models_dir", face.modelsDir, true);
  table.finish();
  return {windowMs, frames};
}

void readGpio(Table table, GpioConfig& gpio, Problems& problems) {
  static constexpr TextRule kChip{1, kMaxPathChars, nullptr,
                                  "a GPIO chip name or device, e.g. \"gpiochip0\""};
  constexpr std::string_view kUnused = "-1 = not connected";
  table.choice("backend", gpio.backend, kGpioBackends);
  table.text("chip", gpio.chip, kChip);
  struct Line {
    std::string_view key;
    const int& value;
    Field field;
  };
  std::array<Line, 4> lines{{
      {"buzzer_line", gpio.buzzerLine,
       table.integer("buzzer_line", gpio.buzzerLine, 0, kMaxGpioLine)},
      {"green_line", gpio.greenLine,
       table.integer("green_line", gpio.greenLine, -1, kMaxGpioLine, kUnused)},
      {"red_line", gpio.redLine,
       table.integer("red_line", gpio.redLine, -1, kMaxGpioLine, kUnused)},
      {"ack_button_line", gpio.ackButtonLine,
       table.integer("ack_button_line", gpio.ackButtonLine, -1, kMaxGpioLine, kUnused)},
  }};
  table.boolean("active_low", gpio.activeLow);

  const IntegersRule pattern{kMaxPatternEntries,
                             kMinPatternMs,
                             kMaxPatternMs,
                             "on/off durations in ms",
                             "a duration in ms",
                             " (ms)",
                             fmt::format("a pattern is 1 to {} alternating on/off durations in ms, "
                                         "starting with on",
                                         kMaxPatternEntries)};
  Table patterns = table.table("patterns");
  for (const std::string_view name : kPatternNames) {
    patterns.integers(name, gpio.patterns[std::string(name)], pattern);
  }
  patterns.finish();
  table.finish();

  // One line drives one thing: a buzzer sharing the green LED's line would beep on GRANTED.
  for (std::size_t i = 0; i < lines.size(); ++i) {
    for (std::size_t j = i + 1; j < lines.size(); ++j) {
      const Line& a = lines[i];
      const Line& b = lines[j];
      if (a.value < 0 || a.value != b.value || a.field.invalid() || b.field.invalid()) {
        continue;
      }
      // Reported where the second of the two is written (at least one of them is: the
      // defaults do not collide).
      const bool bIsLater = !a.field.given() || (b.field.given() && b.field.line >= a.field.line);
      const Line& later = bIsLater ? b : a;
      const Line& earlier = bIsLater ? a : b;
      problems.add(later.field.line,
                   fmt::format("{} = {} is the same line as {}; each GPIO line can serve only one "
                               "purpose",
                               table.pathOf(later.key), later.value, table.pathOf(earlier.key)));
    }
  }
}

Field readStorage(Table table, StorageConfig& storage) {
  const Field mode = table.choice("mode", storage.mode, kStorageModes);
  table.path("database", storage.database, false);
  table.finish();
  return mode;
}

Field readLiveness(Table table, LivenessConfig& liveness) {
  table.boolean("enabled", liveness.enabled);
  const Field frames = table.integer("frames", liveness.frames, 2, 30);
  table.integer("border_sides", liveness.borderSides, 1, 4);
  table.number("border_frame_share", liveness.borderFrameShare, 0.0, 1.0);
  table.number("planar_min_motion_px", liveness.planarMinMotionPx, 0.0, 100.0);
  table.number("planar_max_residual", liveness.planarMaxResidual, 0.0, 1.0);
  table.finish();
  return frames;
}

void readAudit(Table table, AuditConfig& audit) {
  table.integer("retention_days", audit.retentionDays, 1, 3650);
  table.finish();
}

void readLogging(Table table, LoggingConfig& logging) {
  table.choice("level", logging.level, kLogLevels);
  table.choice("target", logging.target, kLogTargets);
  table.finish();
}

// ---- Reading the file ----

struct FileCloser {
  // Opened read-only: closing cannot lose data, its result says nothing useful.
  void operator()(std::FILE* file) const { static_cast<void>(std::fclose(file)); }
};

std::string tooLarge(const fs::path& path, std::uintmax_t size) {
  return fmt::format(
      "configuration file {} is {} bytes; a configuration file is at most 1 MiB "
      "({} bytes): is it the right file?",
      path.string(), size, kMaxConfigFileBytes);
}

Result<std::string> readConfigFile(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) {
    return fail(ErrorCode::FileNotFound,
                fmt::format("configuration file {} does not exist", path.string()));
  }
  if (ec) {
    return fail(ErrorCode::FileUnreadable, fmt::format("cannot access configuration file {}: {}",
                                                       path.string(), ec.message()));
  }
  if (fs::is_directory(status)) {
    return fail(ErrorCode::FileUnreadable,
                fmt::format("configuration file {} is a directory, not a file", path.string()));
  }
  if (!fs::is_regular_file(status)) {
    return fail(ErrorCode::FileUnreadable,
                fmt::format("configuration file {} is not a regular file", path.string()));
  }
  const std::uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > kMaxConfigFileBytes) {
    return fail(ErrorCode::InvalidArgument, tooLarge(path, size));
  }

  const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    return fail(ErrorCode::FileUnreadable, fmt::format("cannot read configuration file {}: {}",
                                                       path.string(), std::strerror(errno)));
  }
  // Read one byte past the limit: the file may have grown since it was measured.
  std::string text(kMaxConfigFileBytes + 1, '\0');
  const std::size_t got = std::fread(text.data(), 1, text.size(), file.get());
  if (std::ferror(file.get()) != 0) {
    return fail(ErrorCode::FileUnreadable, fmt::format("cannot read configuration file {}: {}",
                                                       path.string(), std::strerror(errno)));
  }
  if (got > kMaxConfigFileBytes) {
    return fail(ErrorCode::InvalidArgument, tooLarge(path, got));
  }
  // What a failed copy or a stray `> file` leaves. Taken as "every key at its default", it
  // would start the demo scenario instead of the school's camera.
  if (got == 0) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("configuration file {} is empty; start from the shipped "
                            "facegate.toml, which documents every key",
                            path.string()));
  }
  text.resize(got);
  return text;
}

void resolveAgainst(const fs::path& dir, fs::path& path) {
  if (!path.empty() && path.is_relative()) {
    path = (dir / path).lexically_normal();
  }
}

}  // namespace

std::map<std::string, std::vector<int>> defaultPatterns() {
  // Short and happy for GRANTED; long, repeated and loud for what needs the supervisor.
  return {
      {"granted", {80}},
      {"manual_check", {150, 100, 150}},
      {"mismatch", {400, 150, 400, 150, 400}},
      {"reject_badge", {800}},
      {"timeout", {300, 300, 300}},
      {"spoof", {400, 150, 400, 150, 400, 150, 400}},
      {"out_of_service", {1000, 1000}},
  };
}

Config defaults() {
  return Config{};
}

Result<Config> parseConfig(std::string_view text, std::string_view sourceName) {
  toml::table document;
  try {
    document = toml::parse(text, sourceName);
  } catch (const toml::parse_error& e) {
    const toml::source_position where = e.source().begin;
    return fail(ErrorCode::InvalidArgument,
                fmt::format("{}:{}:{}: invalid TOML: {}", sourceName, where.line, where.column,
                            withoutControls(e.description())));
  }

  Problems problems(sourceName);
  Config config = defaults();
  Table root(problems, &document, "");
  readGate(root.table("gate"), config.gate);
  const Field fps = readCamera(root.table("camera"), config.camera, problems);
  const Field templateKey = readBadge(root.table("badge"), config.badge);
  const FaceFields face = readFace(root.table("face"), config.face, problems);
  const Field livenessFrames = readLiveness(root.table("liveness"), config.liveness);
  readGpio(root.table("gpio"), config.gpio, problems);
  const Field mode = readStorage(root.table("storage"), config.storage);
  readAudit(root.table("audit"), config.audit);
  readLogging(root.table("logging"), config.logging);
  root.finish();

  if (config.storage.mode == badge::BadgeKind::OnBadge && config.badge.templateKey.empty() &&
      !templateKey.invalid()) {
    problems.add(mode.line,
                 "storage.mode = \"on-badge\" needs badge.template_key: the key file that opens "
                 "the templates carried on the badges");
  }

  // A window too short to ever hold a decision's frames would time out every passage.
  const int needed = decisionFrames(config);
  const bool checkable = !fps.invalid() && !face.windowMs.invalid() && !face.frames.invalid() &&
                         !livenessFrames.invalid();
  if (checkable &&
      std::int64_t{config.face.windowMs} * config.camera.fps < std::int64_t{needed} * 1000) {
    const std::int64_t neededMs =
        (std::int64_t{needed} * 1000 + config.camera.fps - 1) / config.camera.fps;
    const toml::source_index line = face.windowMs.given()    ? face.windowMs.line
                                    : fps.given()            ? fps.line
                                    : livenessFrames.given() ? livenessFrames.line
                                                             : face.frames.line;
    problems.add(line, fmt::format("face.window_ms = {} is too short: a decision needs {} frames "
                                   "of one face ({}), which take {} ms at camera.fps = {}; make "
                                   "it at least {} (the pupil also needs time to face the "
                                   "camera: the default is 3000)",
                                   config.face.windowMs, needed,
                                   needed == config.face.frames && !config.liveness.enabled
                                       ? "face.frames"
                                       : "the larger of face.frames and liveness.frames",
                                   neededMs, config.camera.fps, neededMs));
  }

  if (!problems.empty()) {
    return fail(ErrorCode::InvalidArgument, problems.message());
  }
  config.warnings = problems.warnings();
  return config;
}

int decisionFrames(const Config& config) {
  return std::max(config.face.frames, config.liveness.enabled ? config.liveness.frames : 0);
}

Result<Config> loadConfig(const fs::path& path) {
  auto text = readConfigFile(path);
  if (!text) {
    return tl::unexpected(std::move(text.error()));
  }
  auto config = parseConfig(*text, path.string());
  if (!config) {
    return config;
  }
  std::error_code ec;
  const fs::path dir = fs::absolute(path, ec).parent_path();
  if (ec) {
    return fail(ErrorCode::FileUnreadable,
                fmt::format("cannot resolve the directory of configuration file {}: {}",
                            path.string(), ec.message()));
  }
  resolveAgainst(dir, config->badge.publicKey);
  resolveAgainst(dir, config->badge.templateKey);
  resolveAgainst(dir, config->face.modelsDir);
  resolveAgainst(dir, config->storage.database);
  return config;
}

std::string_view toString(GpioBackend backend) noexcept {
  return spell(kGpioBackends, backend);
}
std::string_view toString(spdlog::level::level_enum level) noexcept {
  return spell(kLogLevels, level);
}
std::string_view toString(LogDestination target) noexcept {
  return spell(kLogTargets, target);
}

}  // namespace facegate::config
