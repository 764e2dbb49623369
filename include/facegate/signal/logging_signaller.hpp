#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "facegate/signal/signaller.hpp"

namespace facegate::signal {

// One call made to a LoggingSignaller.
struct SignalEvent {
  enum Kind { Play, PlayRepeating, Silence } kind = Silence;
  std::string pattern;       // the pattern's name; empty for Silence
  std::vector<int> onOffMs;  // empty for Silence
  Light light = Light::None;
  std::chrono::steady_clock::time_point at;
};

std::string_view toString(Light light) noexcept;
std::string_view toString(SignalEvent::Kind kind) noexcept;

// One line for people: "play mismatch [400, 150, 400] light=red".
std::string describe(const SignalEvent& event);

// The Signaller without hardware: it records every call instead of sounding anything (the
// demo and the tests run on it), and simulates the supervisor's button with
// pressAcknowledge(). It checks patterns exactly like the GPIO backend (checkPattern), so an
// invalid pattern is an error here too and is not recorded.
// Never blocks: no call waits for anything but a short internal lock.
// Thread rules: every method may be called from any thread.
class LoggingSignaller final : public Signaller {
 public:
  // Called after each recorded event, outside any lock (it may call back into this object),
  // on the thread that made the call; concurrent calls may reach it in a different order than
  // events() lists them. An exception from it is caught and ignored.
  using Observer = std::function<void(const SignalEvent&)>;

  LoggingSignaller() = default;
  explicit LoggingSignaller(Observer observer) : observer_(std::move(observer)) {}

  Result<void> play(const Pattern& pattern, Light light) override;
  Result<void> playRepeating(const Pattern& pattern, Light light) override;
  void silence() noexcept override;
  // True once per pressAcknowledge() since the last true.
  bool takeAcknowledge() override;

  // Every event recorded since construction or clear(), oldest first.
  std::vector<SignalEvent> events() const;
  void clear();

  // Simulates one press of the acknowledge button.
  void pressAcknowledge();

 private:
  Result<void> record(SignalEvent::Kind kind, const Pattern& pattern, Light light);
  void notify(const SignalEvent& event) const noexcept;

  const Observer observer_;
  mutable std::mutex mutex_;
  std::vector<SignalEvent> events_;
  int pendingAcknowledges_ = 0;
};

}  // namespace facegate::signal
