#include "facegate/gate/services.hpp"

#include <chrono>

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

namespace facegate::gate {

std::int64_t SystemWallClock::unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// STATUS= is one line for `systemctl status`; keep it printable.
std::string oneLine(std::string_view text) {
  std::string out(text.substr(0, 200));
  for (char& c : out) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return out;
}

}  // namespace

void SystemdNotifier::ready(std::string_view status) {
  (void)sd_notify(0, fmt::format("READY=1\nSTATUS={}", oneLine(status)).c_str());
}
void SystemdNotifier::watchdog() {
  (void)sd_notify(0, "WATCHDOG=1");
}
void SystemdNotifier::status(std::string_view text) {
  (void)sd_notify(0, fmt::format("STATUS={}", oneLine(text)).c_str());
}
void SystemdNotifier::reloading() {
  (void)sd_notify(0, "RELOADING=1");
}
void SystemdNotifier::stopping() {
  (void)sd_notify(0, "STOPPING=1");
}

}  // namespace facegate::gate
