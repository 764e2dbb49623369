#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace facegate {

enum class LogDestination { Auto, Journal, Stderr };

// Points every facegate logger at one sink: the systemd journal (with priorities) or
// stderr. Auto picks the journal when the process runs under systemd (JOURNAL_STREAM is
// set). May be called again (reload); loggers made before keep working.
void configureLogging(LogDestination destination, spdlog::level::level_enum level);

// The named logger of a module ("gate", "camera", ...), created on first use.
// Log lines are for people: never pixels, embeddings, secrets or badge payloads.
std::shared_ptr<spdlog::logger> logger(const std::string& module);

}  // namespace facegate
