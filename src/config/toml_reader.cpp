#include "toml_reader.hpp"

#include <algorithm>
#include <sstream>
#include <utility>

namespace facegate::config {
namespace {

// Values longer than this are cut in messages: a message is one line of a terminal.
constexpr std::size_t kMaxShownChars = 60;
// "Did you mean" only for near misses: a typo, a swapped pair, a missing letter.
constexpr std::size_t kMaxSuggestionDistance = 2;

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

bool isBareKey(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
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

std::string showChar(char c) {
  if (isControl(c)) {
    return fmt::format("a control character (U+{:04X})",
                       static_cast<unsigned>(static_cast<unsigned char>(c)));
  }
  return fmt::format("'{}'", c);
}

}  // namespace

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

// A dotted key path as it would be written in TOML: `camera.width`, `gpio."odd key"`.
std::string keyPath(std::string_view parent, std::string_view key) {
  const std::string part = isBareKey(key) ? std::string(key) : tomlString(key);
  return parent.empty() ? part : fmt::format("{}.{}", parent, part);
}

// "integer 30", "string \"thirty\"", "table".
std::string describe(const toml::node& node) {
  if (node.is_table()) {
    return "table";
  }
  return fmt::format("{} {}", typeName(node), valueText(node));
}

std::string Problems::message() const {
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

std::string Problems::describeUnknownKey(const UnknownKey& unknown) const {
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

Table Table::table(std::string_view key) {
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

Field Table::integer(std::string_view key, int& out, int min, int max, std::string_view note) {
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

Field Table::number(std::string_view key, double& out, double minExclusive, double max) {
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

Field Table::boolean(std::string_view key, bool& out) {
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

Field Table::text(std::string_view key, std::string& out, const TextRule& rule) {
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

Field Table::path(std::string_view key, std::filesystem::path& out, bool mayBeEmpty) {
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

Field Table::integers(std::string_view key, std::vector<int>& out, const IntegersRule& rule) {
  const toml::node* node = find(key);
  if (node == nullptr) {
    return {};
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    return wrongType(key, *node, fmt::format("an array of integers ({})", rule.entries));
  }
  if (array->empty() || array->size() > rule.maxEntries) {
    return invalid(*node,
                   fmt::format("{} has {} entries; {}", pathOf(key), array->size(), rule.expected));
  }
  std::vector<int> values;
  bool ok = true;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& entry = *array->get(i);
    const std::string entryPath = fmt::format("{}[{}]", pathOf(key), i);
    const auto* value = entry.as_integer();
    if (value == nullptr) {
      problems_.add(entry, fmt::format("{} must be an integer ({}), got {}", entryPath, rule.entry,
                                       describe(entry)));
      ok = false;
    } else if (value->get() < rule.min || value->get() > rule.max) {
      problems_.add(entry, fmt::format("{} = {} is out of range [{}, {}]{}", entryPath,
                                       value->get(), rule.min, rule.max, rule.unit));
      ok = false;
    } else {
      values.push_back(static_cast<int>(value->get()));
    }
  }
  if (!ok) {
    return {Field::State::Invalid, node->source().begin.line};
  }
  out = std::move(values);
  return valid(*node);
}

void Table::finish() {
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

const toml::node* Table::find(std::string_view key) {
  known_.emplace_back(key);
  return table_ != nullptr ? table_->get(key) : nullptr;
}

Field Table::invalid(const toml::node& node, std::string text) {
  problems_.add(node, std::move(text));
  return {Field::State::Invalid, node.source().begin.line};
}

Field Table::wrongType(std::string_view key, const toml::node& node, std::string_view expected) {
  return invalid(node, fmt::format("{} must be {}, got {}", pathOf(key), expected, describe(node)));
}

}  // namespace facegate::config
