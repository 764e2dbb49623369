#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/common.h>
#include <spdlog/logger.h>

namespace facegate::test {

// Records what one of facegate's named loggers (core/logging.hpp) writes while the capture
// lives: every line at `level` or above, as "<level> <message>" ("debug event face ignored
// ..."), instead of writing it to the logger's sink. The logger's level and sink are
// restored on destruction. Not thread-safe: nothing may log to that module from another thread, nor
// configureLogging() run, while it lives.
class LogCapture {
 public:
  explicit LogCapture(const std::string& module,
                      spdlog::level::level_enum level = spdlog::level::trace);
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::string> lines() const;
  // The lines holding `text`.
  std::vector<std::string> linesWith(std::string_view text) const;
  void clear();

 private:
  class Sink;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<Sink> sink_;
  std::vector<spdlog::sink_ptr> savedSinks_;
  spdlog::level::level_enum savedLevel_;
};

}  // namespace facegate::test
