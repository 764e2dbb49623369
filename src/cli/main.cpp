// facegate: the command-line tool of the enrolment desk and the technician.
#include <sys/stat.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <opencv2/core/utils/logger.hpp>

#include "commands.hpp"
#include "facegate/build_info.hpp"
#include "facegate/cli/command_line.hpp"
#include "facegate/core/process.hpp"

namespace {

using namespace facegate::cli;

std::string versionLine() {
  return fmt::format("facegate {}", facegate::build::kVersion);
}

void addVersion(CLI::App& app, Commands& commands) {
  CLI::App& command = addCommand(app, "version", "print the version");
  commands.push_back({&command, [] {
                        fmt::print("{}\n", versionLine());
                        return kExitOk;
                      }});
}

// `facegate help [COMMAND...]`: the help of facegate or of one of its commands, on stdout.
// Not listed: --help is the documented way.
void addHelp(CLI::App& app, Commands& commands) {
  auto words = std::make_shared<std::vector<std::string>>();
  CLI::App& command = addCommand(app, "help", "print the help of facegate or of a command");
  command.group("");
  command.add_option("command", *words, "the command")->type_name("COMMAND");
  commands.push_back({&command, [&app, &command, words] {
                        const CLI::App* target = &app;
                        std::string parent;
                        for (const std::string& word : *words) {
                          const auto found = target->get_subcommands([&](const CLI::App* sub) {
                            return sub->get_name() == word && !sub->get_group().empty();
                          });
                          if (found.empty()) {
                            return usageError(command, fmt::format("unknown command '{}'", word));
                          }
                          parent = commandPath(*target);
                          target = found.front();
                        }
                        fmt::print("{}", target->help(parent));
                        return kExitOk;
                      }});
}

}  // namespace

int main(int argc, char** argv) {
  if (!facegate::hardenProcess()) {
    fmt::print(stderr, "facegate: warning: could not disable core dumps\n");
  }
  // Everything facegate writes (databases, keys, badge images) is for its owner only.
  umask(077);
  // OpenCV's own warnings would duplicate the one sentence each command prints.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);

  std::string chosen = "facegate";
  try {
    CLI::App app(
        "the enrolment desk's and the technician's command line of the facegate "
        "school gate",
        "facegate");
    configureProgram(app, versionLine());
    app.footer("Run 'facegate COMMAND --help' for a command's options.");
    Commands commands;
    addVerify(app, commands);
    addBench(app, commands);
    addEval(app, commands);
    addEvalPad(app, commands);
    addEvalGate(app, commands);
    addCalibrateThreshold(app, commands);
    addVersion(app, commands);
    addKeygen(app, commands);
    addEnroll(app, commands);
    addBadge(app, commands);
    addList(app, commands);
    addRevoke(app, commands);
    addErase(app, commands);
    addPurge(app, commands);
    addAudit(app, commands);
    addHelp(app, commands);

    if (argc < 2) {
      fmt::print(stderr, "{}", app.help());
      return kExitUndecided;
    }
    if (auto exit = parse(app, argc, argv)) {
      return *exit;
    }
    const CLI::App& command = selectedCommand(app);
    chosen = commandPath(command);
    for (const Command& c : commands) {
      if (c.app == &command) {
        return c.run();
      }
    }
    // No command, only the end of the options (`facegate --`).
    return usageError(command, "expected a command");
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: internal error: {}.\n", chosen, e.what());
    return kExitUndecided;
  }
}
