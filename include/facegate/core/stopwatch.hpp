#pragma once

#include <chrono>

namespace facegate {

// Wall-clock milliseconds since construction or the last lap(), from steady_clock.
// For measuring stages, not for decisions (those take an injected clock).
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}

  double elapsedMs() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
        .count();
  }

  // Returns the milliseconds since the previous lap and starts a new one.
  double lap() {
    const auto now = std::chrono::steady_clock::now();
    const double ms = std::chrono::duration<double, std::milli>(now - start_).count();
    start_ = now;
    return ms;
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace facegate
