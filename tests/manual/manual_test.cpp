// The manual pages made at build time (src/manual): every command of facegate with every one of
// its options, every option of facegated and facegate-fetch-models, every key of the shipped
// config/facegate.toml in its table; gzipped for the package; and roff that groff reads
// without a warning.
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace facegate {
namespace {

namespace fs = std::filesystem;

const fs::path kManualDir = FACEGATE_MANUAL_DIR;
const fs::path kCli = FACEGATE_CLI;
const fs::path kDaemon = FACEGATE_DAEMON;
const fs::path kFetchModels = FACEGATE_FETCH_MODELS;
const std::string kGzip = FACEGATE_GZIP;
const std::string kGroff = FACEGATE_GROFF;  // empty: groff is not installed

const std::vector<std::string> kPages = {"facegate.1", "facegated.8", "facegate-fetch-models.8",
                                         "facegate.toml.5"};

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

// An option as roff writes it: its dashes are minus signs (a hyphen elsewhere stays one).
std::string roff(std::string text) {
  for (std::size_t at = text.find('-'); at != std::string::npos; at = text.find('-', at + 2)) {
    text.replace(at, 1, "\\-");
  }
  return text;
}

// What `program words... --help` lists: the commands (under a "... commands:" heading) and the
// option names (entries starting with '-'), read here independently of the generator.
struct Listed {
  std::vector<std::string> commands;
  std::vector<std::string> options;
};

Listed helpOf(const fs::path& program, std::vector<std::string> words) {
  words.emplace_back("--help");
  const auto r = test::runCommand(program, words);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  Listed listed;
  bool inCommands = false;
  for (const std::string& line : linesOf(r.out)) {
    if (line.empty() || line.front() != ' ') {
      inCommands = line.ends_with("commands:");
      continue;
    }
    if (line.size() < 3 || line[2] == ' ') {
      continue;  // a wrapped text
    }
    const std::string term = line.substr(2, line.find("  ", 2) - 2);
    if (inCommands) {
      listed.commands.push_back(term.substr(0, term.find(' ')));
    } else if (term.front() == '-') {
      std::istringstream names(term);
      for (std::string name; names >> name;) {
        if (name.front() == '-') {
          listed.options.push_back(name.back() == ',' ? name.substr(0, name.size() - 1) : name);
        }
      }
    }
  }
  return listed;
}

// Every command path under facegate ("verify", "badge issue", ...) with its options.
void walk(const std::vector<std::string>& words, std::map<std::string, Listed>& out) {
  const Listed listed = helpOf(kCli, words);
  std::string path;
  for (const auto& w : words) {
    path += (path.empty() ? "" : " ") + w;
  }
  out[path] = listed;
  for (const std::string& command : listed.commands) {
    auto deeper = words;
    deeper.push_back(command);
    walk(deeper, out);
  }
}

// The part of a page from `heading` to the next heading of the same kind.
std::string sectionOf(const std::string& page, const std::string& heading) {
  const auto begin = page.find(heading + "\n");
  if (begin == std::string::npos) {
    return {};
  }
  const std::string kind = heading.substr(0, 4);  // ".SS " or ".SH "
  const auto end = page.find("\n" + kind, begin + heading.size());
  return page.substr(begin, end == std::string::npos ? end : end - begin);
}

TEST(Manual, FacegatePageHasEveryCommandWithEveryOption) {
  std::map<std::string, Listed> commands;
  walk({}, commands);
  // The commands of facegate, as a floor under what its help lists (a help nobody could parse
  // would list none).
  for (const char* known : {"verify", "bench", "eval", "eval-pad", "version", "keygen", "enroll",
                            "badge", "badge issue", "badge render", "badge inspect", "list",
                            "revoke", "erase", "purge", "audit", "audit verify", "audit show"}) {
    EXPECT_EQ(commands.count(known), 1U) << known << " is not in facegate's help";
  }
  const std::string page = test::readFile(kManualDir / "facegate.1");
  EXPECT_NE(page.find(".SH NAME\nfacegate \\- "), std::string::npos);
  for (const auto& [path, listed] : commands) {
    if (path.empty()) {
      const std::string options = sectionOf(page, ".SH OPTIONS");
      for (const auto& option : listed.options) {
        EXPECT_NE(options.find(roff(option)), std::string::npos) << option;
      }
      continue;
    }
    const std::string section = sectionOf(page, ".SS \"facegate " + path + "\"");
    ASSERT_FALSE(section.empty()) << "no section for facegate " << path;
    for (const auto& option : listed.options) {
      if (option == "-h" || option == "--help") {
        continue;  // once, in OPTIONS
      }
      EXPECT_NE(section.find("\\fB" + roff(option) + "\\fR"), std::string::npos)
          << "facegate " << path << " " << option;
    }
  }
}

void expectEveryOption(const fs::path& program, const std::string& pageName) {
  const Listed listed = helpOf(program, {});
  EXPECT_GE(listed.options.size(), 3U) << program;
  const std::string page = test::readFile(kManualDir / pageName);
  const std::string options = sectionOf(page, ".SH OPTIONS");
  for (const auto& option : listed.options) {
    EXPECT_NE(options.find("\\fB" + roff(option) + "\\fR"), std::string::npos)
        << pageName << ": " << option;
  }
  const std::string name = program.filename().string();
  EXPECT_NE(page.find(".SH NAME\n" + name + " \\- "), std::string::npos) << pageName;
}

TEST(Manual, DaemonAndFetchModelsPagesHaveEveryOption) {
  expectEveryOption(kDaemon, "facegated.8");
  expectEveryOption(kFetchModels, "facegate-fetch-models.8");
}

TEST(Manual, ConfigPageHasEveryKeyOfTheShippedFileInItsTable) {
  const std::string page = test::readFile(kManualDir / "facegate.toml.5");
  std::string table;
  int keys = 0;
  std::set<std::string> tables;
  for (const std::string& line :
       linesOf(test::readFile(fs::path(FACEGATE_SOURCE_DIR) / "config" / "facegate.toml"))) {
    if (line.starts_with("[")) {
      table = line.substr(1, line.find(']') - 1);
      tables.insert(table);
      EXPECT_FALSE(sectionOf(page, ".SH \"[" + table + "]\"").empty()) << table;
    } else if (!line.empty() && line.front() != '#' && line.find('=') != std::string::npos) {
      std::string key = line.substr(0, line.find('='));
      key.erase(key.find_last_not_of(' ') + 1);
      ++keys;
      EXPECT_NE(sectionOf(page, ".SH \"[" + table + "]\"").find("\\fB" + key + "\\fR = "),
                std::string::npos)
          << table << "." << key;
    }
  }
  EXPECT_GE(tables.size(), 10U);
  EXPECT_GE(keys, 40);
}

TEST(Manual, PagesAreInstalledGzippedCopies) {
  for (const auto& name : kPages) {
    const fs::path page = kManualDir / name;
    const std::string gz = test::readFile(page.string() + ".gz");
    ASSERT_GE(gz.size(), 2U) << name;
    EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f) << name;
    EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b) << name;
    const auto unzipped = test::runCommand(kGzip, {"-dc", page.string() + ".gz"});
    EXPECT_EQ(unzipped.exitCode, 0) << unzipped.err;
    EXPECT_EQ(unzipped.out, test::readFile(page)) << name;
  }
}

TEST(Manual, PagesRenderWithoutAWarning) {
  if (kGroff.empty()) {
    GTEST_SKIP() << "groff is not installed (Debian: groff-base)";
  }
  for (const auto& name : kPages) {
    const auto r =
        test::runCommand(kGroff, {"-man", "-ww", "-z", "-Tutf8", (kManualDir / name).string()});
    EXPECT_EQ(r.exitCode, 0) << name;
    EXPECT_EQ(r.err, "") << name;
  }
}

}  // namespace
}  // namespace facegate
