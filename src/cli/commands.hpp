#pragma once

#include <span>
#include <string_view>

namespace facegate::cli {

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;         // done; for verify: same person
inline constexpr int kExitNegative = 1;   // verify: different people
inline constexpr int kExitUndecided = 2;  // could not decide / bad input / bad usage

// Each command gets the arguments after its name and returns the process exit code.
// It prints results on stdout and one sentence on stderr when it cannot do its job.
int runVerify(std::span<const std::string_view> args);
int runKeygen(std::span<const std::string_view> args);
int runBadge(std::span<const std::string_view> args);
int runEnroll(std::span<const std::string_view> args);
int runList(std::span<const std::string_view> args);
int runRevoke(std::span<const std::string_view> args);
int runErase(std::span<const std::string_view> args);
int runPurge(std::span<const std::string_view> args);
int runAudit(std::span<const std::string_view> args);
int runEval(std::span<const std::string_view> args);
int runEvalPad(std::span<const std::string_view> args);
int runBench(std::span<const std::string_view> args);

}  // namespace facegate::cli
