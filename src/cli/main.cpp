// facegate: the command-line tool of the enrolment desk and the technician.
#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <opencv2/core/utils/logger.hpp>

#include "commands.hpp"
#include "facegate/build_info.hpp"
#include "facegate/core/process.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: facegate <command> [options]\n"
    "commands:\n"
    "  verify A.jpg B.jpg   are the faces in two photos the same person?\n"
    "  version              print the version\n"
    "Run 'facegate <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (!facegate::hardenProcess()) {
    fmt::print(stderr, "facegate: warning: could not disable core dumps\n");
  }
  // OpenCV's own warnings would duplicate the one sentence each command prints.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);

  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "help") {
    fmt::print(args.empty() ? stderr : stdout, "{}", kUsage);
    return args.empty() ? facegate::cli::kExitUndecided : facegate::cli::kExitOk;
  }
  const std::string_view command = args[0];
  const std::span<const std::string_view> rest(args.begin() + 1, args.end());
  try {
    if (command == "verify") {
      return facegate::cli::runVerify(rest);
    }
    if (command == "version" || command == "--version") {
      fmt::print("facegate {}\n", facegate::build::kVersion);
      return facegate::cli::kExitOk;
    }
    fmt::print(stderr, "facegate: unknown command '{}'.\n{}", command, kUsage);
    return facegate::cli::kExitUndecided;
  } catch (const std::exception& e) {
    fmt::print(stderr, "facegate {}: internal error: {}.\n", command, e.what());
    return facegate::cli::kExitUndecided;
  }
}
