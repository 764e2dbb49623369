#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "facegate/config/config.hpp"
#include "facegate/core/error.hpp"

// Where the gate finds its configuration, its models and its keys: one lookup, used by the
// daemon when it starts and by --check-config, so that what is checked is what will run.
namespace facegate::app {

// `path` when given; else the installed facegate.toml if it exists; else the embedded
// defaults (the demo scenario).
Result<config::Config> readConfig(const std::optional<std::filesystem::path>& path);

// The models directory: `modelsFlag` (--models), else face.models_dir, else the default
// search (face::findModelDir).
Result<std::filesystem::path> modelDirFor(const config::Config& config,
                                          const std::optional<std::filesystem::path>& modelsFlag);

// True when the configuration runs the demo scenario (camera.source = "demo"): its keys and
// database are made up at start, none of the configured ones are used.
bool isDemo(const config::Config& config);

// Everything the daemon will open, checked as it will open it: the school's public key, the
// template key, the database's directory, owner and mode, and each model file against its
// checksum. One sentence per problem; empty when the daemon can start.
std::vector<std::string> checkFiles(const config::Config& config,
                                    const std::optional<std::filesystem::path>& modelsFlag);

}  // namespace facegate::app
