#pragma once

#include <chrono>
#include <optional>

namespace facegate::signal {

// Tells presses of a mechanical button from contact bounce: a "pressed" edge that comes less
// than `minGap` after the previous one (accepted or not) is bounce. Measuring from the previous
// edge, not the previous accepted press, makes a chattering burst one press however long it
// lasts. Edge times are the kernel's event timestamps (any epoch, only differences matter);
// an edge earlier than the previous one (a clock stepped back) counts as a press and restarts.
// Limitation: only "pressed" edges are seen, so chatter on the release of a press held longer
// than `minGap` can count as one more press.
// Not thread-safe: one owner.
class PressDebouncer {
 public:
  static constexpr std::chrono::milliseconds kMinGap{50};

  explicit PressDebouncer(std::chrono::nanoseconds minGap = kMinGap) : minGap_(minGap) {}

  // True if the edge at `at` is a new press.
  bool accept(std::chrono::nanoseconds at) {
    const bool press = !last_ || at < *last_ || at - *last_ >= minGap_;
    last_ = at;
    return press;
  }

 private:
  std::chrono::nanoseconds minGap_;
  std::optional<std::chrono::nanoseconds> last_;
};

}  // namespace facegate::signal
