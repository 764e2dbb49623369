#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace facegate::gate {

// The wall clock, for what people read: badge expiry and audit timestamps. (The passage
// logic runs on frame timestamps from steady_clock instead, which never jump.)
class WallClock {
 public:
  virtual ~WallClock() = default;
  virtual std::int64_t unixNow() = 0;
};

class SystemWallClock final : public WallClock {
 public:
  std::int64_t unixNow() override;
};

class ManualWallClock final : public WallClock {
 public:
  explicit ManualWallClock(std::int64_t now) : now_(now) {}
  std::int64_t unixNow() override { return now_; }
  void set(std::int64_t now) { now_ = now; }

 private:
  std::int64_t now_;
};

// The service manager: systemd's sd_notify protocol, or nothing when not under systemd.
class ServiceNotifier {
 public:
  virtual ~ServiceNotifier() = default;
  virtual void ready(std::string_view status) = 0;  // READY=1: models loaded, camera open
  virtual void watchdog() = 0;                      // WATCHDOG=1, from the frame loop
  virtual void status(std::string_view text) = 0;   // STATUS=...
  virtual void reloading() = 0;                     // RELOADING=1 (SIGHUP)
  virtual void stopping() = 0;                      // STOPPING=1
};

// sd_notify(3); every call is a no-op when NOTIFY_SOCKET is not set.
class SystemdNotifier final : public ServiceNotifier {
 public:
  void ready(std::string_view status) override;
  void watchdog() override;
  void status(std::string_view text) override;
  void reloading() override;
  void stopping() override;
};

// Records what would have been sent (tests, demo).
class RecordingNotifier final : public ServiceNotifier {
 public:
  void ready(std::string_view status) override {
    messages.push_back("READY=1 STATUS=" + std::string(status));
  }
  void watchdog() override { ++watchdogKicks; }
  void status(std::string_view text) override { messages.push_back("STATUS=" + std::string(text)); }
  void reloading() override { messages.push_back("RELOADING=1"); }
  void stopping() override { messages.push_back("STOPPING=1"); }

  std::vector<std::string> messages;
  std::uint64_t watchdogKicks = 0;
};

}  // namespace facegate::gate
