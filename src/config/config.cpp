#include "facegate/config/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace facegate::config {
namespace fs = std::filesystem;

namespace {

// Values longer than this are cut in messages: a message is one line of a terminal.
constexpr std::size_t kMaxShownChars = 60;
// "Did you mean" only for near misses: a typo, a swapped pair, a missing letter.
constexpr std::size_t kMaxSuggestionDistance = 2;
// Longer than PATH_MAX cannot name a file or a device on Linux.
constexpr std::size_t kMaxPathChars = 4096;
constexpr std::size_t kMaxGateIdChars = 64;
constexpr std::size_t kMaxCameraSourceChars = 1024;
constexpr int kMaxGpioLine = 1023;

template <typename E>
struct Spelling {
  std::string_view text;
  E value;
};

constexpr std::array<Spelling<StorageMode>, 2> kStorageModes{{
    {"sealed", StorageMode::Sealed},
    {"on-badge", StorageMode::OnBadge},
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
constexpr std::array<Spelling<LogLevel>, 5> kLogLevels{{
    {"trace", LogLevel::Trace},
    {"debug", LogLevel::Debug},
    {"info", LogLevel::Info},
    {"warn", LogLevel::Warn},
    {"error", LogLevel::Error},
}};
constexpr std::array<Spelling<LogTarget>, 3> kLogTargets{{
    {"auto", LogTarget::Auto},
    {"journal", LogTarget::Journal},
    {"stderr", LogTarget::Stderr},
}};

template <typename E, std::size_t N>
std::string_view spell(const std::array<Spelling<E>, N>& spellings, E value) noexcept {
  for (const auto& spelling : spellings) {
    if (spelling.value == value) {
      return spelling.text;
    }
  }
  return "unknown";
}

// ---- How values and keys are shown in messages ----

bool isControl(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == '\x7f';
}

bool isUtf8Continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::size_t countChars(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !isUtf8Continuation(c); }));
}

std::string escapedChar(char c) {
  switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\t': return "\\t";
    case '\r': return "\\r";
    default: break;
  }
  if (isControl(c)) {
    return fmt::format("\\u{:04X}", static_cast<unsigned>(static_cast<unsigned char>(c)));
  }
  return std::string(1, c);
}

// `text` with its control characters escaped (quotes left as they are): toml++'s
// description of a syntax error quotes the offending input verbatim, newlines included,
// which would break the one-line-per-problem message.
std::string withoutControls(std::string_view text) {
  std::string out;
  for (const char c : text) {
    out += isControl(c) ? escapedChar(c) : std::string(1, c);
  }
  return out;
}

// `text` as a TOML basic string, cut after kMaxShownChars bytes (on a UTF-8 boundary).
std::string tomlString(std::string_view text) {
  std::size_t shown = std::min(text.size(), kMaxShownChars);
  while (shown > 0 && shown < text.size() && isUtf8Continuation(text[shown])) {
    --shown;
  }
  std::string out = "\"";
  for (const char c : text.substr(0, shown)) {
    out += escapedChar(c);
  }
  out += '"';
  if (shown < text.size()) {
    out += fmt::format("... ({} characters)", countChars(text));
  }
  return out;
}

bool isBareKey(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// A dotted key path as it would be written in TOML: `camera.width`, `gpio."odd key"`.
std::string keyPath(std::string_view parent, std::string_view key) {
  const std::string part = isBareKey(key) ? std::string(key) : tomlString(key);
  return parent.empty() ? part : fmt::format("{}.{}", parent, part);
}

std::string_view typeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

// The value as written in TOML, on one line and cut to a readable length.
std::string valueText(const toml::node& node) {
  if (const auto* text = node.as_string()) {
    return tomlString(text->get());
  }
  std::ostringstream os;
  node.visit([&os](const auto& value) { os << value; });
  std::string out;
  for (const char c : os.str()) {
    if (c == '\n' || c == '\r' || c == '\t') {
      if (!out.empty() && out.back() != ' ') {
        out += ' ';
      }
    } else {
      out += c;
    }
  }
  if (out.size() > kMaxShownChars) {
    out.resize(kMaxShownChars);
    out += "...";
  }
  return out;
}

// "integer 30", "string \"thirty\"", "table".
std::string describe(const toml::node& node) {
  if (node.is_table()) {
    return "table";
  }
  return fmt::format("{} {}", typeName(node), valueText(node));
}

// ---- "Did you mean" ----

std::string lowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

// Lower case without separators: stallTimeoutMs, stall-timeout-ms and stall_timeout_ms meet.
std::string folded(std::string_view text) {
  std::string out = lowered(text);
  std::erase_if(out, [](char c) { return c == '_' || c == '-'; });
  return out;
}

// Optimal string alignment distance, case-insensitive: insertions, deletions, substitutions
// and swaps of two neighbours each count 1 ("widht" is 1 away from "width").
std::size_t editDistance(std::string_view aText, std::string_view bText) {
  const std::string a = lowered(aText);
  const std::string b = lowered(bText);
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::size_t keyDistance(std::string_view written, std::string_view known) {
  if (folded(written) == folded(known)) {
    return 0;
  }
  const std::size_t lengthGap =
      written.size() > known.size() ? written.size() - known.size() : known.size() - written.size();
  if (lengthGap > kMaxSuggestionDistance) {
    return lengthGap;  // a lower bound is enough: it is too far either way
  }
  return editDistance(written, known);
}

// ---- Collecting problems ----

struct Problem {
  toml::source_index line = 0;
  std::string text;
};

struct UnknownKey {
  std::string table;  // key path of the table holding it; empty for the top level
  std::string key;
  toml::source_index line = 0;
};

// Every problem found in one file, reported together in file order.
class Problems {
 public:
  explicit Problems(std::string_view sourceName) : sourceName_(sourceName) {}

  void add(const toml::node& where, std::string text) {
    add(where.source().begin.line, std::move(text));
  }
  void add(toml::source_index line, std::string text) {
    problems_.push_back({line, std::move(text)});
  }

  // The keys a table may hold, for the "did you mean" of unknown keys anywhere.
  void setKnownKeys(const std::string& table, std::vector<std::string> keys) {
    knownKeys_[table] = std::move(keys);
  }
  void addUnknownKey(UnknownKey unknown) { unknownKeys_.push_back(std::move(unknown)); }

  // Not a problem: the configuration is used, but the technician should hear about it.
  void warn(toml::source_index line, std::string_view text) {
    warnings_.push_back(fmt::format("{}:{}: {}", sourceName_, line, text));
  }
  const std::vector<std::string>& warnings() const { return warnings_; }

  bool empty() const { return problems_.empty() && unknownKeys_.empty(); }

  // One line per problem, ordered by line in the file.
  std::string message() const {
    std::vector<Problem> all = problems_;
    for (const auto& unknown : unknownKeys_) {
      all.push_back({unknown.line, describeUnknownKey(unknown)});
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const Problem& a, const Problem& b) { return a.line < b.line; });
    std::string out;
    for (const auto& problem : all) {
      if (!out.empty()) {
        out += '\n';
      }
      out += problem.line > 0 ? fmt::format("{}:{}: {}", sourceName_, problem.line, problem.text)
                              : fmt::format("{}: {}", sourceName_, problem.text);
    }
    return out;
  }

 private:
  std::vector<std::string> warnings_;

  std::string describeUnknownKey(const UnknownKey& unknown) const {
    const std::string path = keyPath(unknown.table, unknown.key);
    const auto known = knownKeys_.find(unknown.table);
    const std::vector<std::string> none;
    const std::vector<std::string>& siblings = known != knownKeys_.end() ? known->second : none;

    // A near miss in the same table first, the first of equally near ones (schema order).
    const std::string* best = nullptr;
    std::size_t bestDistance = kMaxSuggestionDistance + 1;
    for (const auto& candidate : siblings) {
      const std::size_t distance = keyDistance(unknown.key, candidate);
      if (distance < bestDistance) {
        best = &candidate;
        bestDistance = distance;
      }
    }
    if (best != nullptr) {
      return fmt::format("unknown key {} (did you mean {}?)", path, keyPath(unknown.table, *best));
    }
    // Then the same key written in the wrong table, e.g. `threshold` outside [face].
    for (const auto& [table, keys] : knownKeys_) {
      for (const auto& candidate : keys) {
        if (table != unknown.table && folded(candidate) == folded(unknown.key)) {
          return fmt::format("unknown key {} (did you mean {}?)", path, keyPath(table, candidate));
        }
      }
    }
    if (siblings.empty()) {
      return fmt::format("unknown key {}", path);
    }
    if (unknown.table.empty()) {
      return fmt::format("unknown key {}; the known tables are [{}]", path,
                         fmt::join(siblings, "], ["));
    }
    return fmt::format("unknown key {}; the keys of [{}] are {}", path, unknown.table,
                       fmt::join(siblings, ", "));
  }

  std::string sourceName_;
  std::vector<Problem> problems_;
  std::vector<UnknownKey> unknownKeys_;
  std::map<std::string, std::vector<std::string>> knownKeys_;
};

// ---- Reading one table ----

// What became of one key: absent (the default stays), valid (stored) or invalid (reported,
// the default stays). Cross-field checks skip keys already reported as invalid.
struct Field {
  enum class State { Absent, Valid, Invalid };
  State state = State::Absent;
  toml::source_index line = 0;

  bool given() const { return state != State::Absent; }
  bool invalid() const { return state == State::Invalid; }
};

// What a string key may hold.
struct TextRule {
  std::size_t minChars = 0;
  std::size_t maxChars = kMaxPathChars;
  bool (*allowedChar)(char) = nullptr;  // nullptr: anything but control characters
  std::string_view expected;            // what is allowed, for the message
};

bool isIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string showChar(char c) {
  if (isControl(c)) {
    return fmt::format("a control character (U+{:04X})",
                       static_cast<unsigned>(static_cast<unsigned char>(c)));
  }
  return fmt::format("'{}'", c);
}

// One TOML table of the schema. Each accessor names a key the table may hold; when the key is
// present it is checked and, if valid, stored into `out`. finish() then reports every key no
// accessor named. A table that is absent (or not a table) reads as empty.
class Table {
 public:
  Table(Problems& problems, const toml::table* table, std::string path)
      : problems_(problems), table_(table), path_(std::move(path)) {}

  Table table(std::string_view key) {
    const toml::node* node = find(key);
    if (node == nullptr) {
      return Table(problems_, nullptr, pathOf(key));
    }
    if (!node->is_table()) {
      wrongType(key, *node, "a table");
      return Table(problems_, nullptr, pathOf(key));
    }
    return Table(problems_, node->as_table(), pathOf(key));
  }

  Field integer(std::string_view key, int& out, int min, int max, std::string_view note = {}) {
    const toml::node* node = find(key);
    if (node == nullptr) {
      return {};
    }
    const auto* value = node->as_integer();
    if (value == nullptr) {
      return wrongType(key, *node, "an integer");
    }
    const std::int64_t v = value->get();
    if (v < min || v > max) {
      return invalid(*node, fmt::format("{} = {} is out of range [{}, {}]{}{}", pathOf(key), v, min,
                                        max, note.empty() ? "" : "; ", note));
    }
    out = static_cast<int>(v);
    return valid(*node);
  }

  // A float (an integer is taken as a float too) in (minExclusive, max].
  Field number(std::string_view key, double& out, double minExclusive, double max) {
    const toml::node* node = find(key);
    if (node == nullptr) {
      return {};
    }
    double v = 0;
    if (const auto* f = node->as_floating_point()) {
      v = f->get();
    } else if (const auto* i = node->as_integer()) {
      v = static_cast<double>(i->get());
    } else {
      return wrongType(key, *node, "a number");
    }
    if (!(v > minExclusive && v <= max)) {  // written so that nan fails too
      return invalid(*node, fmt::format("{} = {} is out of range ({}, {}]", pathOf(key),
                                        valueText(*node), minExclusive, max));
    }
    out = v;
    return valid(*node);
  }

  Field boolean(std::string_view key, bool& out) {
    const toml::node* node = find(key);
    if (node == nullptr) {
      return {};
    }
    const auto* value = node->as_boolean();
    if (value == nullptr) {
      return wrongType(key, *node, "a boolean (true or false)");
    }
    out = value->get();
    return valid(*node);
  }

  Field text(std::string_view key, std::string& out, const TextRule& rule) {
    const toml::node* node = find(key);
    if (node == nullptr) {
      return {};
    }
    const auto* value = node->as_string();
    if (value == nullptr) {
      return wrongType(key, *node, "a string");
    }
    const std::string& v = value->get();
    const std::size_t chars = countChars(v);
    if (chars < rule.minChars) {
      return invalid(*node,
                     fmt::format("{} must not be empty; expected {}", pathOf(key), rule.expected));
    }
    if (chars > rule.maxChars) {
      return invalid(*node, fmt::format("{} = {} is too long; expected {}", pathOf(key),
                                        tomlString(v), rule.expected));
    }
    for (const char c : v) {
      if (isControl(c) || (rule.allowedChar != nullptr && !rule.allowedChar(c))) {
        return invalid(*node, fmt::format("{} = {} contains {}; expected {}", pathOf(key),
                                          tomlString(v), showChar(c), rule.expected));
      }
    }
    out = v;
    return valid(*node);
  }

  Field path(std::string_view key, fs::path& out, bool mayBeEmpty) {
    static constexpr TextRule kRequired{1, kMaxPathChars, nullptr,
                                        "a file path of 1 to 4096 characters"};
    static constexpr TextRule kOptional{0, kMaxPathChars, nullptr,
                                        "a file path of at most 4096 characters, or \"\" for none"};
    std::string text;
    const Field field = this->text(key, text, mayBeEmpty ? kOptional : kRequired);
    if (field.state == Field::State::Valid) {
      out = text;
    }
    return field;
  }

  template <typename E, std::size_t N>
  Field choice(std::string_view key, E& out, const std::array<Spelling<E>, N>& spellings) {
    const toml::node* node = find(key);
    if (node == nullptr) {
      return {};
    }
    std::vector<std::string> allowed;
    allowed.reserve(N);
    for (const auto& spelling : spellings) {
      allowed.push_back(tomlString(spelling.text));
    }
    const auto* value = node->as_string();
    if (value == nullptr) {
      return wrongType(key, *node, fmt::format("one of {}", fmt::join(allowed, ", ")));
    }
    for (const auto& spelling : spellings) {
      if (value->get() == spelling.text) {
        out = spelling.value;
        return valid(*node);
      }
    }
    return invalid(*node, fmt::format("{} = {} is not one of {}", pathOf(key),
                                      tomlString(value->get()), fmt::join(allowed, ", ")));
  }

  // An array of 1..kMaxPatternEntries integers, each kMinPatternMs..kMaxPatternMs.
  Field pattern(std::string_view key, Pattern& out) {
    const toml::node* node = find(key);
    if (node == nullptr) {
      return {};
    }
    const auto* array = node->as_array();
    if (array == nullptr) {
      return wrongType(key, *node, "an array of integers (on/off durations in ms)");
    }
    const std::string expected =
        fmt::format("a pattern is 1 to {} alternating on/off durations in ms, starting with on",
                    kMaxPatternEntries);
    if (array->empty() || array->size() > kMaxPatternEntries) {
      return invalid(*node,
                     fmt::format("{} has {} entries; {}", pathOf(key), array->size(), expected));
    }
    Pattern pattern;
    bool ok = true;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& entry = *array->get(i);
      const std::string entryPath = fmt::format("{}[{}]", pathOf(key), i);
      const auto* value = entry.as_integer();
      if (value == nullptr) {
        problems_.add(entry, fmt::format("{} must be an integer (a duration in ms), got {}",
                                         entryPath, describe(entry)));
        ok = false;
      } else if (value->get() < kMinPatternMs || value->get() > kMaxPatternMs) {
        problems_.add(entry, fmt::format("{} = {} is out of range [{}, {}] (ms)", entryPath,
                                         value->get(), kMinPatternMs, kMaxPatternMs));
        ok = false;
      } else {
        pattern.onOffMs.push_back(static_cast<int>(value->get()));
      }
    }
    if (!ok) {
      return {Field::State::Invalid, node->source().begin.line};
    }
    out = std::move(pattern);
    return valid(*node);
  }

  // Reports the keys of the table that no accessor named.
  void finish() {
    problems_.setKnownKeys(path_, known_);
    if (table_ == nullptr) {
      return;
    }
    for (const auto& [key, node] : *table_) {
      if (std::find(known_.begin(), known_.end(), key.str()) == known_.end()) {
        problems_.addUnknownKey({path_, std::string(key.str()), key.source().begin.line});
      }
    }
  }

  std::string pathOf(std::string_view key) const { return keyPath(path_, key); }

 private:
  const toml::node* find(std::string_view key) {
    known_.emplace_back(key);
    return table_ != nullptr ? table_->get(key) : nullptr;
  }

  Field valid(const toml::node& node) { return {Field::State::Valid, node.source().begin.line}; }

  Field invalid(const toml::node& node, std::string text) {
    problems_.add(node, std::move(text));
    return {Field::State::Invalid, node.source().begin.line};
  }

  Field wrongType(std::string_view key, const toml::node& node, std::string_view expected) {
    return invalid(node,
                   fmt::format("{} must be {}, got {}", pathOf(key), expected, describe(node)));
  }

  Problems& problems_;
  const toml::table* table_;
  std::string path_;
  std::vector<std::string> known_;
};

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
  table.number("threshold", face.threshold, 0.0, 2.0);
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

  Table patterns = table.table("patterns");
  for (const std::string_view name : kPatternNames) {
    patterns.pattern(name, gpio.patterns[std::string(name)]);
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

std::map<std::string, Pattern> defaultPatterns() {
  // Short and happy for GRANTED; long, repeated and loud for what needs the supervisor.
  return {
      {"granted", {{80}}},
      {"manual_check", {{150, 100, 150}}},
      {"mismatch", {{400, 150, 400, 150, 400}}},
      {"reject_badge", {{800}}},
      {"timeout", {{300, 300, 300}}},
      {"spoof", {{400, 150, 400, 150, 400, 150, 400}}},
      {"out_of_service", {{1000, 1000}}},
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

  if (config.storage.mode == StorageMode::OnBadge && config.badge.templateKey.empty() &&
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

std::string_view toString(StorageMode mode) noexcept {
  return spell(kStorageModes, mode);
}
std::string_view toString(GpioBackend backend) noexcept {
  return spell(kGpioBackends, backend);
}
std::string_view toString(LogLevel level) noexcept {
  return spell(kLogLevels, level);
}
std::string_view toString(LogTarget target) noexcept {
  return spell(kLogTargets, target);
}

}  // namespace facegate::config
