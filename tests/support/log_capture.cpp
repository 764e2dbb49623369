#include "log_capture.hpp"

#include <mutex>

#include <spdlog/sinks/base_sink.h>

#include "facegate/core/logging.hpp"

namespace facegate::test {

class LogCapture::Sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines() {
    const std::lock_guard lock(mutex_);
    return lines_;
  }
  void clear() {
    const std::lock_guard lock(mutex_);
    lines_.clear();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    lines_.push_back(std::string(level.data(), level.size()) + " " +
                     std::string(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;  // guarded by base_sink's mutex_
};

LogCapture::LogCapture(const std::string& module, spdlog::level::level_enum level)
    : logger_(logger(module)),
      sink_(std::make_shared<Sink>()),
      savedSinks_(logger_->sinks()),
      savedLevel_(logger_->level()) {
  logger_->sinks() = {sink_};
  logger_->set_level(level);
}

LogCapture::~LogCapture() {
  logger_->sinks() = savedSinks_;
  logger_->set_level(savedLevel_);
}

std::vector<std::string> LogCapture::lines() const {
  return sink_->lines();
}

std::vector<std::string> LogCapture::linesWith(std::string_view text) const {
  std::vector<std::string> found;
  for (auto& line : sink_->lines()) {
    if (line.find(text) != std::string::npos) {
      found.push_back(std::move(line));
    }
  }
  return found;
}

void LogCapture::clear() {
  sink_->clear();
}

}  // namespace facegate::test
