#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "facegate/core/error.hpp"
#include "facegate/signal/signaller.hpp"

namespace facegate::signal {

// --- Timing: what the outputs do at which moment of a pattern -------------------------------
//
// Pure functions of the pattern and of the time elapsed since it started: no clock, no
// thread, no hardware. Segment i of `onOffMs` covers [start_i, start_i + onOffMs[i]); even
// segments sound the buzzer, odd ones are silent; a boundary belongs to the segment that
// begins there. Zero-length segments are skipped; negative durations count as zero (they are
// rejected by checkPattern() before anything plays). A negative `elapsed` counts as zero.
//
// Played once, a pattern lasts the sum of its durations; the light is on for all of it (also
// during a trailing off segment), and at the end both are off. Repeating, it wraps around
// for ever and the light stays on. An empty or all-zero pattern is silent and dark.

// Whether a pattern may be played: every duration >= 0, and a repeating pattern must last
// longer than 0 ms (it would spin otherwise). InvalidArgument naming the pattern otherwise.
Result<void> checkPattern(const Pattern& pattern, bool repeating);

// The duration of one pass over the pattern.
std::chrono::milliseconds patternDuration(std::span<const int> onOffMs);

// Whether the buzzer sounds `elapsed` after the pattern started.
bool buzzerOnAt(std::span<const int> onOffMs, std::chrono::milliseconds elapsed, bool repeating);

// Whether the pattern's light is on `elapsed` after the pattern started.
bool lightOnAt(std::span<const int> onOffMs, std::chrono::milliseconds elapsed, bool repeating);

// Whether a pattern played once is over at `elapsed` (a repeating one never is).
bool finishedAt(std::span<const int> onOffMs, std::chrono::milliseconds elapsed, bool repeating);

// The first moment after `elapsed` (measured from the pattern's start, like `elapsed`) at
// which the buzzer or the light changes; nullopt when nothing changes any more (a finished
// pattern, or a repeating one whose buzzer is constant, such as [100] or [0, 100]).
std::optional<std::chrono::milliseconds> nextChange(std::span<const int> onOffMs,
                                                    std::chrono::milliseconds elapsed,
                                                    bool repeating);

// --- Playing: a thread that follows the timeline on some outputs -----------------------------

// The outputs a PatternPlayer drives: a buzzer and the lights.
class SignalOutputs {
 public:
  virtual ~SignalOutputs() = default;

  // Sets the buzzer (true = sounding) and lights only `light` (Light::None = every light off).
  // Must try every output even when one fails, and report the first failure. Must not throw.
  virtual Result<void> drive(bool buzzer, Light light) = 0;
};

// Plays patterns on `outputs` from its own thread, following the timeline above against
// steady_clock. Scheduling is by the clock, not by accumulated sleeps: a late wake-up (a busy
// machine) catches up with where the pattern should be instead of stretching it. The thread
// waits on a condition variable, so start(), stop() and destruction take effect at once.
//
// When a write fails mid-pattern the player drives every output inactive, stops, remembers the
// error and returns it from the next start(). stop() and the destructor leave every output
// inactive.
// Thread rules: every method may be called from any thread. `outputs` is borrowed: it must
// outlive the player, and only the player may drive it while the player exists.
class PatternPlayer {
 public:
  // Starts the player thread (std::system_error if the system cannot create one).
  explicit PatternPlayer(SignalOutputs& outputs);
  // Stops the thread, then drives every output inactive.
  ~PatternPlayer();
  PatternPlayer(const PatternPlayer&) = delete;
  PatternPlayer& operator=(const PatternPlayer&) = delete;

  // Replaces whatever is playing with `pattern` (`light` on for its duration), once or in a
  // loop. An invalid pattern (checkPattern) is an InvalidArgument error and changes nothing.
  // Otherwise the pattern starts, and the call returns the error of any write that failed
  // since the previous start() (the error is then forgotten): the hardware may have recovered,
  // and an alarm that might sound is better than one that surely does not.
  Result<void> start(const Pattern& pattern, Light light, bool repeating);

  // Stops the pattern and drives every output inactive before returning. A failed write is
  // remembered for the next start().
  void stop() noexcept;

  // True while a pattern is playing (a repeating one plays until stop() or start()).
  bool playing() const;

  // Waits until nothing plays, at most `timeout`; true if nothing plays.
  bool waitIdle(std::chrono::milliseconds timeout) const;

 private:
  using Clock = std::chrono::steady_clock;

  struct Playing {
    std::vector<int> onOffMs;
    Light light = Light::None;
    bool repeating = false;
    Clock::time_point startedAt;
  };

  void run();
  // Drives the outputs; on failure records the error, stops the pattern and drives every
  // output inactive. Requires mutex_ held.
  bool driveLocked(bool buzzer, Light light) noexcept;

  SignalOutputs& outputs_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;  // a new pattern, a stop, or the end of a pattern
  std::optional<Playing> playing_;
  std::uint64_t generation_ = 0;  // counts start() and stop() calls: the thread's cue to look
  bool stopping_ = false;
  std::optional<Error> lastError_;
  std::thread thread_;  // last: started once everything above is initialised
};

}  // namespace facegate::signal
