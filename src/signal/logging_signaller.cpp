#include "facegate/signal/logging_signaller.hpp"

#include <exception>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "facegate/signal/pattern_player.hpp"

namespace facegate::signal {

std::string_view toString(Light light) noexcept {
  switch (light) {
    case Light::None: return "none";
    case Light::Green: return "green";
    case Light::Red: return "red";
  }
  return "unknown";
}

std::string_view toString(SignalEvent::Kind kind) noexcept {
  switch (kind) {
    case SignalEvent::Play: return "play";
    case SignalEvent::PlayRepeating: return "repeat";
    case SignalEvent::Silence: return "silence";
  }
  return "unknown";
}

std::string describe(const SignalEvent& event) {
  if (event.kind == SignalEvent::Silence) {
    return std::string(toString(event.kind));
  }
  return fmt::format("{} {} [{}] light={}", toString(event.kind), event.pattern,
                     fmt::join(event.onOffMs, ", "), toString(event.light));
}

Result<void> LoggingSignaller::play(const Pattern& pattern, Light light) {
  return record(SignalEvent::Play, pattern, light);
}

Result<void> LoggingSignaller::playRepeating(const Pattern& pattern, Light light) {
  return record(SignalEvent::PlayRepeating, pattern, light);
}

void LoggingSignaller::silence() noexcept {
  SignalEvent event{.kind = SignalEvent::Silence};
  try {
    const std::lock_guard lock(mutex_);
    event.at = std::chrono::steady_clock::now();  // under the lock: events() is in time order
    events_.push_back(event);
  } catch (...) {
    // Out of memory: the event is not recorded, but silence() must not throw.
    return;
  }
  notify(event);
}

bool LoggingSignaller::takeAcknowledge() {
  const std::lock_guard lock(mutex_);
  if (pendingAcknowledges_ == 0) {
    return false;
  }
  --pendingAcknowledges_;
  return true;
}

std::vector<SignalEvent> LoggingSignaller::events() const {
  const std::lock_guard lock(mutex_);
  return events_;
}

void LoggingSignaller::clear() {
  const std::lock_guard lock(mutex_);
  events_.clear();
}

void LoggingSignaller::pressAcknowledge() {
  const std::lock_guard lock(mutex_);
  ++pendingAcknowledges_;
}

Result<void> LoggingSignaller::record(SignalEvent::Kind kind, const Pattern& pattern, Light light) {
  if (auto valid = checkPattern(pattern, kind == SignalEvent::PlayRepeating); !valid) {
    return valid;
  }
  SignalEvent event{
      .kind = kind, .pattern = pattern.name, .onOffMs = pattern.onOffMs, .light = light};
  {
    const std::lock_guard lock(mutex_);
    event.at = std::chrono::steady_clock::now();
    events_.push_back(event);
  }
  notify(event);
  return {};
}

void LoggingSignaller::notify(const SignalEvent& event) const noexcept {
  if (!observer_) {
    return;
  }
  try {
    observer_(event);
  } catch (...) {
    // The observer only reports (the demo prints lines); it must not break the gate.
  }
}

}  // namespace facegate::signal
