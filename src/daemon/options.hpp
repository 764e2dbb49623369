#pragma once

// facegated's command line:
//
//   facegated [--config FILE] [--check-config] [--models DIR]
//
// parsed with the conventions of facegate/cli/command_line.hpp (usage errors: one sentence,
// exit status 2; --help and --version: exit status 0).

#include <filesystem>
#include <optional>

namespace facegate::daemon {

struct DaemonOptions {
  // --config: the configuration file; none: the installed one if present, else the embedded
  // defaults (the demo scenario).
  std::optional<std::filesystem::path> configPath;
  // --models: the dlib models' directory, before face.models_dir and the default search.
  std::optional<std::filesystem::path> modelDir;
  // --check-config: validate the configuration and the files it names, then exit.
  bool checkOnly = false;
};

// What main does next: run with `options`, or return `exitNow` at once (the help, the version
// or a usage error has been printed).
struct DaemonCommandLine {
  DaemonOptions options;
  std::optional<int> exitNow;
};

DaemonCommandLine parseDaemonCommandLine(int argc, const char* const* argv);

}  // namespace facegate::daemon
