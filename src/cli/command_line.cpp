#include "facegate/cli/command_line.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "facegate/core/terminal_text.hpp"

namespace facegate::cli {
namespace {

constexpr std::size_t kWidth = 100;      // help lines are wrapped before this column
constexpr std::size_t kTextColumn = 26;  // where an entry's text starts (0-based)

// Every subcommand with a name (CLI11's option groups are nameless subcommands).
std::vector<const CLI::App*> namedCommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_name().empty(); });
}

bool isShown(const CLI::Option& option) {
  return !option.get_group().empty();
}

// get_type_name() is the type name, then ":" and each validator's description.
std::string typeOf(const CLI::Option& option) {
  const std::string full = option.get_type_name();
  return full.substr(0, full.find(':'));
}

std::vector<std::string> limitsOf(const CLI::Option& option) {
  std::vector<std::string> limits;
  const std::string full = option.get_type_name();
  for (std::size_t at = full.find(':'); at != std::string::npos;) {
    const std::size_t next = full.find(':', at + 1);
    limits.push_back(full.substr(at + 1, next == std::string::npos ? next : next - at - 1));
    at = next;
  }
  return limits;
}

bool takesValue(const CLI::Option& option) {
  return option.get_items_expected_max() != 0;  // 0: a flag
}

bool isRepeatable(const CLI::Option& option) {
  return option.get_expected_max() > 1;
}

// How a positional argument is shown: its option_text ("A.jpg B.jpg"), else its type ("DIR").
std::string positionalName(const CLI::Option& option) {
  if (!option.get_option_text().empty()) {
    return option.get_option_text();
  }
  return typeOf(option) + (isRepeatable(option) ? "..." : "");
}

// An option as the synopsis shows it: "--threshold T", "--photo FILE...", "--json".
std::string usageOf(const CLI::Option& option) {
  std::string out = option.get_name();
  if (takesValue(option)) {
    out += " " + typeOf(option) + (isRepeatable(option) ? "..." : "");
  }
  return out;
}

bool contains(const std::set<CLI::Option*>& set, const CLI::Option* option) {
  return std::any_of(set.begin(), set.end(), [&](const CLI::Option* o) { return o == option; });
}

// The synopsis: positionals, then the options (mutually exclusive ones as one alternative,
// one that needs another inside the other's brackets), then the subcommands.
std::vector<std::string> synopsis(const CLI::App& app) {
  std::vector<std::string> words;
  const auto options = app.get_options([](const CLI::Option* o) { return isShown(*o); });
  for (const CLI::Option* option : options) {
    if (option->get_positional()) {
      words.push_back(positionalName(*option));
    }
  }
  std::set<const CLI::Option*> done;
  const auto needers = [&](const CLI::Option* needed) {
    std::string out;
    for (const CLI::Option* other : options) {
      if (contains(other->get_needs(), needed) && done.insert(other).second) {
        out += " [" + usageOf(*other) + "]";
      }
    }
    return out;
  };
  for (const CLI::Option* option : options) {
    if (option->get_positional() || option == app.get_help_ptr() || done.count(option) > 0 ||
        !option->get_needs().empty()) {
      continue;
    }
    std::vector<const CLI::Option*> alternatives{option};
    for (const CLI::Option* other : options) {
      if (other != option && contains(option->get_excludes(), other)) {
        alternatives.push_back(other);
      }
    }
    std::string word;
    for (const CLI::Option* alternative : alternatives) {
      done.insert(alternative);
      word += (word.empty() ? "" : " | ") + usageOf(*alternative) + needers(alternative);
    }
    const bool required = alternatives.size() == 1 && option->get_required();
    words.push_back(required ? word : "[" + word + "]");
  }
  // Options that need one that is not shown are shown on their own.
  for (const CLI::Option* option : options) {
    if (!option->get_positional() && option != app.get_help_ptr() && done.insert(option).second) {
      words.push_back("[" + usageOf(*option) + "]");
    }
  }
  std::vector<std::string> names;
  for (const CLI::App* sub : namedCommands(app)) {
    if (!sub->get_group().empty()) {
      names.push_back(sub->get_name());
    }
  }
  if (!names.empty()) {
    words.push_back(names.size() <= 4 ? fmt::format("{}", fmt::join(names, "|")) : "COMMAND");
  }
  return words;
}

// "usage: <path> <words>", wrapped at kWidth between words, continued under the first word.
std::string usageLine(const std::string& path, const std::vector<std::string>& words) {
  std::string out = "usage: " + path;
  const std::size_t indent = std::min(out.size() + 1, kTextColumn);
  std::size_t length = out.size();
  for (const std::string& word : words) {
    if (length > indent && length + 1 + word.size() > kWidth) {
      out += "\n" + std::string(indent, ' ') + word;
      length = indent + word.size();
    } else {
      out += " " + word;
      length += 1 + word.size();
    }
  }
  return out + "\n";
}

// A description as a sentence: capital first letter, final stop.
std::string sentence(std::string text) {
  if (!text.empty()) {
    text.front() = static_cast<char>(std::toupper(static_cast<unsigned char>(text.front())));
    if (text.back() != '.' && text.back() != '?' && text.back() != '!') {
      text += '.';
    }
  }
  return text;
}

// "  term      text", the text wrapped at kWidth and aligned on kTextColumn.
std::string entry(const std::string& term, const std::string& text) {
  std::string out = "  " + term;
  if (out.size() + 2 > kTextColumn) {
    out += '\n';
    out.append(kTextColumn, ' ');
  } else {
    out.append(kTextColumn - out.size(), ' ');
  }
  std::size_t length = kTextColumn;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find_first_of(" \n", at);
    const std::string word = text.substr(at, end == std::string::npos ? end : end - at);
    if (length > kTextColumn && length + 1 + word.size() > kWidth) {
      out += '\n';
      out.append(kTextColumn, ' ');
      length = kTextColumn;
    } else if (length > kTextColumn) {
      out += ' ';
      ++length;
    }
    out += word;
    length += word.size();
    if (end != std::string::npos && text[end] == '\n') {
      out += '\n';
      out.append(kTextColumn, ' ');
      length = kTextColumn;
    }
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return out + "\n";
}

std::string optionText(const CLI::Option& option) {
  std::vector<std::string> notes = limitsOf(option);
  if (takesValue(option) && !option.get_default_str().empty()) {
    notes.push_back("default " + option.get_default_str());
  }
  if (notes.empty()) {
    return option.get_description();
  }
  return fmt::format("{} ({})", option.get_description(), fmt::join(notes, "; "));
}

std::string optionTerm(const CLI::Option& option) {
  std::string names = option.get_name(false, true);  // "-h,--help"
  for (std::size_t at = names.find(','); at != std::string::npos; at = names.find(',', at + 2)) {
    names.replace(at, 1, ", ");
  }
  if (takesValue(option)) {
    names += " " + typeOf(option) + (isRepeatable(option) ? "..." : "");
  }
  return names;
}

std::string heading(const std::string& group, std::string_view kind) {
  std::string lower = group;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (kind == "commands") {
    return lower == "subcommands" ? "commands:" : lower + " commands:";
  }
  return lower + ":";
}

class HelpFormatter : public CLI::FormatterBase {
 public:
  std::string make_help(const CLI::App* app, std::string name, CLI::AppFormatMode) const override {
    std::string out = usageLine(name, synopsis(*app));
    if (!app->get_description().empty()) {
      out += sentence(app->get_description()) + "\n";
    }
    const auto positionals =
        app->get_options([](const CLI::Option* o) { return o->get_positional() && isShown(*o); });
    if (!positionals.empty()) {
      out += "\narguments:\n";
      for (const CLI::Option* option : positionals) {
        out += entry(positionalName(*option), optionText(*option));
      }
    }
    for (const std::string& group : app->get_groups()) {
      const auto members = app->get_options(
          [&](const CLI::Option* o) { return !o->get_positional() && o->get_group() == group; });
      if (group.empty() || members.empty()) {
        continue;
      }
      out += "\n" + heading(group, "options") + "\n";
      for (const CLI::Option* option : members) {
        out += entry(optionTerm(*option), optionText(*option));
      }
    }
    std::vector<std::string> commandGroups;
    for (const CLI::App* sub : namedCommands(*app)) {
      const std::string& group = sub->get_group();
      if (!group.empty() &&
          std::find(commandGroups.begin(), commandGroups.end(), group) == commandGroups.end()) {
        commandGroups.push_back(group);
      }
    }
    for (const std::string& group : commandGroups) {
      out += "\n" + heading(group, "commands") + "\n";
      for (const CLI::App* sub : namedCommands(*app)) {
        if (sub->get_group() == group) {
          out += entry(sub->get_name(), sub->get_description());
        }
      }
    }
    if (const std::string footer = app->get_footer(); !footer.empty()) {
      out += "\n" + footer + (footer.back() == '\n' ? "" : "\n");
    }
    return out;
  }
};

// The subcommands a command group expects, when they are few: "expected 'verify' or 'show'";
// nullopt for more than four.
std::optional<std::string> expectedCommands(const CLI::App& group) {
  std::vector<std::string> names;
  for (const CLI::App* sub : namedCommands(group)) {
    if (!sub->get_group().empty()) {
      names.push_back("'" + sub->get_name() + "'");
    }
  }
  if (names.empty() || names.size() > 4) {
    return std::nullopt;
  }
  std::string out = "expected ";
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  }
  return out;
}

// An argument CLI11 kept because nothing took it, as a sentence; nullopt when there is none.
std::optional<std::string> leftover(const CLI::App& command) {
  for (const std::string& arg : command.remaining()) {
    if (arg == "--") {  // the end of the options, with nothing after it
      continue;
    }
    if (arg.size() > 1 && arg.front() == '-') {
      return fmt::format("unknown option {}", arg.substr(0, arg.find('=')));
    }
    if (!namedCommands(command).empty() && command.get_subcommands().empty()) {
      if (const auto expected = expectedCommands(command)) {
        return fmt::format("{}, got '{}'", *expected, arg);
      }
      return fmt::format("unknown command '{}'", arg);
    }
    return fmt::format("unexpected argument '{}'", arg);
  }
  return std::nullopt;
}

// CLI11 names a flag without its dashes in some messages.
std::string optionName(const std::string& name) {
  if (name.starts_with('-')) {
    return name;
  }
  return (name.size() == 1 ? "-" : "--") + name;
}

}  // namespace

void configureProgram(CLI::App& app, const std::string& version) {
  app.formatter(std::make_shared<HelpFormatter>());
  app.option_defaults()->disable_flag_override();
  // Made again so that it takes the defaults above (no --help=yes).
  app.set_help_flag("-h,--help", "print this help and exit");
  if (!version.empty()) {
    app.set_version_flag("--version", version, "print the version and exit");
  }
  // Kept, not refused by CLI11: parse() names them in a sentence of its own.
  app.allow_extras();
  // One command at most: the name of a second one is an argument of the first.
  app.require_subcommand(0, 1);
}

CLI::App& addCommand(CLI::App& parent, const std::string& name, const std::string& description,
                     const std::string& footer) {
  CLI::App* command = parent.add_subcommand(name, description);
  // CLI11 makes a subcommand's --help before it copies the option defaults.
  command->get_help_ptr()->disable_flag_override();
  command->footer(footer);        // CLI11 would copy the parent's,
  command->group("Subcommands");  // and its group (CLI11's default name for the list)
  return *command;
}

const CLI::App& selectedCommand(const CLI::App& app) {
  const CLI::App* command = &app;
  for (auto chosen = command->get_subcommands(); !chosen.empty();
       chosen = command->get_subcommands()) {
    command = chosen.front();
  }
  return *command;
}

std::string commandPath(const CLI::App& command) {
  std::vector<std::string> names;
  for (const CLI::App* level = &command; level != nullptr; level = level->get_parent()) {
    names.push_back(level->get_name());
  }
  std::reverse(names.begin(), names.end());
  return fmt::format("{}", fmt::join(names, " "));
}

int usageError(const CLI::App& command, std::string_view message) {
  std::string sentence = terminalSafe(message);
  while (!sentence.empty() && sentence.back() == '.') {
    sentence.pop_back();
  }
  const std::string path = commandPath(command);
  fmt::print(stderr, "{}: {}.\nRun '{} --help' for the {}.\n", path, sentence, path,
             namedCommands(command).empty() ? "options" : "commands");
  return kExitUsage;
}

std::optional<int> parse(CLI::App& app, int argc, const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    return 0;
  } catch (const CLI::CallForVersion& version) {
    fmt::print("{}\n", version.what());
    return 0;
  } catch (const CLI::ParseError& error) {
    return usageError(selectedCommand(app), usageSentence(error));
  }
  for (const CLI::App* level = &app;;) {
    if (auto problem = leftover(*level)) {
      return usageError(*level, *problem);
    }
    const auto chosen = level->get_subcommands();
    if (chosen.empty()) {
      // A group of subcommands (facegate audit) does nothing by itself.
      if (level != &app && !namedCommands(*level).empty()) {
        return usageError(*level, expectedCommands(*level).value_or("expected a subcommand"));
      }
      return std::nullopt;
    }
    level = chosen.front();
  }
}

std::string usageSentence(const CLI::ParseError& error) {
  // CLI11 2.1's messages (CLI/Error.hpp), each turned into the house sentence.
  static const std::regex kMissingValue(R"(^(\S+): \d+ required .*missing$)");
  static const std::regex kFlagValue(R"(^(\S+) was given a disallowed flag override$)");
  static const std::regex kRepeated(R"(^(\S+): At Most 1 required but received (\d+)$)");
  static const std::regex kExcludes(R"(^(\S+) excludes (\S+)$)");
  static const std::regex kValidation(R"(^(\S+): (.*)$)");
  std::string what = error.what();
  const std::string kind = error.get_name();
  std::smatch m;
  if (kind == "ArgumentMismatch" && std::regex_match(what, m, kMissingValue)) {
    return fmt::format("{} needs a value", optionName(m[1]));
  }
  if (kind == "ArgumentMismatch" && std::regex_match(what, m, kFlagValue)) {
    return fmt::format("{} takes no value", optionName(m[1]));
  }
  if (kind == "ArgumentMismatch" && std::regex_match(what, m, kRepeated)) {
    const std::string times = m[2] == "2" ? "twice" : std::string(m[2]) + " times";
    return fmt::format("{} is given {}", optionName(m[1]), times);
  }
  if (kind == "ExcludesError" && std::regex_match(what, m, kExcludes)) {
    return fmt::format("give either {} or {}, not both", optionName(m[1]), optionName(m[2]));
  }
  if (kind == "ValidationError" && std::regex_match(what, m, kValidation)) {
    return fmt::format("{} {}", m[1].str(), m[2].str());
  }
  return what;
}

namespace {

CLI::Validator wholeNumber(std::int64_t min, std::int64_t max) {
  return {[min, max](std::string& text) -> std::string {
            std::int64_t value = 0;
            const char* const end = text.data() + text.size();
            const auto [ptr, ec] = std::from_chars(text.data(), end, value);
            if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
              return fmt::format("expects a whole number from {} to {}, got '{}'", min, max, text);
            }
            text = std::to_string(value);
            return {};
          },
          max == std::numeric_limits<std::int64_t>::max() ? fmt::format("{} or more", min)
                                                          : fmt::format("{}..{}", min, max)};
}

CLI::Validator number(double above, double atMost) {
  return {[above, atMost](std::string& text) -> std::string {
            char* end = nullptr;
            errno = 0;
            const double value = std::strtod(text.c_str(), &end);
            if (text.empty() || end != text.c_str() + text.size() || errno != 0 ||
                !std::isfinite(value) || value <= above || value > atMost) {
              return fmt::format("expects a number greater than {} and at most {}, got '{}'", above,
                                 atMost, text);
            }
            // Hexadecimal: exact, so CLI11's conversion yields this very double.
            text = fmt::format("{:a}", value);
            return {};
          },
          fmt::format("above {}, at most {}", above, atMost)};
}

}  // namespace

CLI::Option* checkWholeNumber(CLI::Option* option, std::int64_t min, std::int64_t max) {
  return option->transform(wholeNumber(min, max))->capture_default_str();
}

CLI::Option* checkNumber(CLI::Option* option, double above, double atMost) {
  return option->transform(number(above, atMost))->capture_default_str();
}

CLI::Validator nonEmpty() {
  return {[](const std::string& text) {
            return text.empty() ? std::string("must not be empty") : std::string();
          },
          ""};
}

void addReportOptions(CLI::App& command, std::optional<std::string>& plot, bool& force, bool& json,
                      const std::string& what) {
  CLI::Option* plotOption =
      command.add_option("--plot", plot, "write " + what + " as a PNG (0600)")
          ->type_name("FILE")
          ->check(nonEmpty());
  command
      .add_flag("--force", force, "replace FILE if it exists (by a new file, never through a link)")
      ->needs(plotOption);
  command.add_flag("--json", json, "print one JSON object on stdout");
}

CLI::Validator oneOf(std::vector<std::string> allowed) {
  std::string choices;
  for (std::size_t i = 0; i < allowed.size(); ++i) {
    choices += (i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ") + allowed[i];
  }
  return {[allowed = std::move(allowed), choices](const std::string& text) {
            if (std::find(allowed.begin(), allowed.end(), text) != allowed.end()) {
              return std::string();
            }
            return fmt::format("must be {}, got '{}'", choices, text);
          },
          choices};
}

}  // namespace facegate::cli
