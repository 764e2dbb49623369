// facegate-manual: writes facegate's manual pages at build time from what they document, so
// that they cannot drift from it (a build tool, not installed):
//
//   facegate-manual command --program PATH --section N --out FILE ...
//       runs `PATH --help`, then `PATH CMD --help` for every command it lists (and so on down),
//       and writes one page: NAME, SYNOPSIS, DESCRIPTION, OPTIONS, COMMANDS;
//   facegate-manual config --file facegate.toml --installed PATH --out FILE ...
//       writes the configuration's page from the shipped file, whose comments document every
//       key: one subsection per table, one entry per key with its comment.
//
// The help is read in the layout of include/facegate/cli/command_line.hpp (facegate-fetch-models
// prints the same). Anything else in the help is an error naming the line, not a page.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "facegate/cli/command_line.hpp"
#include "facegate/core/error.hpp"

extern char** environ;  // NOLINT(readability-identifier-naming): POSIX's name

namespace facegate::manual {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Running a program for its help

// The standard output of `program args...`, which must exit with status 0.
Result<std::string> outputOf(const fs::path& program, const std::vector<std::string>& args) {
  int fds[2] = {-1, -1};
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return fail(ErrorCode::FileUnreadable, fmt::format("pipe: {}", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  std::vector<std::string> storage{program.string()};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(storage.size() + 1);
  for (auto& s : storage) {
    argv.push_back(s.data());
  }
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    return fail(ErrorCode::FileUnreadable,
                fmt::format("cannot run {}: {}", program.string(), std::strerror(spawned)));
  }
  std::string out;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n > 0) {
      out.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string command = fmt::format("{} {}", program.string(), fmt::join(args, " "));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return fail(ErrorCode::Internal, fmt::format("`{}` did not exit with status 0", command));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The help, parsed

struct Entry {
  std::string term;  // "--db FILE", "-h, --help", "verify"
  std::string text;
};

// A paragraph of the help: a heading with its entries ("options:"), or free text lines.
struct Block {
  std::string heading;  // without its ':'; empty for free text
  std::vector<Entry> entries;
  std::vector<std::string> lines;  // free text, as printed
};

struct Help {
  std::string path;      // "facegate badge issue"
  std::string synopsis;  // after the path
  std::string description;
  std::vector<Block> blocks;
};

std::string trim(std::string_view text) {
  const auto begin = text.find_first_not_of(' ');
  if (begin == std::string_view::npos) {
    return {};
  }
  return std::string(text.substr(begin, text.find_last_not_of(' ') - begin + 1));
}

// "options:", "enrolment desk commands:": lower case, which free text never starts with.
bool isHeading(const std::string& line) {
  return !line.empty() && std::islower(static_cast<unsigned char>(line.front())) != 0 &&
         line.back() == ':';
}

// `text` is `path --help`'s output.
Result<Help> parseHelp(const std::string& path, const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  const auto bad = [&](std::size_t i, std::string_view why) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("`{} --help`, line {}: {} (the layout of "
                            "facegate/cli/command_line.hpp is expected): '{}'",
                            path, i + 1, why, i < lines.size() ? lines[i] : std::string()));
  };
  const std::string usage = "usage: " + path;
  if (lines.empty() || !lines[0].starts_with(usage)) {
    return bad(0, fmt::format("the help does not start with '{}'", usage));
  }
  Help help;
  help.path = path;
  help.synopsis = trim(std::string_view(lines[0]).substr(usage.size()));
  std::size_t i = 1;
  for (; i < lines.size() && lines[i].starts_with(' '); ++i) {
    help.synopsis += " " + trim(lines[i]);
  }
  for (; i < lines.size() && !lines[i].empty(); ++i) {
    help.description += (help.description.empty() ? "" : " ") + trim(lines[i]);
  }
  while (i < lines.size()) {
    if (lines[i].empty()) {
      ++i;
      continue;
    }
    Block block;
    if (isHeading(lines[i]) && i + 1 < lines.size() && lines[i + 1].starts_with("  ")) {
      block.heading = lines[i].substr(0, lines[i].size() - 1);
      for (++i; i < lines.size() && !lines[i].empty(); ++i) {
        const std::string& line = lines[i];
        if (line.starts_with("  ") && line.size() > 2 && line[2] != ' ') {
          const auto gap = line.find("  ", 2);
          block.entries.push_back(
              {trim(line.substr(2, gap == std::string::npos ? gap : gap - 2)),
               gap == std::string::npos ? std::string() : trim(line.substr(gap))});
        } else if (line.starts_with("   ") && !block.entries.empty()) {
          std::string& entryText = block.entries.back().text;
          entryText += (entryText.empty() ? "" : " ") + trim(line);
        } else {
          return bad(i, "neither an entry nor its continuation");
        }
      }
    } else {
      for (; i < lines.size() && !lines[i].empty(); ++i) {
        block.lines.push_back(lines[i]);
      }
    }
    help.blocks.push_back(std::move(block));
  }
  return help;
}

// ---------------------------------------------------------------------------------------------
// roff

// Text for a roff text line: backslashes and the typographic characters of the sources
// escaped, the dashes of options and negative numbers as minus signs (so that they can be
// copied into a shell), no line read as a request.
std::string escape(std::string_view text) {
  std::string out;
  bool tokenStart = true;
  bool optionToken = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\n') {
      tokenStart = true;
      optionToken = false;
      out += c;
      continue;
    }
    if (tokenStart && std::string_view("[(|'\"`").find(c) == std::string_view::npos) {
      optionToken = c == '-';
      tokenStart = false;
    }
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-' && optionToken) {
      out += "\\-";
    } else if (text.substr(i).starts_with("\u2014")) {  // em dash
      out += "\\(em";
      i += 2;
    } else if (text.substr(i).starts_with("\u2013")) {  // en dash
      out += "\\(en";
      i += 2;
    } else if (text.substr(i).starts_with("\u00d7")) {  // multiplication sign
      out += "\\(mu";
      i += 1;
    } else {
      out += c;
    }
  }
  // A line starting with '.' or '\'' would be a request.
  std::string safe;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && (line.front() == '.' || line.front() == '\'')) {
      safe += "\\&";
    }
    safe += line + "\n";
  }
  if (!out.empty() && out.back() != '\n' && !safe.empty()) {
    safe.pop_back();
  }
  return safe;
}

// Words of a synopsis or a term: options and command words in bold, placeholders (they start
// with a capital: FILE, A.jpg, [TYPE=]PATH) in italics, brackets and bars in roman.
std::string styled(std::string_view words) {
  std::string out;
  std::size_t at = 0;
  while (at <= words.size()) {
    const std::size_t end = std::min(words.find(' ', at), words.size());
    const std::string_view word = words.substr(at, end - at);
    std::size_t begin = 0;
    while (begin < word.size() &&
           (word[begin] == '[' || word[begin] == '(' || word[begin] == '|')) {
      ++begin;
    }
    std::size_t stop = word.size();
    while (stop > begin &&
           std::string_view("])|,").find(word[stop - 1]) != std::string_view::npos) {
      --stop;
    }
    const std::string_view core = word.substr(begin, stop - begin);
    out += escape(word.substr(0, begin));
    if (!core.empty()) {
      const bool placeholder = std::isupper(static_cast<unsigned char>(core.front())) != 0;
      out += (placeholder ? "\\fI" : "\\fB") + escape(core) + "\\fR";
    }
    out += escape(word.substr(stop));
    if (end < words.size()) {
      out += ' ';
    }
    at = end + 1;
  }
  return out;
}

std::string header(const std::string& title, int section, const std::string& date,
                   const std::string& version, const std::string& source) {
  std::string upper = title;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return fmt::format(
      ".\\\" Generated at build time by facegate-manual from {}; do not edit.\n"
      ".TH \"{}\" \"{}\" \"{}\" \"facegate {}\" \"facegate manual\"\n"
      // No hyphenation, no justification: option names stay whole and copyable.
      ".nh\n.ad l\n",
      source, upper, section, date, version);
}

// A description as the NAME line wants it: no capital, no stop.
std::string whatis(std::string text) {
  if (!text.empty() && (text.back() == '.')) {
    text.pop_back();
  }
  if (!text.empty()) {
    text.front() = static_cast<char>(std::tolower(static_cast<unsigned char>(text.front())));
  }
  return text;
}

// Free text: lines that start with spaces (tables, examples) kept as they are, the rest filled.
std::string paragraphs(const std::vector<std::string>& lines) {
  std::string out;
  bool verbatim = false;
  bool open = false;
  for (const std::string& line : lines) {
    const bool indented = line.starts_with("  ");
    if (!open || indented != verbatim) {
      if (verbatim && open) {
        out += ".fi\n";
      }
      out += indented ? ".PP\n.nf\n" : ".PP\n";
      verbatim = indented;
      open = true;
    }
    out += escape(line) + "\n";
  }
  if (verbatim && open) {
    out += ".fi\n";
  }
  return out;
}

std::string entries(const std::vector<Entry>& list, bool skipHelp) {
  std::string out;
  for (const Entry& e : list) {
    if (skipHelp && e.term == "-h, --help") {
      continue;
    }
    out += ".TP\n" + styled(e.term) + "\n" + escape(e.text) + "\n";
  }
  return out;
}

bool isCommandList(const Block& block) {
  return block.heading == "commands" || block.heading.ends_with(" commands");
}

// ---------------------------------------------------------------------------------------------
// A program's page

struct CommandPage {
  fs::path program;
  int section = 1;
  std::string version;
  std::string date;
  std::vector<std::string> seeAlso;
  fs::path out;
};

// The help of `words` and of every command under it, depth first.
Result<void> collect(const CommandPage& page, const std::vector<std::string>& words,
                     std::vector<Help>& all) {
  std::vector<std::string> args = words;
  args.emplace_back("--help");
  auto text = outputOf(page.program, args);
  if (!text) {
    return tl::unexpected(text.error());
  }
  std::string path = page.program.filename().string();
  for (const std::string& word : words) {
    path += " " + word;
  }
  auto help = parseHelp(path, *text);
  if (!help) {
    return tl::unexpected(help.error());
  }
  all.push_back(*help);
  for (const Block& block : help->blocks) {
    if (!isCommandList(block)) {
      continue;
    }
    for (const Entry& command : block.entries) {
      std::vector<std::string> deeper = words;
      deeper.push_back(command.term);
      if (auto r = collect(page, deeper, all); !r) {
        return r;
      }
    }
  }
  return {};
}

std::string seeAlso(const std::vector<std::string>& pages) {
  if (pages.empty()) {
    return {};
  }
  std::string out = ".SH \"SEE ALSO\"\n";
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const auto open = pages[i].find('(');
    out += fmt::format(".BR {} {}{}\n", pages[i].substr(0, open), pages[i].substr(open),
                       i + 1 < pages.size() ? "," : "");
  }
  return out;
}

Result<std::string> commandPage(const CommandPage& page) {
  std::vector<Help> all;
  if (auto r = collect(page, {}, all); !r) {
    return tl::unexpected(r.error());
  }
  const Help& top = all.front();
  const std::string name = top.path;
  std::string out =
      header(name, page.section, page.date, page.version, fmt::format("`{} --help`", name));
  out += ".SH NAME\n" + escape(name) + " \\- " + escape(whatis(top.description)) + "\n";
  out += ".SH SYNOPSIS\n\\fB" + escape(name) + "\\fR " + styled(top.synopsis) + "\n";
  out += ".SH DESCRIPTION\n" + escape(top.description) + "\n";
  std::string options;
  for (const Block& block : top.blocks) {
    if (block.heading.empty()) {
      out += paragraphs(block.lines);
    } else if (!isCommandList(block)) {
      options += entries(block.entries, false);
    }
  }
  if (!options.empty()) {
    out += ".SH OPTIONS\n" + options;
  }
  if (all.size() > 1) {
    out += ".SH COMMANDS\n";
    for (std::size_t i = 1; i < all.size(); ++i) {
      const Help& command = all[i];
      out += ".SS \"" + escape(command.path) + "\"\n";
      out += "\\fB" + escape(command.path) + "\\fR " + styled(command.synopsis) + "\n";
      out += ".PP\n" + escape(command.description) + "\n";
      // The notes before the options: they say what the command does.
      for (const Block& block : command.blocks) {
        if (block.heading.empty()) {
          out += paragraphs(block.lines);
        }
      }
      for (const Block& block : command.blocks) {
        if (!block.heading.empty() && !isCommandList(block)) {
          out += entries(block.entries, true);
        }
      }
    }
  }
  out += seeAlso(page.seeAlso);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The configuration's page

struct ConfigPage {
  fs::path file;
  std::string installed;  // where the package puts it
  std::string version;
  std::string date;
  std::vector<std::string> seeAlso;
  fs::path out;
};

// A run of comment lines and the keys right after them.
struct KeyGroup {
  std::vector<std::string> comment;  // without "# "; "" for a bare "#"
  std::vector<std::string> keys;     // "id = \"gate-1\""
};

struct Table {
  std::string name;  // "gate", "gpio.patterns"; "" for the file's introduction
  std::vector<KeyGroup> groups;
};

std::string keyName(const std::string& line) {
  return trim(line.substr(0, line.find('=')));
}

Result<std::vector<Table>> parseConfig(const fs::path& file) {
  std::ifstream in(file);
  if (!in) {
    return fail(ErrorCode::FileNotFound, fmt::format("cannot read {}", file.string()));
  }
  std::vector<Table> tables(1);
  KeyGroup group;
  const auto flush = [&] {
    if (!group.comment.empty() || !group.keys.empty()) {
      tables.back().groups.push_back(std::move(group));
    }
    group = {};
  };
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty()) {
      flush();
    } else if (line.starts_with("#")) {
      if (!group.keys.empty()) {
        flush();
      }
      group.comment.push_back(line.size() > 2 ? line.substr(2) : std::string());
    } else if (line.starts_with("[") && line.ends_with("]")) {
      flush();
      tables.push_back({line.substr(1, line.size() - 2), {}});
    } else if (line.find('=') != std::string::npos && !keyName(line).empty()) {
      group.keys.push_back(line);
    } else {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("{}:{}: neither a comment, a table nor a key: '{}'", file.string(),
                              number, line));
    }
  }
  flush();
  return tables;
}

// Comment lines split into paragraphs at the bare "#" lines.
std::vector<std::vector<std::string>> commentParagraphs(const std::vector<std::string>& comment) {
  std::vector<std::vector<std::string>> out(1);
  for (const std::string& line : comment) {
    if (trim(line).empty()) {
      if (!out.back().empty()) {
        out.emplace_back();
      }
    } else {
      out.back().push_back(line);
    }
  }
  if (out.back().empty()) {
    out.pop_back();
  }
  return out;
}

// Whether a comment line is a key's definition: "frames — integer, default 3, ...".
bool isDefinition(const std::string& line) {
  static const std::regex kDefinition("^[a-z_]+(, [a-z_]+)* \u2014 .*");  // an em dash
  return std::regex_match(line, kDefinition);
}

std::size_t indentOf(const std::string& line) {
  const auto at = line.find_first_not_of(' ');
  return at == std::string::npos ? line.size() : at;
}

// Filled text, with the line breaks the file's layout asks for: before the items of a list
// (after a line ending with ':', and where the indentation goes back), and after a key's
// definition line once it is complete. A deeper-indented line continues the one above.
std::string commentText(const std::vector<std::string>& lines) {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (i > 0) {
      const std::string& prev = lines[i - 1];
      const bool startsUpper = std::isupper(static_cast<unsigned char>(trim(line).front())) != 0;
      if (indentOf(line) < indentOf(prev) || prev.ends_with(":") ||
          (isDefinition(prev) && (prev.ends_with(".") || startsUpper))) {
        out += ".br\n";
      }
    }
    out += escape(trim(line)) + "\n";
  }
  return out;
}

std::string keyLine(const std::string& line) {
  const auto eq = line.find('=');
  return "\\fB" + escape(keyName(line)) + "\\fR = " + escape(trim(line.substr(eq + 1)));
}

Result<std::string> configPage(const ConfigPage& page) {
  auto tables = parseConfig(page.file);
  if (!tables) {
    return tl::unexpected(tables.error());
  }
  const std::string name = page.file.filename().string();
  std::string out = header(name, 5, page.date, page.version, fmt::format("the shipped {}", name));
  out += ".SH NAME\n" + escape(name) + " \\- configuration of the facegate gate daemon\n";
  out += ".SH SYNOPSIS\n" + escape(page.installed) + "\n";
  out += ".SH DESCRIPTION\n";
  for (const KeyGroup& group : tables->front().groups) {
    for (const auto& paragraph : commentParagraphs(group.comment)) {
      out += ".PP\n" + commentText(paragraph);
    }
  }
  out += ".PP\nThe tables and keys below are those of the file installed as \\fI" +
         escape(page.installed) + "\\fR, with the value it sets, which is the default.\n";
  for (auto table = tables->begin() + 1; table != tables->end(); ++table) {
    out += ".SH \"[" + escape(table->name) + "]\"\n";
    for (const KeyGroup& group : table->groups) {
      auto paragraphs = commentParagraphs(group.comment);
      if (group.keys.empty()) {
        for (const auto& paragraph : paragraphs) {
          out += ".PP\n" + commentText(paragraph);
        }
        continue;
      }
      // Paragraphs before the one that names the key ("enabled — boolean, ...") are about
      // the table.
      const std::string first = keyName(group.keys.front());
      const auto own = std::find_if(paragraphs.begin(), paragraphs.end(), [&](const auto& p) {
        return p.front().starts_with(first + " ") || p.front().starts_with(first + ",");
      });
      for (auto p = paragraphs.begin(); own != paragraphs.end() && p != own; ++p) {
        out += ".PP\n" + commentText(*p);
      }
      out += ".TP\n" + keyLine(group.keys.front()) + "\n";
      for (std::size_t k = 1; k < group.keys.size(); ++k) {
        out += ".TQ\n" + keyLine(group.keys[k]) + "\n";
      }
      bool firstParagraph = true;
      for (auto p = own == paragraphs.end() ? paragraphs.begin() : own; p != paragraphs.end();
           ++p) {
        out += (firstParagraph ? "" : ".IP\n") + commentText(*p);
        firstParagraph = false;
      }
    }
  }
  out += seeAlso(page.seeAlso);
  return out;
}

// ---------------------------------------------------------------------------------------------

Result<void> writePage(const fs::path& path, const std::string& text) {
  const fs::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out.flush()) {
      return fail(ErrorCode::FileUnreadable, fmt::format("cannot write {}", temporary.string()));
    }
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) {
    return fail(
        ErrorCode::FileUnreadable,
        fmt::format("cannot rename {} to {}: {}", temporary.string(), path.string(), ec.message()));
  }
  return {};
}

}  // namespace
}  // namespace facegate::manual

int main(int argc, char** argv) {
  using namespace facegate;
  try {
    CLI::App app(
        "writes facegate's manual pages from the programs' help and the shipped "
        "configuration",
        "facegate-manual");
    cli::configureProgram(app, "");
    manual::CommandPage command;
    manual::ConfigPage config;
    CLI::App& commandApp = cli::addCommand(app, "command", "a program's page, from its --help");
    commandApp.add_option("--program", command.program, "the program")
        ->type_name("PATH")
        ->required();
    cli::checkWholeNumber(
        commandApp.add_option("--section", command.section, "the manual section")->type_name("N"),
        1, 8);
    commandApp.add_option("--out", command.out, "the page to write")->type_name("FILE")->required();
    commandApp.add_option("--version", command.version, "facegate's version")->required();
    commandApp.add_option("--date", command.date, "the page's date")->required();
    commandApp.add_option("--see-also", command.seeAlso, "another page, as name(section)")
        ->type_name("PAGE")
        ->allow_extra_args(false);
    CLI::App& configApp = cli::addCommand(app, "config", "the configuration's page");
    configApp.add_option("--file", config.file, "the documented configuration")
        ->type_name("FILE")
        ->required();
    configApp.add_option("--installed", config.installed, "where it is installed")
        ->type_name("PATH")
        ->required();
    configApp.add_option("--out", config.out, "the page to write")->type_name("FILE")->required();
    configApp.add_option("--version", config.version, "facegate's version")->required();
    configApp.add_option("--date", config.date, "the page's date")->required();
    configApp.add_option("--see-also", config.seeAlso, "another page, as name(section)")
        ->type_name("PAGE")
        ->allow_extra_args(false);
    if (auto exit = cli::parse(app, argc, argv)) {
      return *exit;
    }
    const bool isConfig = configApp.parsed();
    if (!isConfig && !commandApp.parsed()) {
      return cli::usageError(app, "expected 'command' or 'config'");
    }
    const auto page = isConfig ? manual::configPage(config) : manual::commandPage(command);
    if (!page) {
      fmt::print(stderr, "facegate-manual: {}.\n", page.error().message);
      return 1;
    }
    if (auto written = manual::writePage(isConfig ? config.out : command.out, *page); !written) {
      fmt::print(stderr, "facegate-manual: {}.\n", written.error().message);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "facegate-manual: internal error: {}.\n", e.what());
    return 1;
  }
}
