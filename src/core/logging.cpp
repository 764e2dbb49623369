#include "facegate/core/logging.hpp"

#include <cstdlib>
#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>

namespace facegate {
namespace {

std::mutex& mutex() {
  static std::mutex m;
  return m;
}

spdlog::sink_ptr& currentSink() {
  static spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return sink;
}

spdlog::level::level_enum& currentLevel() {
  static spdlog::level::level_enum level = spdlog::level::info;
  return level;
}

}  // namespace

void configureLogging(LogDestination destination, spdlog::level::level_enum level) {
  const std::lock_guard lock(mutex());
  const bool underSystemd = std::getenv("JOURNAL_STREAM") != nullptr;
  if (destination == LogDestination::Journal ||
      (destination == LogDestination::Auto && underSystemd)) {
    currentSink() = std::make_shared<spdlog::sinks::systemd_sink_mt>("facegated");
    currentSink()->set_pattern("[%n] %v");  // the journal adds time and priority itself
  } else {
    currentSink() = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    currentSink()->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
  currentLevel() = level;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    l->sinks() = {currentSink()};
    l->set_level(level);
  });
}

std::shared_ptr<spdlog::logger> logger(const std::string& module) {
  const std::lock_guard lock(mutex());
  if (auto existing = spdlog::get(module)) {
    return existing;
  }
  auto created = std::make_shared<spdlog::logger>(module, currentSink());
  created->set_level(currentLevel());
  spdlog::register_logger(created);
  return created;
}

}  // namespace facegate
