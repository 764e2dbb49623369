#pragma once

#include <chrono>

namespace facegate::camera {

// The wait before each attempt to reconnect a lost camera: min, 2·min, 4·min, ... never more
// than max, until reset() after a frame arrives again.
//
// No jitter, on purpose: jitter exists to spread many clients that would otherwise retry a
// shared server in lockstep. A gate has one camera and one process reconnecting to it, so
// there is no herd to spread, and a deterministic sequence is what a technician reading the
// log (and a test) expects to see.
//
// Pure: no clock, no sleeping; the caller waits. Not thread-safe (one caller, the frame loop).
class Backoff {
 public:
  // Throws std::invalid_argument unless 0 < min <= max (a programming or configuration
  // error: the configuration parser already enforces this range).
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max);

  // The wait before the next attempt; each call doubles the following one, up to max.
  std::chrono::milliseconds next();

  // Back to min: call when the camera delivers frames again.
  void reset() { current_ = min_; }

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds current_;
};

}  // namespace facegate::camera
