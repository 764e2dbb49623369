#pragma once

#include <functional>
#include <vector>

namespace CLI {
class App;
}

namespace facegate::cli {

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;         // done; for verify: same person
inline constexpr int kExitNegative = 1;   // verify: different people
inline constexpr int kExitUndecided = 2;  // could not decide / bad input / bad usage

// A command of facegate: the subcommand CLI11 parses its options into, and what runs once it
// has been chosen and parsed. run returns the process exit code; it prints results on stdout
// and one sentence on stderr when it cannot do its job.
struct Command {
  const CLI::App* app = nullptr;
  std::function<int()> run;
};
using Commands = std::vector<Command>;

// Each adds its subcommand(s) to `app` (facegate's root), with their options and help text,
// and appends their Command to `commands`. The options live as long as the Command.
void addVerify(CLI::App& app, Commands& commands);
void addBench(CLI::App& app, Commands& commands);
void addEval(CLI::App& app, Commands& commands);
void addEvalPad(CLI::App& app, Commands& commands);
void addEvalGate(CLI::App& app, Commands& commands);
void addCalibrateThreshold(CLI::App& app, Commands& commands);
// The enrolment desk (badge and audit each add a group of subcommands).
void addKeygen(CLI::App& app, Commands& commands);
void addEnroll(CLI::App& app, Commands& commands);
void addBadge(CLI::App& app, Commands& commands);
void addList(CLI::App& app, Commands& commands);
void addRevoke(CLI::App& app, Commands& commands);
void addErase(CLI::App& app, Commands& commands);
void addPurge(CLI::App& app, Commands& commands);
void addAudit(CLI::App& app, Commands& commands);

// The group the enrolment desk's commands are listed under in `facegate --help`.
inline constexpr const char* kDeskGroup = "enrolment desk";

}  // namespace facegate::cli
