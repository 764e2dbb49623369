// facegated: the gate daemon. Camera -> badge -> face -> decision -> buzzer + audit.
//
//   facegated [--config FILE] [--check-config] [--models DIR]
//
// Without --config it reads /etc/facegate/facegate.toml if present, else runs on its
// embedded defaults, whose camera source is the demo scenario (no camera needed).
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <opencv2/core/utils/logger.hpp>

#include "facegate/app/daemon.hpp"
#include "facegate/app/lookup.hpp"
#include "facegate/build_info.hpp"
#include "facegate/core/logging.hpp"
#include "facegate/core/process.hpp"

namespace {

namespace fs = std::filesystem;
using namespace facegate;

constexpr std::string_view kUsage =
    "usage: facegated [--config FILE] [--check-config] [--models DIR]\n"
    "  The face-verification gate daemon. Without --config it reads the installed\n"
    "  facegate.toml if present, else runs its embedded defaults: the demo scenario, no camera\n"
    "  needed.\n"
    "  --check-config  validate the configuration and the files it names, then exit\n"
    "                  (0 = usable; otherwise one line per problem)\n"
    "  Signals: SIGHUP reloads the configuration (a bad one is refused, the old one kept);\n"
    "  SIGTERM finishes the passage under way, silences the buzzer and exits.\n";

app::DaemonControls gControls;

extern "C" void onSignal(int sig) {
  if (sig == SIGHUP) {
    gControls.reload.store(true);
  } else {
    gControls.stop.store(true);
  }
}

void installSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  for (const int sig : {SIGTERM, SIGINT, SIGHUP}) {
    sigaction(sig, &action, nullptr);
  }
}

// The parsed command line; nullopt when main() is to return `exit` at once (--help,
// --version, a usage error).
struct Arguments {
  app::DaemonStart start;
  bool checkOnly = false;
};

std::optional<Arguments> parseArguments(int argc, char** argv, int& exit) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  Arguments parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help") {
      fmt::print("{}", kUsage);
      exit = 0;
      return std::nullopt;
    }
    if (args[i] == "--version") {
      fmt::print("facegated {}\n", build::kVersion);
      exit = 0;
      return std::nullopt;
    }
    if (args[i] == "--check-config") {
      parsed.checkOnly = true;
    } else if ((args[i] == "--config" || args[i] == "--models") && i + 1 < args.size()) {
      (args[i] == "--config" ? parsed.start.configPath : parsed.start.modelsDir) =
          fs::path(args[i + 1]);
      ++i;
    } else {
      fmt::print(stderr, "facegated: unknown or incomplete argument '{}'.\n{}", args[i], kUsage);
      exit = 2;
      return std::nullopt;
    }
  }
  return parsed;
}

// --check-config: the configuration and everything it names, as the daemon would open it.
int checkConfiguration(const Arguments& args, const config::Config& cfg) {
  for (const auto& w : cfg.warnings) {
    fmt::print(stderr, "facegated: warning: {}\n", w);
  }
  const auto problems = app::checkFiles(cfg, args.start.modelsDir);
  for (const auto& p : problems) {
    fmt::print(stderr, "facegated: {}\n", p);
  }
  if (problems.empty()) {
    fmt::print("facegated: configuration {} is usable\n", args.start.configPath
                                                              ? args.start.configPath->string()
                                                              : std::string("(embedded defaults)"));
  }
  return problems.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (!facegate::hardenProcess()) {
    (void)std::fprintf(stderr, "facegated: warning: could not disable core dumps\n");
  }
  umask(077);
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
  int exit = 0;
  const auto args = parseArguments(argc, argv, exit);
  if (!args) {
    return exit;
  }
  auto cfg = app::readConfig(args->start.configPath);
  if (!cfg) {
    fmt::print(stderr, "facegated: configuration refused:\n{}\n", cfg.error().message);
    return 1;
  }
  if (args->checkOnly) {
    return checkConfiguration(*args, *cfg);
  }
  installSignalHandlers();
  try {
    return app::runDaemon(args->start, std::move(*cfg), gControls);
  } catch (const std::exception& e) {
    fmt::print(stderr, "facegated: cannot start: {}.\n", e.what());
    facegate::logger("facegated")->critical("cannot start: {}", e.what());
    return 1;
  }
}
