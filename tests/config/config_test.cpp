#include "facegate/config/config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "facegate/face/match.hpp"
#include "test_support.hpp"

namespace facegate::config {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSource = "facegate.toml";

std::string contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos ? ""
                                                    : "'" + needle + "' missing from:\n" + haystack;
}

// The error message of a text that must not parse ("" and a failure when it does).
std::string errorOf(std::string_view text) {
  const auto config = parseConfig(text, kSource);
  if (config) {
    ADD_FAILURE() << "parsed, but should not have:\n" << text;
    return "";
  }
  EXPECT_EQ(config.error().code, ErrorCode::InvalidArgument);
  return config.error().message;
}

Config parsed(std::string_view text) {
  const auto config = parseConfig(text, kSource);
  EXPECT_TRUE(config) << config.error().message;
  return config ? *config : Config{};
}

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Field by field, so that a failure names the field.
void expectSameConfig(const Config& actual, const Config& expected) {
  EXPECT_EQ(actual.gate.id, expected.gate.id);
  EXPECT_EQ(actual.camera.source, expected.camera.source);
  EXPECT_EQ(actual.camera.width, expected.camera.width);
  EXPECT_EQ(actual.camera.height, expected.camera.height);
  EXPECT_EQ(actual.camera.fps, expected.camera.fps);
  EXPECT_EQ(actual.camera.stallTimeoutMs, expected.camera.stallTimeoutMs);
  EXPECT_EQ(actual.camera.reconnectMinMs, expected.camera.reconnectMinMs);
  EXPECT_EQ(actual.camera.reconnectMaxMs, expected.camera.reconnectMaxMs);
  EXPECT_EQ(actual.badge.publicKey, expected.badge.publicKey);
  EXPECT_EQ(actual.badge.templateKey, expected.badge.templateKey);
  EXPECT_EQ(actual.badge.debounceMs, expected.badge.debounceMs);
  EXPECT_EQ(actual.badge.validDays, expected.badge.validDays);
  EXPECT_EQ(actual.face.threshold, expected.face.threshold);
  EXPECT_EQ(actual.face.windowMs, expected.face.windowMs);
  EXPECT_EQ(actual.face.frames, expected.face.frames);
  EXPECT_EQ(actual.face.minFacePx, expected.face.minFacePx);
  EXPECT_EQ(actual.face.detectMaxSide, expected.face.detectMaxSide);
  EXPECT_EQ(actual.face.modelsDir, expected.face.modelsDir);
  EXPECT_EQ(actual.liveness.enabled, expected.liveness.enabled);
  EXPECT_EQ(actual.liveness.frames, expected.liveness.frames);
  EXPECT_EQ(actual.liveness.borderSides, expected.liveness.borderSides);
  EXPECT_EQ(actual.liveness.borderFrameShare, expected.liveness.borderFrameShare);
  EXPECT_EQ(actual.liveness.planarMinMotionPx, expected.liveness.planarMinMotionPx);
  EXPECT_EQ(actual.liveness.planarMaxResidual, expected.liveness.planarMaxResidual);
  EXPECT_EQ(actual.gpio.backend, expected.gpio.backend);
  EXPECT_EQ(actual.gpio.chip, expected.gpio.chip);
  EXPECT_EQ(actual.gpio.buzzerLine, expected.gpio.buzzerLine);
  EXPECT_EQ(actual.gpio.greenLine, expected.gpio.greenLine);
  EXPECT_EQ(actual.gpio.redLine, expected.gpio.redLine);
  EXPECT_EQ(actual.gpio.ackButtonLine, expected.gpio.ackButtonLine);
  EXPECT_EQ(actual.gpio.activeLow, expected.gpio.activeLow);
  for (const auto name : kPatternNames) {
    const std::string key(name);
    ASSERT_TRUE(actual.gpio.patterns.contains(key)) << key;
    ASSERT_TRUE(expected.gpio.patterns.contains(key)) << key;
    EXPECT_EQ(actual.gpio.patterns.at(key), expected.gpio.patterns.at(key)) << key;
  }
  EXPECT_EQ(actual.gpio.patterns.size(), expected.gpio.patterns.size());
  EXPECT_EQ(actual.storage.mode, expected.storage.mode);
  EXPECT_EQ(actual.storage.database, expected.storage.database);
  EXPECT_EQ(actual.audit.retentionDays, expected.audit.retentionDays);
  EXPECT_EQ(actual.logging.level, expected.logging.level);
  EXPECT_EQ(actual.logging.target, expected.logging.target);
  EXPECT_EQ(actual.warnings, expected.warnings);
  EXPECT_TRUE(actual == expected) << "a field is missing from this comparison";
}

// ---- Defaults and the shipped file ----

TEST(Defaults, AreTheDocumentedValues) {
  const Config c = defaults();
  EXPECT_EQ(c.gate.id, "gate-1");
  EXPECT_EQ(c.camera.source, "demo");
  EXPECT_EQ(c.camera.width, 640);
  EXPECT_EQ(c.camera.height, 480);
  EXPECT_EQ(c.camera.fps, 30);
  EXPECT_EQ(c.camera.stallTimeoutMs, 2000);
  EXPECT_EQ(c.camera.reconnectMinMs, 500);
  EXPECT_EQ(c.camera.reconnectMaxMs, 30000);
  EXPECT_EQ(c.badge.publicKey, fs::path("/etc/facegate/school.pub"));
  EXPECT_TRUE(c.badge.templateKey.empty());
  EXPECT_EQ(c.badge.debounceMs, 5000);
  EXPECT_EQ(c.badge.validDays, 365);
  EXPECT_EQ(c.face.threshold, face::kDefaultMatchThreshold);
  EXPECT_EQ(c.face.windowMs, 3000);
  EXPECT_EQ(c.face.frames, 3);
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_EQ(c.face.minFacePx, 80);
  EXPECT_EQ(c.face.detectMaxSide, 480);
  EXPECT_TRUE(c.face.modelsDir.empty());
  EXPECT_TRUE(c.liveness.enabled);
  EXPECT_EQ(c.liveness.frames, 8);
  EXPECT_EQ(c.liveness.borderSides, 2);
  EXPECT_EQ(c.liveness.borderFrameShare, 0.5);
  EXPECT_EQ(c.liveness.planarMinMotionPx, 3.0);
  EXPECT_EQ(c.liveness.planarMaxResidual, 0.05);
  EXPECT_EQ(c.gpio.backend, GpioBackend::Log);
  EXPECT_EQ(c.gpio.chip, "gpiochip0");
  EXPECT_EQ(c.gpio.buzzerLine, 17);
  EXPECT_EQ(c.gpio.greenLine, -1);
  EXPECT_EQ(c.gpio.redLine, -1);
  EXPECT_EQ(c.gpio.ackButtonLine, -1);
  EXPECT_FALSE(c.gpio.activeLow);
  const std::map<std::string, std::vector<int>> patterns = {
      {"granted", {80}},
      {"manual_check", {150, 100, 150}},
      {"mismatch", {400, 150, 400, 150, 400}},
      {"reject_badge", {800}},
      {"timeout", {300, 300, 300}},
      {"spoof", {400, 150, 400, 150, 400, 150, 400}},
      {"out_of_service", {1000, 1000}},
  };
  ASSERT_EQ(c.gpio.patterns.size(), patterns.size());
  for (const auto& [name, onOffMs] : patterns) {
    ASSERT_TRUE(c.gpio.patterns.contains(name)) << name;
    EXPECT_EQ(c.gpio.patterns.at(name), onOffMs) << name;
  }
  EXPECT_EQ(c.storage.mode, badge::BadgeKind::Sealed);
  EXPECT_EQ(c.storage.database, fs::path("/var/lib/facegate/facegate.db"));
  EXPECT_EQ(c.audit.retentionDays, 30);
  EXPECT_EQ(c.logging.level, spdlog::level::info);
  EXPECT_EQ(c.logging.target, LogDestination::Auto);
}

TEST(Defaults, PatternNamesAreExactlyTheDefaultPatterns) {
  const auto patterns = defaultPatterns();
  ASSERT_EQ(patterns.size(), kPatternNames.size());
  for (const auto name : kPatternNames) {
    EXPECT_TRUE(patterns.contains(std::string(name))) << name;
  }
}

TEST(ShippedConfig, ParsesToExactlyTheDefaults) {
  const auto config = loadConfig(FACEGATE_SOURCE_DIR "/config/facegate.toml");
  ASSERT_TRUE(config) << config.error().message;
  expectSameConfig(*config, defaults());
}

TEST(ShippedConfig, SetsEveryKeyExplicitly) {
  // Documenting every key means writing every key with its default value: the file parses
  // to the defaults (above) and holds one assignment per key of the schema.
  const std::string text = test::readFile(FACEGATE_SOURCE_DIR "/config/facegate.toml");
  std::size_t assignments = 0;
  for (const auto& line : linesOf(text)) {
    if (!line.empty() && line[0] != '#' && line[0] != '[' &&
        line.find(" = ") != std::string::npos) {
      ++assignments;
    }
  }
  // gate 1, camera 7, badge 4, face 6, liveness 6, gpio 7 + 7 patterns, storage 2, audit 1,
  // logging 2.
  EXPECT_EQ(assignments, 43u);
}

TEST(ShippedConfig, EveryKeyHasACommentRightAboveIt) {
  const auto lines = linesOf(test::readFile(FACEGATE_SOURCE_DIR "/config/facegate.toml"));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.empty() || line[0] == '#' || line[0] == '[') {
      continue;
    }
    const std::string key = line.substr(0, line.find(' '));
    // The key's comment is in the block of comments and assignments right above it.
    bool documented = false;
    for (std::size_t j = i; j-- > 0 && !lines[j].empty();) {
      if (lines[j][0] == '#' && lines[j].find(key) != std::string::npos) {
        documented = true;
      }
    }
    EXPECT_TRUE(documented) << "line " << i + 1 << ": " << key << " has no comment naming it";
  }
}

TEST(Parse, EmptyTextGivesTheDefaults) {
  expectSameConfig(parsed(""), defaults());
  expectSameConfig(parsed("# nothing but a comment\n\n[camera]\n[gpio.patterns]\n"), defaults());
}

TEST(Parse, ReadsEveryKey) {
  const Config c = parsed(R"(
[gate]
id = "north.gate_2-B"
[camera]
source = "rtsp://192.0.2.10/stream"
width = 1280
height = 720
fps = 15
stall_timeout_ms = 5000
reconnect_min_ms = 1000
reconnect_max_ms = 1000
[badge]
public_key = "/srv/keys/school.pub"
template_key = "/srv/keys/template.key"
debounce_ms = 0
valid_days = 3660
[face]
threshold = 0.5
window_ms = 20000
frames = 15
min_face_px = 40
detect_max_side = 4096
models_dir = "/opt/models"
[gpio]
backend = "gpiod"
chip = "/dev/gpiochip1"
buzzer_line = 0
green_line = 1023
red_line = 22
ack_button_line = 27
active_low = true
patterns = { granted = [10, 5000, 10], out_of_service = [5000] }
[storage]
mode = "on-badge"
database = "/data/gate.db"
[audit]
retention_days = 3650
[logging]
level = "trace"
target = "journal"
)");
  Config e;
  e.gate.id = "north.gate_2-B";
  e.camera = {"rtsp://192.0.2.10/stream", 1280, 720, 15, 5000, 1000, 1000};
  e.badge.publicKey = "/srv/keys/school.pub";
  e.badge.templateKey = "/srv/keys/template.key";
  e.badge.debounceMs = 0;
  e.badge.validDays = 3660;
  e.face.threshold = 0.5;
  e.face.windowMs = 20000;
  e.face.frames = 15;
  e.face.minFacePx = 40;
  e.face.detectMaxSide = 4096;
  e.face.modelsDir = "/opt/models";
  e.gpio.backend = GpioBackend::Gpiod;
  e.gpio.chip = "/dev/gpiochip1";
  e.gpio.buzzerLine = 0;
  e.gpio.greenLine = 1023;
  e.gpio.redLine = 22;
  e.gpio.ackButtonLine = 27;
  e.gpio.activeLow = true;
  e.gpio.patterns["granted"] = {{10, 5000, 10}};
  e.gpio.patterns["out_of_service"] = {{5000}};
  e.storage.mode = badge::BadgeKind::OnBadge;
  e.storage.database = "/data/gate.db";
  e.audit.retentionDays = 3650;
  e.logging.level = spdlog::level::trace;
  e.logging.target = LogDestination::Journal;
  expectSameConfig(c, e);
}

TEST(Parse, AcceptsTheBoundsOfEveryRange) {
  const Config low = parsed(R"(
[camera]
width = 160
height = 120
fps = 1
stall_timeout_ms = 200
reconnect_min_ms = 100
reconnect_max_ms = 100
[badge]
valid_days = 1
[face]
threshold = 1e-9
window_ms = 1000
frames = 1
min_face_px = 40
detect_max_side = 80
[liveness]
enabled = false
frames = 2
[gpio]
buzzer_line = 0
green_line = -1
red_line = -1
ack_button_line = -1
patterns.granted = [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10]
[audit]
retention_days = 1
)");
  EXPECT_EQ(low.camera.width, 160);
  EXPECT_EQ(low.camera.reconnectMaxMs, 100);
  EXPECT_EQ(low.face.threshold, 1e-9);
  EXPECT_EQ(low.gpio.patterns.at("granted").size(), kMaxPatternEntries);
  EXPECT_EQ(low.audit.retentionDays, 1);
  // One frame at 1 fps needs a window of 1000 ms; 500 ms is enough at the default 30 fps.
  EXPECT_EQ(parsed("[face]\nwindow_ms = 500").face.windowMs, 500);

  const Config high = parsed(R"(
[camera]
width = 3840
height = 2160
fps = 120
stall_timeout_ms = 5000
reconnect_min_ms = 60000
reconnect_max_ms = 600000
[badge]
debounce_ms = 600000
[face]
threshold = 2
min_face_px = 1000
[gpio]
buzzer_line = 1023
patterns.spoof = [5000]
)");
  EXPECT_EQ(high.camera.height, 2160);
  EXPECT_EQ(high.camera.reconnectMaxMs, 600000);
  EXPECT_EQ(high.badge.debounceMs, 600000);
  EXPECT_EQ(high.face.threshold, 2.0);  // an integer is accepted for the threshold
  EXPECT_EQ(high.gpio.buzzerLine, 1023);
  EXPECT_EQ(high.gpio.patterns.at("spoof"), std::vector<int>{5000});
}

TEST(Parse, PartialPatternsKeepTheOtherDefaults) {
  const Config c = parsed("[gpio.patterns]\ntimeout = [100]\n");
  EXPECT_EQ(c.gpio.patterns.at("timeout"), std::vector<int>{100});
  auto expected = defaultPatterns();
  expected["timeout"] = {{100}};
  EXPECT_EQ(c.gpio.patterns, expected);
}

TEST(Parse, GateIdMayUseEveryAllowedCharacter) {
  const std::string id64(64, 'a');
  EXPECT_EQ(parsed("[gate]\nid = \"" + id64 + "\"").gate.id, id64);
  EXPECT_EQ(parsed("[gate]\nid = \"Az09._-\"").gate.id, "Az09._-");
}

TEST(Parse, EveryEnumSpellingRoundTrips) {
  for (const auto mode : {badge::BadgeKind::Sealed, badge::BadgeKind::OnBadge}) {
    const auto text = fmt::format("[storage]\nmode = \"{}\"\n[badge]\ntemplate_key = \"k\"\n",
                                  badge::toString(mode));
    EXPECT_EQ(parsed(text).storage.mode, mode) << text;
  }
  // face.fusion is deprecated: still checked, accepted with a warning naming its line.
  for (const std::string fusion : {"median", "best"}) {
    const Config c = parsed(fmt::format("\n[face]\nfusion = \"{}\"", fusion));
    ASSERT_EQ(c.warnings.size(), 1U);
    EXPECT_EQ(
        c.warnings[0],
        "facegate.toml:3: face.fusion is no longer used and has no effect: every frame of the "
        "decision window must match the template; remove the key");
  }
  for (const auto backend : {GpioBackend::Log, GpioBackend::Gpiod}) {
    EXPECT_EQ(parsed(fmt::format("gpio.backend = \"{}\"", toString(backend))).gpio.backend,
              backend);
  }
  for (const auto level : {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                           spdlog::level::warn, spdlog::level::err}) {
    EXPECT_EQ(parsed(fmt::format("logging.level = \"{}\"", toString(level))).logging.level, level);
  }
  for (const auto target :
       {LogDestination::Auto, LogDestination::Journal, LogDestination::Stderr}) {
    EXPECT_EQ(parsed(fmt::format("logging.target = \"{}\"", toString(target))).logging.target,
              target);
  }
  EXPECT_EQ(badge::toString(badge::BadgeKind::OnBadge), "on-badge");
  EXPECT_EQ(toString(spdlog::level::warn), "warn");
}

TEST(Parse, RelativePathsAreKeptAsWritten) {
  const Config c = parsed("[badge]\npublic_key = \"keys/school.pub\"\n");
  EXPECT_EQ(c.badge.publicKey, fs::path("keys/school.pub"));
}

// ---- One bad value at a time ----

struct BadConfig {
  std::string name;      // test name
  std::string text;      // the whole file
  int line;              // where the problem must be reported
  std::string key;       // the key path the message must name
  std::string fragment;  // and what it must say
};

std::ostream& operator<<(std::ostream& os, const BadConfig& bad) {
  return os << bad.name;
}

class BadConfigTest : public testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, IsRejectedWithFileLineKeyAndReason) {
  const BadConfig& bad = GetParam();
  const std::string message = errorOf(bad.text);
  EXPECT_EQ(message.rfind(fmt::format("{}:{}:", kSource, bad.line), 0), 0u)
      << "expected line " << bad.line << " in:\n"
      << message;
  EXPECT_EQ(contains(message, bad.key), "");
  EXPECT_EQ(contains(message, bad.fragment), "");
  // One problem, one line: no knock-on complaints about the same mistake.
  EXPECT_EQ(linesOf(message).size(), 1u) << message;
}

const std::string kTemplateKeyLine = "[badge]\ntemplate_key = \"t.key\"\n";

INSTANTIATE_TEST_SUITE_P(
    Config, BadConfigTest,
    testing::Values(
        // Unknown tables and keys.
        BadConfig{"UnknownTableNearAKnownOne", "[gate]\nid = \"a\"\n[cameras]\nwidth = 640\n", 3,
                  "cameras", "unknown key cameras (did you mean camera?)"},
        BadConfig{"LivenessFramesTooFew", "[liveness]\nframes = 1\n", 2, "liveness.frames",
                  "out of range [2, 30]"},
        BadConfig{"LivenessSidesTooMany", "[liveness]\nborder_sides = 5\n", 2,
                  "liveness.border_sides", "out of range [1, 4]"},
        BadConfig{"LivenessShareZero", "[liveness]\nborder_frame_share = 0.0\n", 2,
                  "liveness.border_frame_share", ""},
        BadConfig{"LivenessResidualTooLarge", "[liveness]\nplanar_max_residual = 1.5\n", 2,
                  "liveness.planar_max_residual", ""},
        BadConfig{"LivenessEnabledNotABoolean", "[liveness]\nenabled = \"yes\"\n", 2,
                  "liveness.enabled", ""},
        BadConfig{"UnknownTable", "\n[printer]\n", 2, "printer",
                  "unknown key printer; the known tables are [gate], [camera], [badge], [face], "
                  "[liveness], [gpio], [storage], [audit], [logging]"},
        BadConfig{"UnknownKeyTypo", "[camera]\nwidth = 640\nheigth = 480\n", 3, "camera.heigth",
                  "unknown key camera.heigth (did you mean camera.height?)"},
        BadConfig{"UnknownKeySwappedLetters", "[camera]\nwidht = 640\n", 2, "camera.widht",
                  "(did you mean camera.width?)"},
        BadConfig{"UnknownKeyCamelCase", "[camera]\nstallTimeoutMs = 500\n", 2,
                  "camera.stallTimeoutMs", "(did you mean camera.stall_timeout_ms?)"},
        BadConfig{"UnknownKeyInTheWrongTable", "threshold = 0.5\n", 1, "threshold",
                  "unknown key threshold (did you mean face.threshold?)"},
        BadConfig{"UnknownKeyTooFarForASuggestion", "[camera]\nwxdxhx = 640\n", 2, "camera.wxdxhx",
                  "unknown key camera.wxdxhx; the keys of [camera] are source, width, height, "
                  "fps, stall_timeout_ms, reconnect_min_ms, reconnect_max_ms"},
        BadConfig{"UnknownQuotedKey", "[camera]\n\"my key\" = 1\n", 2, "camera.\"my key\"",
                  "unknown key"},
        BadConfig{"UnknownKeyInAnInlineTable", "camera = { fsp = 30 }\n", 1, "camera.fsp",
                  "(did you mean camera.fps?)"},
        BadConfig{"UnknownPatternName", "[gpio.patterns]\ngranted = [80]\ngrantd = [80]\n", 3,
                  "gpio.patterns.grantd", "(did you mean gpio.patterns.granted?)"},
        BadConfig{"UnknownPatternNameFarFromAll", "[gpio.patterns]\nbeep = [80]\n", 2,
                  "gpio.patterns.beep",
                  "the keys of [gpio.patterns] are granted, mismatch, manual_check, reject_badge, "
                  "timeout, spoof, out_of_service"},
        // Wrong TOML types: no silent coercion.
        BadConfig{"IntegerKeyGivenAString", "[camera]\n\nfps = \"thirty\"\n", 3, "camera.fps",
                  "camera.fps must be an integer, got string \"thirty\""},
        BadConfig{"IntegerKeyGivenAFloat", "[camera]\nwidth = 640.0\n", 2, "camera.width",
                  "must be an integer, got float 640.0"},
        BadConfig{"IntegerKeyGivenABoolean", "[audit]\nretention_days = true\n", 2,
                  "audit.retention_days", "must be an integer, got boolean true"},
        BadConfig{"FloatKeyGivenAString", "[face]\nthreshold = \"0.5\"\n", 2, "face.threshold",
                  "face.threshold must be a number, got string \"0.5\""},
        BadConfig{"StringKeyGivenAnInteger", "[gate]\nid = 5\n", 2, "gate.id",
                  "gate.id must be a string, got integer 5"},
        BadConfig{"PathKeyGivenAnArray", "[badge]\npublic_key = [\"a\"]\n", 2, "badge.public_key",
                  "must be a string, got array"},
        BadConfig{"EnumKeyGivenAnInteger", "[face]\nfusion = 1\n", 2, "face.fusion",
                  "face.fusion must be one of \"median\", \"best\", got integer 1"},
        BadConfig{"BoolKeyGivenAString", "[gpio]\nactive_low = \"yes\"\n", 2, "gpio.active_low",
                  "gpio.active_low must be a boolean (true or false), got string \"yes\""},
        BadConfig{"BoolKeyGivenAnInteger", "[gpio]\nactive_low = 1\n", 2, "gpio.active_low",
                  "must be a boolean (true or false), got integer 1"},
        BadConfig{"ArrayKeyGivenAnInteger", "[gpio.patterns]\ngranted = 80\n", 2,
                  "gpio.patterns.granted",
                  "gpio.patterns.granted must be an array of integers (on/off durations in ms), "
                  "got integer 80"},
        BadConfig{"TableGivenAnInteger", "\ncamera = 5\n", 2, "camera",
                  "camera must be a table, got integer 5"},
        BadConfig{"TableGivenAnArrayOfTables", "[[camera]]\nwidth = 640\n", 1, "camera",
                  "camera must be a table, got array"},
        BadConfig{"PatternsGivenAnArray", "[gpio]\npatterns = [80]\n", 2, "gpio.patterns",
                  "gpio.patterns must be a table, got array"},
        BadConfig{"IntegerKeyGivenADate", "[audit]\nretention_days = 2024-01-01\n", 2,
                  "audit.retention_days", "must be an integer, got date 2024-01-01"},
        // Out of range, low and high.
        BadConfig{"WidthTooLow", "[camera]\nwidth = 159\n", 2, "camera.width",
                  "camera.width = 159 is out of range [160, 3840]"},
        BadConfig{"WidthTooHigh", "[camera]\nwidth = 3841\n", 2, "camera.width",
                  "camera.width = 3841 is out of range [160, 3840]"},
        BadConfig{"WidthFarBeyondInt", "[camera]\nwidth = 9223372036854775807\n", 2, "camera.width",
                  "camera.width = 9223372036854775807 is out of range"},
        BadConfig{"HeightTooLow", "[camera]\nheight = 119\n", 2, "camera.height",
                  "is out of range [120, 2160]"},
        BadConfig{"FpsTooLow", "[camera]\nfps = 0\n", 2, "camera.fps",
                  "camera.fps = 0 is out of range [1, 120]"},
        BadConfig{"FpsTooHigh", "[camera]\nfps = 121\n", 2, "camera.fps",
                  "camera.fps = 121 is out of range [1, 120]"},
        BadConfig{"StallTimeoutTooLow", "[camera]\nstall_timeout_ms = 199\n", 2,
                  "camera.stall_timeout_ms", "= 199 is out of range [200, 5000]"},
        BadConfig{"ReconnectMinTooLow", "[camera]\nreconnect_min_ms = 99\n", 2,
                  "camera.reconnect_min_ms", "= 99 is out of range [100, 60000]"},
        BadConfig{"ReconnectMaxTooHigh", "[camera]\nreconnect_max_ms = 600001\n", 2,
                  "camera.reconnect_max_ms", "= 600001 is out of range [100, 600000]"},
        BadConfig{"DebounceNegative", "[badge]\ndebounce_ms = -1\n", 2, "badge.debounce_ms",
                  "badge.debounce_ms = -1 is out of range [0, 600000]"},
        BadConfig{"ValidDaysZero", "[badge]\nvalid_days = 0\n", 2, "badge.valid_days",
                  "= 0 is out of range [1, 3660]"},
        BadConfig{"ValidDaysTooHigh", "[badge]\nvalid_days = 3661\n", 2, "badge.valid_days",
                  "= 3661 is out of range [1, 3660]"},
        BadConfig{"WindowTooShort", "[face]\nwindow_ms = 499\n", 2, "face.window_ms",
                  "= 499 is out of range [500, 20000]"},
        BadConfig{"FramesTooMany", "[face]\nframes = 16\n", 2, "face.frames",
                  "face.frames = 16 is out of range [1, 15]"},
        BadConfig{"MinFaceTooSmall", "[face]\nmin_face_px = 39\n", 2, "face.min_face_px",
                  "= 39 is out of range [40, 1000]"},
        BadConfig{"DetectMaxSideTooLarge", "[face]\ndetect_max_side = 4097\n", 2,
                  "face.detect_max_side", "= 4097 is out of range [80, 4096]"},
        BadConfig{"BuzzerLineNotConnected", "[gpio]\nbuzzer_line = -1\n", 2, "gpio.buzzer_line",
                  "gpio.buzzer_line = -1 is out of range [0, 1023]"},
        BadConfig{"GreenLineTooLow", "[gpio]\ngreen_line = -2\n", 2, "gpio.green_line",
                  "gpio.green_line = -2 is out of range [-1, 1023]; -1 = not connected"},
        BadConfig{"AckLineTooHigh", "[gpio]\nack_button_line = 1024\n", 2, "gpio.ack_button_line",
                  "= 1024 is out of range [-1, 1023]"},
        BadConfig{"RetentionZero", "[audit]\nretention_days = 0\n", 2, "audit.retention_days",
                  "audit.retention_days = 0 is out of range [1, 3650]"},
        BadConfig{"RetentionTooLong", "[audit]\nretention_days = 3651\n", 2, "audit.retention_days",
                  "= 3651 is out of range [1, 3650]"},
        // The threshold.
        BadConfig{"ThresholdZero", "[face]\nthreshold = 0\n", 2, "face.threshold",
                  "face.threshold = 0 is out of range (0, 2]"},
        BadConfig{"ThresholdZeroFloat", "[face]\nthreshold = 0.0\n", 2, "face.threshold",
                  "face.threshold = 0.0 is out of range (0, 2]"},
        BadConfig{"ThresholdNegative", "[face]\nthreshold = -0.5\n", 2, "face.threshold",
                  "face.threshold = -0.5 is out of range (0, 2]"},
        BadConfig{"ThresholdTooHigh", "[face]\nthreshold = 2.5\n", 2, "face.threshold",
                  "face.threshold = 2.5 is out of range (0, 2]"},
        BadConfig{"ThresholdNan", "[face]\nthreshold = nan\n", 2, "face.threshold",
                  "face.threshold = nan is out of range (0, 2]"},
        BadConfig{"ThresholdInfinite", "[face]\nthreshold = inf\n", 2, "face.threshold",
                  "face.threshold = inf is out of range (0, 2]"},
        // Enums.
        BadConfig{"FusionUnknown", "[face]\nfusion = \"mean\"\n", 2, "face.fusion",
                  "face.fusion = \"mean\" is not one of \"median\", \"best\""},
        BadConfig{"FusionWrongCase", "[face]\nfusion = \"Median\"\n", 2, "face.fusion",
                  "is not one of \"median\", \"best\""},
        // A window that can never hold a decision's frames: every passage would time out.
        BadConfig{"WindowTooShortForTheFramesAtTheCameraRate",
                  "[camera]\nfps = 5\n[face]\nwindow_ms = 1000\n", 4, "face.window_ms",
                  "face.window_ms = 1000 is too short: a decision needs 8 frames of one face (the "
                  "larger of face.frames and liveness.frames), which take 1600 ms at camera.fps "
                  "= 5; make it at least 1600"},
        BadConfig{"WindowTooShortWithoutLiveness",
                  "[camera]\nfps = 1\n[face]\nframes = 4\n[liveness]\nenabled = false\n", 2,
                  "face.window_ms",
                  "face.window_ms = 3000 is too short: a decision needs 4 frames of one face "
                  "(face.frames), which take 4000 ms"},
        BadConfig{"StorageModeUnknown", "[storage]\nmode = \"plain\"\n", 2, "storage.mode",
                  "storage.mode = \"plain\" is not one of \"sealed\", \"on-badge\""},
        BadConfig{"BackendUnknown", "[gpio]\nbackend = \"sysfs\"\n", 2, "gpio.backend",
                  "is not one of \"log\", \"gpiod\""},
        BadConfig{"LevelUnknown", "[logging]\nlevel = \"verbose\"\n", 2, "logging.level",
                  "is not one of \"trace\", \"debug\", \"info\", \"warn\", \"error\""},
        BadConfig{"TargetUnknown", "[logging]\ntarget = \"syslog\"\n", 2, "logging.target",
                  "is not one of \"auto\", \"journal\", \"stderr\""},
        // Strings.
        BadConfig{"GateIdWithASpace", "[gate]\nid = \"gate 1\"\n", 2, "gate.id",
                  "gate.id = \"gate 1\" contains ' '; expected 1 to 64 characters of A-Z a-z 0-9 "
                  ". _ -"},
        BadConfig{"GateIdWithASlash", "[gate]\nid = \"../x\"\n", 2, "gate.id", "contains '/'"},
        BadConfig{"GateIdEmpty", "[gate]\nid = \"\"\n", 2, "gate.id", "gate.id must not be empty"},
        BadConfig{"GateIdTooLong", "[gate]\nid = \"" + std::string(65, 'g') + "\"\n", 2, "gate.id",
                  "(65 characters) is too long; expected 1 to 64 characters"},
        BadConfig{"CameraSourceEmpty", "[camera]\nsource = \"\"\n", 2, "camera.source",
                  "camera.source must not be empty"},
        BadConfig{"CameraSourceTooLong", "[camera]\nsource = \"" + std::string(1025, 's') + "\"\n",
                  2, "camera.source", "(1025 characters) is too long"},
        BadConfig{"CameraSourceWithANewline", "[camera]\nsource = \"0\\n\"\n", 2, "camera.source",
                  "camera.source = \"0\\n\" contains a control character (U+000A)"},
        BadConfig{"ChipEmpty", "[gpio]\nchip = \"\"\n", 2, "gpio.chip",
                  "gpio.chip must not be empty"},
        BadConfig{"PublicKeyEmpty", "[badge]\npublic_key = \"\"\n", 2, "badge.public_key",
                  "badge.public_key must not be empty"},
        BadConfig{"PathWithANulCharacter", "[storage]\ndatabase = \"a\\u0000b\"\n", 2,
                  "storage.database", "contains a control character (U+0000)"},
        // Cross-field checks.
        BadConfig{"ReconnectMaxBelowMin",
                  "[camera]\nreconnect_min_ms = 5000\nreconnect_max_ms = 1000\n", 3,
                  "camera.reconnect_max_ms",
                  "camera.reconnect_max_ms = 1000 is less than camera.reconnect_min_ms = 5000"},
        BadConfig{"ReconnectMinAboveTheDefaultMax", "[camera]\nreconnect_min_ms = 40000\n", 2,
                  "camera.reconnect_min_ms",
                  "camera.reconnect_max_ms = 30000 (the default) is less than "
                  "camera.reconnect_min_ms = 40000"},
        BadConfig{"GpioLinesShared", "[gpio]\nbuzzer_line = 5\nred_line = 6\ngreen_line = 5\n", 4,
                  "gpio.green_line",
                  "gpio.green_line = 5 is the same line as gpio.buzzer_line; each GPIO line can "
                  "serve only one purpose"},
        BadConfig{"GpioLineSharedWithTheDefaultBuzzer", "[gpio]\nack_button_line = 17\n", 2,
                  "gpio.ack_button_line", "is the same line as gpio.buzzer_line"},
        BadConfig{"GpioLinesSharedWrittenInReverse", "[gpio]\nred_line = 3\nbuzzer_line = 3\n", 3,
                  "gpio.buzzer_line", "gpio.buzzer_line = 3 is the same line as gpio.red_line"},
        BadConfig{"OnBadgeWithoutTemplateKey", "[gate]\n[storage]\nmode = \"on-badge\"\n", 3,
                  "storage.mode", "storage.mode = \"on-badge\" needs badge.template_key"},
        BadConfig{"OnBadgeWithAnEmptyTemplateKey",
                  "[badge]\ntemplate_key = \"\"\n[storage]\nmode = \"on-badge\"\n", 4,
                  "storage.mode", "needs badge.template_key"},
        // Patterns.
        BadConfig{"PatternEmpty", "[gpio.patterns]\ngranted = []\n", 2, "gpio.patterns.granted",
                  "gpio.patterns.granted has 0 entries; a pattern is 1 to 16 alternating on/off "
                  "durations in ms"},
        BadConfig{"PatternTooLong",
                  "[gpio.patterns]\nspoof = [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, "
                  "10, 10, 10, 10]\n",
                  2, "gpio.patterns.spoof", "gpio.patterns.spoof has 17 entries"},
        BadConfig{"PatternEntryTooShort", "[gpio.patterns]\ntimeout = [300, 5, 300]\n", 2,
                  "gpio.patterns.timeout[1]",
                  "gpio.patterns.timeout[1] = 5 is out of range [10, 5000] (ms)"},
        BadConfig{"PatternEntryTooLong", "[gpio.patterns]\ntimeout = [5001]\n", 2,
                  "gpio.patterns.timeout[0]", "= 5001 is out of range [10, 5000] (ms)"},
        BadConfig{"PatternEntryOnItsOwnLine", "[gpio.patterns]\ngranted = [\n  80,\n  5,\n]\n", 4,
                  "gpio.patterns.granted[1]", "= 5 is out of range"},
        BadConfig{"PatternEntryNotAnInteger", "[gpio.patterns]\nmismatch = [400, \"loud\"]\n", 2,
                  "gpio.patterns.mismatch[1]",
                  "gpio.patterns.mismatch[1] must be an integer (a duration in ms), got string "
                  "\"loud\""},
        BadConfig{"PatternEntryAFloat", "[gpio.patterns]\ngranted = [80.5]\n", 2,
                  "gpio.patterns.granted[0]", "must be an integer (a duration in ms), got float"},
        // TOML syntax: duplicates are toml++'s to report, with line and column.
        BadConfig{"DuplicateKey", "[camera]\nfps = 30\nwidth = 640\nfps = 25\n", 4, "'fps'",
                  "facegate.toml:4:"},
        BadConfig{"DuplicateTable", "[face]\nframes = 3\n[face]\nframes = 4\n", 3, "'face'",
                  "invalid TOML"},
        BadConfig{"DuplicateKeyThroughADottedKey",
                  "[gpio]\npatterns.granted = [1]\n"
                  "[gpio.patterns]\ngranted = [80]\n",
                  3, "'gpio.patterns'", "invalid TOML"},
        BadConfig{"UnclosedTableHeader", "[gate]\nid = \"a\"\n[camera\nwidth = 640\n", 3,
                  "facegate.toml:3:8:", "invalid TOML: Error while parsing table header"},
        BadConfig{"MissingValue", "[camera]\nwidth =\n", 2, "facegate.toml:2:8", "invalid TOML"},
        BadConfig{"UnterminatedString", "[gate]\n\nid = \"gate-1\n", 3,
                  "facegate.toml:3:", "invalid TOML"}),
    [](const testing::TestParamInfo<BadConfig>& p) { return p.param.name; });

// ---- Many mistakes, one report ----

TEST(Parse, ReportsEveryProblemOfAFileInFileOrder) {
  const std::string message = errorOf(R"([gate]
id = "main entrance"
[camera]
widht = 640
fps = "30"
reconnect_min_ms = 5000
reconnect_max_ms = 1000
[face]
threshold = 2.5
fusion = "mean"
[gpio]
green_line = 17
[gpio.patterns]
granted = []
timeout = [300, 5]
[storage]
mode = "on-badge"
[printer]
)");
  const auto lines = linesOf(message);
  const std::vector<std::string> expected = {
      "facegate.toml:2: gate.id",
      "facegate.toml:4: unknown key camera.widht (did you mean camera.width?)",
      "facegate.toml:5: camera.fps must be an integer",
      "facegate.toml:7: camera.reconnect_max_ms = 1000 is less than",
      "facegate.toml:9: face.threshold = 2.5 is out of range (0, 2]",
      "facegate.toml:10: face.fusion = \"mean\" is not one of",
      "facegate.toml:12: gpio.green_line = 17 is the same line as gpio.buzzer_line",
      "facegate.toml:14: gpio.patterns.granted has 0 entries",
      "facegate.toml:15: gpio.patterns.timeout[1] = 5 is out of range",
      "facegate.toml:17: storage.mode = \"on-badge\" needs badge.template_key",
      "facegate.toml:18: unknown key printer",
  };
  ASSERT_EQ(lines.size(), expected.size()) << message;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(lines[i].rfind(expected[i], 0), 0u) << "line " << i << " of:\n" << message;
  }
}

TEST(Parse, AnInvalidValueKeepsItsDefaultOutOfCrossChecks) {
  // reconnect_max_ms is rejected for its own range; it must not also be compared, as the
  // default 30000, with reconnect_min_ms.
  const std::string message = errorOf(
      "[camera]\nreconnect_min_ms = 40000\n"
      "reconnect_max_ms = 700000\n");
  EXPECT_EQ(linesOf(message).size(), 1u) << message;
  EXPECT_EQ(contains(message, "facegate.toml:3: camera.reconnect_max_ms = 700000"), "");

  const std::string lines = errorOf("[gpio]\nbuzzer_line = 5000\ngreen_line = 17\n");
  EXPECT_EQ(linesOf(lines).size(), 1u) << lines;
}

TEST(Parse, LongValuesAreCutInMessages) {
  const std::string message = errorOf("[face]\nfusion = \"" + std::string(500, 'x') + "\"\n");
  EXPECT_LT(message.size(), 200u) << message;
  EXPECT_EQ(contains(message, "(500 characters)"), "");
}

TEST(Parse, SourceNameIsUsedInMessages) {
  const auto config = parseConfig("[camera]\nfps = 0\n", "/etc/facegate/gate.toml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message.rfind("/etc/facegate/gate.toml:2: camera.fps", 0), 0u)
      << config.error().message;
}

// ---- Files ----

TEST(Load, MissingFileIsNamed) {
  test::TempDir dir;
  const auto config = loadConfig(dir / "facegate.toml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, ErrorCode::FileNotFound);
  EXPECT_EQ(contains(config.error().message,
                     "configuration file " + (dir / "facegate.toml").string() + " does not exist"),
            "");
}

TEST(Load, DirectoryIsNotAConfigFile) {
  test::TempDir dir;
  const auto config = loadConfig(dir.path());
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, ErrorCode::FileUnreadable);
  EXPECT_EQ(contains(config.error().message, dir.path().string() + " is a directory, not a file"),
            "");
}

TEST(Load, OversizedFileIsRefusedBeforeParsing) {
  test::TempDir dir;
  // Valid TOML (all comments), one byte over the limit.
  std::string text;
  while (text.size() < kMaxConfigFileBytes) {
    text += "# padding padding padding padding padding padding padding padding padding\n";
  }
  text.resize(kMaxConfigFileBytes);
  text.back() = '\n';
  test::writeFile(dir / "exact.toml", text);
  const auto exact = loadConfig(dir / "exact.toml");
  ASSERT_TRUE(exact) << exact.error().message;

  test::writeFile(dir / "big.toml", text + "\n");
  const auto big = loadConfig(dir / "big.toml");
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(contains(big.error().message, (dir / "big.toml").string() + " is 1048577 bytes"), "");
  EXPECT_EQ(contains(big.error().message, "at most 1 MiB"), "");
}

// Root reads any file whatever its mode, and CI runs as root: the check runs as an
// unprivileged user (runUnprivileged), on a file of its own that its mode forbids it to
// read, next to one it may read (so that a directory it cannot enter fails the test).
TEST(Load, UnreadableFileIsNamed) {
  test::TempDir dir;
  test::writeFile(dir / "facegate.toml", "[gate]\n");
  test::writeFile(dir / "readable.toml", "[gate]\n");
  test::giveToUnprivilegedUser(dir / "facegate.toml");
  test::giveToUnprivilegedUser(dir / "readable.toml");
  fs::permissions(dir / "facegate.toml", fs::perms::none);
  const std::string found = test::runUnprivileged([&] {
    if (auto readable = loadConfig(dir / "readable.toml"); !readable) {
      return "the readable file was refused: " + readable.error().message;
    }
    const auto config = loadConfig(dir / "facegate.toml");
    return config ? std::string("accepted")
                  : fmt::format("{}: {}", toString(config.error().code), config.error().message);
  });
  EXPECT_EQ(contains(found, "file-unreadable: cannot read configuration file " +
                                (dir / "facegate.toml").string()),
            "");
  EXPECT_EQ(contains(found, "Permission denied"), "");
}

TEST(Load, SpecialFileIsNotAConfigFile) {
  test::TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  const auto config = loadConfig(dir / "fifo");  // must not block waiting for a writer
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, ErrorCode::FileUnreadable);
  EXPECT_EQ(contains(config.error().message, (dir / "fifo").string() + " is not a regular file"),
            "");
}

TEST(Load, ErrorsNameTheFileAsGiven) {
  test::TempDir dir;
  test::writeFile(dir / "gate.toml", "[camera]\nfps = 500\n");
  const auto config = loadConfig(dir / "gate.toml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(config.error().message,
            (dir / "gate.toml").string() + ":2: camera.fps = 500 is out of range [1, 120]");
}

TEST(Load, SyntaxErrorsNameTheFileLineAndColumn) {
  test::TempDir dir;
  test::writeFile(dir / "gate.toml", "[camera]\nfps = 30\nfps = 25\n");
  const auto config = loadConfig(dir / "gate.toml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message.rfind((dir / "gate.toml").string() + ":3:", 0), 0u)
      << config.error().message;
}

TEST(Load, RelativePathsResolveAgainstTheConfigDirectory) {
  test::TempDir dir;
  fs::create_directories(dir / "etc");
  test::writeFile(dir / "etc" / "facegate.toml", R"(
[badge]
public_key = "keys/school.pub"
template_key = "../secret/template.key"
[face]
models_dir = "./models"
[storage]
database = "/var/lib/facegate/gate.db"
)");
  const auto config = loadConfig(dir / "etc" / "facegate.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->badge.publicKey, dir / "etc" / "keys" / "school.pub");
  EXPECT_EQ(config->badge.templateKey, dir / "secret" / "template.key");
  EXPECT_EQ(config->face.modelsDir, dir / "etc" / "models");
  EXPECT_EQ(config->storage.database, fs::path("/var/lib/facegate/gate.db"));  // absolute: kept
}

TEST(Load, EmptyOptionalPathsStayEmpty) {
  test::TempDir dir;
  test::writeFile(dir / "facegate.toml",
                  "[badge]\ntemplate_key = \"\"\n[face]\nmodels_dir = \"\"\n");
  const auto config = loadConfig(dir / "facegate.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_TRUE(config->badge.templateKey.empty());
  EXPECT_TRUE(config->face.modelsDir.empty());
}

TEST(Load, RelativeConfigPathResolvesAgainstItsOwnDirectory) {
  // A config named relative to the working directory: its relative paths are still taken from
  // the config's directory, and come out absolute.
  test::TempDir dir;
  fs::create_directories(dir / "conf");
  test::writeFile(dir / "conf" / "facegate.toml", "[storage]\ndatabase = \"gate.db\"\n");
  const fs::path before = fs::current_path();
  fs::current_path(dir.path());
  const auto config = loadConfig("conf/facegate.toml");
  fs::current_path(before);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_TRUE(config->storage.database.is_absolute()) << config->storage.database;
  EXPECT_TRUE(fs::equivalent(config->storage.database.parent_path(), dir / "conf"));
  EXPECT_EQ(config->storage.database.filename(), "gate.db");
}

}  // namespace
}  // namespace facegate::config
