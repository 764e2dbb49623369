#include "options.hpp"

#include <string>

#include <CLI/CLI.hpp>

#include "facegate/build_info.hpp"
#include "facegate/cli/command_line.hpp"

namespace facegate::daemon {

DaemonCommandLine parseDaemonCommandLine(int argc, const char* const* argv) {
  DaemonCommandLine out;
  DaemonOptions& options = out.options;
  CLI::App app("the face-verification gate daemon", "facegated");
  cli::configureProgram(app, std::string("facegated ") + std::string(build::kVersion));
  app.footer(
      "Without --config it reads the installed facegate.toml if present, else runs its\n"
      "embedded defaults: the demo scenario, no camera needed.\n"
      "Signals: SIGHUP reloads the configuration (a bad one is refused, the old one kept);\n"
      "SIGTERM finishes the passage under way, silences the buzzer and exits.");
  app.add_option("--config", options.configPath, "the configuration file (see facegate.toml(5))")
      ->type_name("FILE");
  app.add_flag("--check-config", options.checkOnly,
               "validate the configuration and the files it names, then exit (0 = usable; "
               "otherwise one line per problem)");
  app.add_option("--models", options.modelDir,
                 "directory holding the dlib models (before face.models_dir)")
      ->type_name("DIR");
  out.exitNow = cli::parse(app, argc, argv);
  return out;
}

}  // namespace facegate::daemon
