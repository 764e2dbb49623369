#pragma once

// A strict reader of TOML configuration files, knowing nothing of facegate's keys: the
// schema (config.cpp) names each table and key it accepts through Table's accessors, and
// this reader checks types and ranges, collects every problem of a file with its line, and
// names the keys no accessor asked for with a "did you mean" for near misses. Private to the
// config module.

#include <array>
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace facegate::config {

// Longer than PATH_MAX cannot name a file or a device on Linux.
inline constexpr std::size_t kMaxPathChars = 4096;

// A choice's TOML spelling and its value.
template <typename E>
struct Spelling {
  std::string_view text;
  E value;
};

template <typename E, std::size_t N>
std::string_view spell(const std::array<Spelling<E>, N>& spellings, E value) noexcept {
  for (const auto& spelling : spellings) {
    if (spelling.value == value) {
      return spelling.text;
    }
  }
  return "unknown";
}

// `text` with its control characters escaped (quotes left as they are), for one-line
// messages.
std::string withoutControls(std::string_view text);
// `text` as a TOML basic string, cut to a readable length.
std::string tomlString(std::string_view text);
// A dotted key path as it would be written in TOML: `camera.width`, `gpio."odd key"`.
std::string keyPath(std::string_view parent, std::string_view key);
// "integer 30", "string \"thirty\"", "table".
std::string describe(const toml::node& node);

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
  std::string message() const;

 private:
  std::vector<std::string> warnings_;

  std::string describeUnknownKey(const UnknownKey& unknown) const;

  std::string sourceName_;
  std::vector<Problem> problems_;
  std::vector<UnknownKey> unknownKeys_;
  std::map<std::string, std::vector<std::string>> knownKeys_;
};

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

// What an array of integers may hold.
struct IntegersRule {
  std::size_t maxEntries = 1;  // at least one entry, at most this many
  int min = 0;
  int max = 0;
  std::string_view entries;  // what the entries are: "on/off durations in ms"
  std::string_view entry;    // what one entry is: "a duration in ms"
  std::string_view unit;     // after a range: " (ms)"
  std::string expected;      // what the whole array must be, for a wrong number of entries
};

// One TOML table of a schema. Each accessor names a key the table may hold; when the key is
// present it is checked and, if valid, stored into `out`. finish() then reports every key no
// accessor named. A table that is absent (or not a table) reads as empty.
class Table {
 public:
  Table(Problems& problems, const toml::table* table, std::string path)
      : problems_(problems), table_(table), path_(std::move(path)) {}

  Table table(std::string_view key);

  Field integer(std::string_view key, int& out, int min, int max, std::string_view note = {});

  // A float (an integer is taken as a float too) in (minExclusive, max].
  Field number(std::string_view key, double& out, double minExclusive, double max);

  Field boolean(std::string_view key, bool& out);

  Field text(std::string_view key, std::string& out, const TextRule& rule);

  Field path(std::string_view key, std::filesystem::path& out, bool mayBeEmpty);

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

  // An array of 1..rule.maxEntries integers, each in [rule.min, rule.max].
  Field integers(std::string_view key, std::vector<int>& out, const IntegersRule& rule);

  // Reports the keys of the table that no accessor named.
  void finish();

  std::string pathOf(std::string_view key) const { return keyPath(path_, key); }

 private:
  const toml::node* find(std::string_view key);

  Field valid(const toml::node& node) { return {Field::State::Valid, node.source().begin.line}; }

  Field invalid(const toml::node& node, std::string text);

  Field wrongType(std::string_view key, const toml::node& node, std::string_view expected);

  Problems& problems_;
  const toml::table* table_;
  std::string path_;
  std::vector<std::string> known_;
};

}  // namespace facegate::config
