#include "facegate/signal/pattern_player.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include <fmt/format.h>

namespace facegate::signal {

namespace {

using std::chrono::milliseconds;

std::int64_t clampedStart(milliseconds elapsed) {
  return std::max<std::int64_t>(elapsed.count(), 0);
}

}  // namespace

// --- Timing ------------------------------------------------------------------

Result<void> checkPattern(const Pattern& pattern, bool repeating) {
  for (std::size_t i = 0; i < pattern.onOffMs.size(); ++i) {
    if (pattern.onOffMs[i] < 0) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("pattern '{}': duration {} (entry {}) is negative", pattern.name,
                              pattern.onOffMs[i], i + 1));
    }
  }
  if (repeating && patternDuration(pattern.onOffMs) <= milliseconds(0)) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("pattern '{}' lasts 0 ms and cannot be repeated", pattern.name));
  }
  return {};
}

milliseconds patternDuration(std::span<const int> onOffMs) {
  std::int64_t total = 0;  // int64: the sum of many int durations may not fit an int
  for (const int ms : onOffMs) {
    total += std::max(ms, 0);
  }
  return milliseconds(total);
}

bool buzzerOnAt(std::span<const int> onOffMs, milliseconds elapsed, bool repeating) {
  const std::int64_t total = patternDuration(onOffMs).count();
  if (total == 0) {
    return false;
  }
  std::int64_t t = clampedStart(elapsed);
  if (t >= total) {
    if (!repeating) {
      return false;
    }
    t %= total;
  }
  std::int64_t end = 0;
  for (std::size_t i = 0; i < onOffMs.size(); ++i) {
    end += std::max(onOffMs[i], 0);
    if (t < end) {
      return i % 2 == 0;
    }
  }
  return false;  // not reached: t < total
}

bool lightOnAt(std::span<const int> onOffMs, milliseconds elapsed, bool repeating) {
  const std::int64_t total = patternDuration(onOffMs).count();
  return total > 0 && (repeating || clampedStart(elapsed) < total);
}

bool finishedAt(std::span<const int> onOffMs, milliseconds elapsed, bool repeating) {
  return !repeating && clampedStart(elapsed) >= patternDuration(onOffMs).count();
}

std::optional<milliseconds> nextChange(std::span<const int> onOffMs, milliseconds elapsed,
                                       bool repeating) {
  const std::int64_t total = patternDuration(onOffMs).count();
  const std::int64_t from = clampedStart(elapsed);
  if (total == 0 || (!repeating && from >= total)) {
    return std::nullopt;
  }
  const bool buzzerNow = buzzerOnAt(onOffMs, milliseconds(from), repeating);
  const bool lightNow = lightOnAt(onOffMs, milliseconds(from), repeating);
  // Segment boundaries in order, from the start of the current pass; a repeating pattern is
  // looked at for one whole period after `from` (the rest of this pass and the start of the
  // next): a state that does not change within a period never does.
  const std::int64_t passStart = repeating ? from - from % total : 0;
  const int passes = repeating ? 2 : 1;
  for (int pass = 0; pass < passes; ++pass) {
    std::int64_t boundary = passStart + pass * total;
    for (const int ms : onOffMs) {
      boundary += std::max(ms, 0);
      if (boundary <= from) {
        continue;
      }
      if (boundary > from + total) {
        return std::nullopt;
      }
      const milliseconds at(boundary);
      if (buzzerOnAt(onOffMs, at, repeating) != buzzerNow ||
          lightOnAt(onOffMs, at, repeating) != lightNow) {
        return at;
      }
    }
  }
  return std::nullopt;
}

// --- PatternPlayer -------------------------------------------------------------

PatternPlayer::PatternPlayer(SignalOutputs& outputs) : outputs_(outputs) {
  thread_ = std::thread([this] { run(); });
}

PatternPlayer::~PatternPlayer() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
  const std::lock_guard lock(mutex_);
  playing_.reset();
  driveLocked(false, Light::None);
}

Result<void> PatternPlayer::start(const Pattern& pattern, Light light, bool repeating) {
  if (auto valid = checkPattern(pattern, repeating); !valid) {
    return valid;
  }
  std::optional<Error> earlier;
  {
    const std::lock_guard lock(mutex_);
    playing_ = Playing{pattern.onOffMs, light, repeating, Clock::now()};
    ++generation_;
    earlier = std::exchange(lastError_, std::nullopt);
  }
  changed_.notify_all();
  if (earlier) {
    return tl::unexpected(std::move(*earlier));
  }
  return {};
}

void PatternPlayer::stop() noexcept {
  {
    const std::lock_guard lock(mutex_);
    playing_.reset();
    ++generation_;
    driveLocked(false, Light::None);
  }
  changed_.notify_all();
}

bool PatternPlayer::playing() const {
  const std::lock_guard lock(mutex_);
  return playing_.has_value();
}

bool PatternPlayer::waitIdle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return !playing_.has_value(); });
}

bool PatternPlayer::driveLocked(bool buzzer, Light light) noexcept {
  try {
    auto written = outputs_.drive(buzzer, light);
    if (written) {
      return true;
    }
    // Released silent on every error path: whatever failed, try to turn everything off.
    lastError_ = std::move(written.error());
  } catch (const std::exception& e) {
    lastError_ = Error{ErrorCode::Internal, fmt::format("signal outputs: {}", e.what())};
  } catch (...) {
    lastError_ = Error{ErrorCode::Internal, "signal outputs: unknown exception"};
  }
  playing_.reset();
  try {
    (void)outputs_.drive(false, Light::None);
  } catch (...) {
    // Nothing more can be done; the first error is already remembered.
  }
  return false;
}

void PatternPlayer::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!playing_) {
      changed_.wait(lock, [this] { return stopping_ || playing_.has_value(); });
      continue;
    }
    const std::uint64_t generation = generation_;
    const Playing& p = *playing_;
    const auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - p.startedAt);
    const bool buzzer = buzzerOnAt(p.onOffMs, elapsed, p.repeating);
    const Light light = lightOnAt(p.onOffMs, elapsed, p.repeating) ? p.light : Light::None;
    if (!driveLocked(buzzer, light)) {
      changed_.notify_all();  // playing_ was reset: wake waitIdle()
      continue;
    }
    if (finishedAt(p.onOffMs, elapsed, p.repeating)) {
      playing_.reset();
      changed_.notify_all();
      continue;
    }
    const auto cue = [this, generation] { return stopping_ || generation_ != generation; };
    if (const auto next = nextChange(p.onOffMs, elapsed, p.repeating)) {
      // wait_until() on steady_clock: never wakes before the boundary, so `elapsed` then
      // reaches it and the loop makes progress.
      changed_.wait_until(lock, p.startedAt + *next, cue);
    } else {
      changed_.wait(lock, cue);  // a constant state (e.g. a repeating [100]): hold it
    }
  }
}

}  // namespace facegate::signal
