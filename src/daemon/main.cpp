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

#include <fmt/format.h>
#include <opencv2/core/utils/logger.hpp>

#include "facegate/app/daemon.hpp"
#include "facegate/app/lookup.hpp"
#include "facegate/build_info.hpp"
#include "facegate/core/logging.hpp"
#include "facegate/core/process.hpp"
#include "options.hpp"

namespace {

namespace fs = std::filesystem;
using namespace facegate;

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

// --check-config: the configuration and everything it names, as the daemon would open it.
int checkConfiguration(const app::DaemonStart& start, const config::Config& cfg) {
  for (const auto& w : cfg.warnings) {
    fmt::print(stderr, "facegated: warning: {}\n", w);
  }
  const auto problems = app::checkFiles(cfg, start.modelsDir);
  for (const auto& p : problems) {
    fmt::print(stderr, "facegated: {}\n", p);
  }
  if (problems.empty()) {
    fmt::print("facegated: configuration {} is usable\n",
               start.configPath ? start.configPath->string() : std::string("(embedded defaults)"));
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
  const auto commandLine = daemon::parseDaemonCommandLine(argc, argv);
  if (commandLine.exitNow) {
    return *commandLine.exitNow;
  }
  const app::DaemonStart start{commandLine.options.configPath, commandLine.options.modelDir};
  auto cfg = app::readConfig(start.configPath);
  if (!cfg) {
    fmt::print(stderr, "facegated: configuration refused:\n{}\n", cfg.error().message);
    return 1;
  }
  if (commandLine.options.checkOnly) {
    return checkConfiguration(start, *cfg);
  }
  installSignalHandlers();
  try {
    return app::runDaemon(start, std::move(*cfg), gControls);
  } catch (const std::exception& e) {
    fmt::print(stderr, "facegated: cannot start: {}.\n", e.what());
    facegate::logger("facegated")->critical("cannot start: {}", e.what());
    return 1;
  }
}
