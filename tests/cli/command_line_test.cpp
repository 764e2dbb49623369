// The command-line conventions both binaries share (facegate/cli/command_line.hpp), on a
// small program of the test's own: the sentences, the exit statuses, the strict numbers and
// the help layout the manual pages are made from.
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "facegate/cli/command_line.hpp"

namespace facegate::cli {
namespace {

// A program "prog" with a command "run" and a group "audit" of two commands.
struct Program {
  CLI::App app{"a test program", "prog"};
  std::int64_t days = 30;
  double threshold = 0.58;
  std::optional<std::string> plot;
  bool force = false;
  bool adult = false;
  std::optional<std::string> birth;
  std::string db;
  CLI::App* run = nullptr;

  Program() {
    configureProgram(app, "prog 1.0");
    run = &addCommand(app, "run", "run something", "The footer.");
    run->add_option("--db", db, "the database")->type_name("FILE")->required()->check(nonEmpty());
    checkWholeNumber(run->add_option("--days", days, "days")->type_name("N"), 1, 3660);
    checkNumber(run->add_option("--threshold", threshold, "the threshold")->type_name("T"), 0.0,
                2.0);
    CLI::Option* plotOption = run->add_option("--plot", plot, "a plot")->type_name("FILE");
    run->add_flag("--force", force, "replace it")->needs(plotOption);
    CLI::Option* adultOption = run->add_flag("--adult", adult, "an adult");
    run->add_option("--date-of-birth", birth, "the date")
        ->type_name("YYYY-MM-DD")
        ->excludes(adultOption);
    CLI::App& audit = addCommand(app, "audit", "the audit log");
    addCommand(audit, "verify", "check it");
    addCommand(audit, "show", "show it");
  }

  // parse()'s result and what it printed on stderr.
  std::pair<std::optional<int>, std::string> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "prog");
    std::vector<const char*> argv;
    for (const auto& a : args) {
      argv.push_back(a.c_str());
    }
    testing::internal::CaptureStderr();
    testing::internal::CaptureStdout();
    const auto exit = cli::parse(app, static_cast<int>(argv.size()), argv.data());
    (void)testing::internal::GetCapturedStdout();
    return {exit, testing::internal::GetCapturedStderr()};
  }
};

void expectUsageError(const std::vector<std::string>& args, const std::string& expected) {
  Program p;
  const auto [exit, err] = p.parse(args);
  EXPECT_EQ(exit, kExitUsage) << err;
  EXPECT_EQ(err.substr(0, err.find('\n')), expected) << "for: " << ::testing::PrintToString(args);
}

TEST(CommandLine, UsageErrorsAreOneSentenceNamingTheArgument) {
  expectUsageError({"frob"}, "prog: expected 'run' or 'audit', got 'frob'.");
  expectUsageError({"run", "--db"}, "prog run: --db needs a value.");
  expectUsageError({"run", "--db", "a", "--db", "b"}, "prog run: --db is given twice.");
  expectUsageError({"run", "--db", "a", "--adult=yes"}, "prog run: --adult takes no value.");
  expectUsageError({"run", "--db", "a", "--help=yes"}, "prog run: --help takes no value.");
  expectUsageError({"run", "--db", "a", "--frob=1"}, "prog run: unknown option --frob.");
  expectUsageError({"run", "--db", "a", "stray"}, "prog run: unexpected argument 'stray'.");
  expectUsageError({"run"}, "prog run: --db is required.");
  expectUsageError({"run", "--db", ""}, "prog run: --db must not be empty.");
  expectUsageError({"run", "--db", "a", "--adult", "--date-of-birth", "2000-01-01"},
                   "prog run: give either --adult or --date-of-birth, not both.");
  expectUsageError({"run", "--db", "a", "--force"}, "prog run: --force requires --plot.");
  expectUsageError({"audit"}, "prog audit: expected 'verify' or 'show'.");
  expectUsageError({"audit", "frob"}, "prog audit: expected 'verify' or 'show', got 'frob'.");
  // A second command's name is an argument of the first, not a second command.
  expectUsageError({"run", "--db", "a", "audit"}, "prog run: unexpected argument 'audit'.");
}

TEST(CommandLine, TheSecondLineSaysWhereTheOptionsAre) {
  Program p;
  const auto [exit, err] = p.parse({"run", "--db", "a", "--frob"});
  EXPECT_EQ(err, "prog run: unknown option --frob.\nRun 'prog run --help' for the options.\n");
}

TEST(CommandLine, WholeNumbersAreDecimalAndInRange) {
  for (const std::string bad :
       {"0", "3661", "+30", "0x10", " 7", "7 ", "1e3", "", "12abc", "99999999999999999999"}) {
    expectUsageError({"run", "--db", "a", "--days", bad},
                     "prog run: --days expects a whole number from 1 to 3660, got '" + bad + "'.");
  }
  Program p;
  // CLI11 alone reads a leading zero as octal (0100 = 64).
  const auto [exit, err] = p.parse({"run", "--db", "a", "--days", "0100"});
  ASSERT_FALSE(exit) << err;
  EXPECT_EQ(p.days, 100);
}

TEST(CommandLine, NumbersAreFiniteAndInRangeAndKeptExactly) {
  for (const std::string bad : {"0", "-1", "2.0001", "nan", "inf", "1e999", "0.5x", ""}) {
    expectUsageError(
        {"run", "--db", "a", "--threshold", bad},
        "prog run: --threshold expects a number greater than 0 and at most 2, got '" + bad + "'.");
  }
  for (const std::string good : {"0.1", "2", "0.58", "1e-3", "0.30000000000000004"}) {
    Program p;
    const auto [exit, err] = p.parse({"run", "--db", "a", "--threshold", good});
    ASSERT_FALSE(exit) << err;
    EXPECT_EQ(p.threshold, std::stod(good)) << good;
  }
}

TEST(CommandLine, HelpAndVersionExitZero) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, {"run", "--help"}, {"-h"}, {"--version"}}) {
    Program p;
    EXPECT_EQ(p.parse(args).first, 0);
  }
}

TEST(CommandLine, HelpLayoutIsGeneratedFromTheOptions) {
  Program p;
  const std::string help = p.run->help("prog");
  std::istringstream lines(help);
  std::string first;
  std::getline(lines, first);
  std::string second;  // the synopsis is wrapped at 100 columns, under the first option
  std::getline(lines, second);
  EXPECT_EQ(first, "usage: prog run --db FILE [--days N] [--threshold T] [--plot FILE [--force]]");
  EXPECT_EQ(second, "                [--adult | --date-of-birth YYYY-MM-DD]");
  EXPECT_NE(help.find("\nRun something.\n"), std::string::npos) << help;
  EXPECT_NE(help.find("\noptions:\n"), std::string::npos) << help;
  EXPECT_NE(help.find("\n  --days N                days (1..3660; default 30)\n"),
            std::string::npos)
      << help;
  EXPECT_NE(help.find("the threshold (above 0, at most 2; default 0.58)"), std::string::npos)
      << help;
  EXPECT_NE(help.find("\n\nThe footer.\n"), std::string::npos) << help;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 100U) << line;
  }
  const std::string top = p.app.help();
  EXPECT_NE(top.find("usage: prog [--version] run|audit\n"), std::string::npos) << top;
  EXPECT_NE(top.find("\ncommands:\n  run                     run something\n"), std::string::npos)
      << top;
}

}  // namespace
}  // namespace facegate::cli
