#pragma once

#include <string>
#include <vector>

#include "facegate/core/error.hpp"

namespace facegate::signal {

// A sound pattern: alternating on/off durations in milliseconds, starting with on.
struct Pattern {
  std::string name;  // for logs: granted, mismatch, out_of_service, ...
  std::vector<int> onOffMs;
};

// Which light accompanies a pattern (lights are optional hardware).
enum class Light { None, Green, Red };

// The gate's audible and visible signals and the supervisor's acknowledge button.
// Implementations play patterns without blocking the caller (the frame loop), and leave
// every output silent/off when destroyed and on every error path.
// Thread rules: all methods may be called from the frame loop's thread; implementations
// synchronise with their own player thread.
class Signaller {
 public:
  virtual ~Signaller() = default;

  // Starts `pattern` once with `light` on for its duration, replacing whatever is playing.
  virtual Result<void> play(const Pattern& pattern, Light light) = 0;

  // Starts `pattern` in a loop (out of service) until silence() or the next play().
  virtual Result<void> playRepeating(const Pattern& pattern, Light light) = 0;

  // Stops sound and lights at once.
  virtual void silence() noexcept = 0;

  // True once for each press of the supervisor's acknowledge button since the last call
  // (always false without a button).
  virtual bool takeAcknowledge() = 0;
};

}  // namespace facegate::signal
