// facegate: the command-line tool of the enrolment desk and the technician.
#include <sys/stat.h>

#include <cstdio>
#include <exception>
#include <string_view>
#include <utility>
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
    "  bench                latency per stage, memory and throughput on this machine\n"
    "  eval DIR             error rates (EER, FNMR at FMR, DET plot) on folders of persons\n"
    "  eval-pad             presentation-attack detection rates (APCER, BPCER) on videos\n"
    "enrolment desk:\n"
    "  keygen               make the school's badge-signing keys\n"
    "  enroll               enrol a volunteer and write their badge\n"
    "  badge issue          write a badge for a pupil who did not volunteer\n"
    "  badge render         write a badge payload as a QR code PNG\n"
    "  badge inspect        check a badge: signature, validity, registration\n"
    "  list                 pupils, consent and badges\n"
    "  revoke               revoke a lost badge\n"
    "  erase                erase a pupil (withdrawal of consent)\n"
    "  purge                delete audit records past the retention\n"
    "  audit verify|show    check or show the hash-chained audit log\n"
    "  version              print the version\n"
    "Run 'facegate <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (!facegate::hardenProcess()) {
    fmt::print(stderr, "facegate: warning: could not disable core dumps\n");
  }
  // Everything facegate writes (databases, keys, badge images) is for its owner only.
  umask(077);
  // OpenCV's own warnings would duplicate the one sentence each command prints.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);

  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "help") {
    fmt::print(args.empty() ? stderr : stdout, "{}", kUsage);
    return args.empty() ? facegate::cli::kExitUndecided : facegate::cli::kExitOk;
  }
  const std::string_view command = args[0];
  const std::span<const std::string_view> rest(args.begin() + 1, args.end());
  using Command = int (*)(std::span<const std::string_view>);
  static constexpr std::pair<std::string_view, Command> kCommands[] = {
      {"verify", facegate::cli::runVerify}, {"keygen", facegate::cli::runKeygen},
      {"enroll", facegate::cli::runEnroll}, {"badge", facegate::cli::runBadge},
      {"list", facegate::cli::runList},     {"revoke", facegate::cli::runRevoke},
      {"erase", facegate::cli::runErase},   {"purge", facegate::cli::runPurge},
      {"audit", facegate::cli::runAudit},   {"bench", facegate::cli::runBench},
      {"eval", facegate::cli::runEval},     {"eval-pad", facegate::cli::runEvalPad},
  };
  try {
    for (const auto& [name, run] : kCommands) {
      if (command == name) {
        return run(rest);
      }
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
