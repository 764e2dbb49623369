#pragma once

// The command-line conventions facegate and facegated share, on CLI11:
//  - a usage error is one sentence on stderr naming the argument, then where the options are
//    explained, and exit status 2:
//        facegate list: --db needs a value.
//        Run 'facegate list --help' for its options.
//  - --help (or -h) prints the command's help on stdout, exit status 0; a flag never takes a
//    value (--json=yes is a usage error, not "true");
//  - numbers are read strictly: decimal only, no sign where none is allowed, the range named
//    in the message.
//
// The help layout, generated from the options (the manual pages are made from it: src/manual
// reads exactly this, so change both together):
//
//   usage: <command path> <synopsis: positionals, then options, then subcommands>
//          <the synopsis continued, indented, when it is longer than a line>
//   <description, as a sentence>
//
//   <heading>:                 "arguments", "options", or "<group> commands"
//     <term>                   <text, wrapped; from column 27>
//
//   <footer, as written>
//
// Headings are lower case, start in column 1 and end with ':' (the footer's paragraphs start
// with a capital); entries are indented by two spaces; a wrapped text continues on lines
// indented to its column; sections are separated by one blank line.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace facegate::cli {

inline constexpr int kExitUsage = 2;

// Puts the house layout and rules on a program's root command (`app` named after the program,
// e.g. "facegate"): the formatter, --help/-h, flags that take no value, arguments CLI11 does
// not know kept so that parse() can name them. `version`: what --version prints ("facegate
// 0.1.0"); empty for no --version.
void configureProgram(CLI::App& app, const std::string& version);

// A subcommand of `parent` with the same rules (CLI11 does not pass all of them on by itself).
// `description`: one line, shown in the parent's list of commands and under the usage line;
// `footer`: the rest of the help text, printed after the options as written.
CLI::App& addCommand(CLI::App& parent, const std::string& name, const std::string& description,
                     const std::string& footer = {});

// Parses the command line into `app`. nullopt: go on and run the selected command. Otherwise
// the exit status for main to return, everything already printed: 0 after --help or
// --version, kExitUsage after a usage error (an unknown or repeated option, a missing or bad
// value, an unexpected argument, an unknown command).
std::optional<int> parse(CLI::App& app, int argc, const char* const* argv);

// The command the user chose: the deepest subcommand parsed, `app` itself when none was.
const CLI::App& selectedCommand(const CLI::App& app);

// The command's words from the program on: "facegate badge issue".
std::string commandPath(const CLI::App& command);

// Prints a usage error of `command` as parse() does and returns kExitUsage. The message is
// made terminal-safe (it may quote what was typed).
int usageError(const CLI::App& command, std::string_view message);

// The sentence for a CLI11 parse error, in the house wording ("--db needs a value", "--json
// takes no value", "--db is given twice", "give either --adult or --date-of-birth, not both",
// and the validators' messages below after the option's name). Any other error keeps CLI11's
// own message.
std::string usageSentence(const CLI::ParseError& error);

// Make an option bound to a number accept only decimal text in a range, and show the range and
// the default in the help; they return `option`. The value is written back in canonical form
// before CLI11 converts it (CLI11's own conversion reads 0100 as octal and accepts '+30',
// '0x1e' and 'nan').
//
// A whole number in [min, max], decimal digits with an optional '-': "--valid-days expects a
// whole number from 1 to 3660, got '12abc'".
CLI::Option* checkWholeNumber(CLI::Option* option, std::int64_t min, std::int64_t max);
// A finite number in (above, atMost]: "--threshold expects a number greater than 0 and at most
// 2, got 'nan'".
CLI::Option* checkNumber(CLI::Option* option, double above, double atMost);

// For ->check(): a value that must not be empty ("must not be empty"); one of a few words
// ("must be sealed or on-badge, got 'cloud'").
CLI::Validator nonEmpty();
CLI::Validator oneOf(std::vector<std::string> allowed);

// The measuring commands' output options: --plot FILE (a PNG written 0600; `what` says what
// it shows), --force (needs --plot: replace FILE by a new file, never through a link) and
// --json (one JSON object on stdout).
void addReportOptions(CLI::App& command, std::optional<std::string>& plot, bool& force, bool& json,
                      const std::string& what);

}  // namespace facegate::cli
