#include "facegate/signal/pattern_player.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "facegate/signal/press_debouncer.hpp"

namespace facegate::signal {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// --- Timing --------------------------------------------------------------------

// The buzzer state at each of `times` (ms).
std::vector<bool> buzzerAt(const std::vector<int>& onOffMs, const std::vector<int>& times,
                           bool repeating) {
  std::vector<bool> states;
  for (const int t : times) {
    states.push_back(buzzerOnAt(onOffMs, milliseconds(t), repeating));
  }
  return states;
}

TEST(PatternTiming, OnceFollowsTheSegmentsWithBoundariesBelongingToTheNextSegment) {
  const std::vector<int> p = {100, 50, 100};
  EXPECT_EQ(buzzerAt(p, {0, 1, 99, 100, 149, 150, 249, 250, 1000}, false),
            (std::vector<bool>{true, true, true, false, false, true, true, false, false}));
}

TEST(PatternTiming, LightStaysOnThroughATrailingOffSegmentAndGoesOffAtTheEnd) {
  const std::vector<int> p = {80, 200};
  EXPECT_TRUE(lightOnAt(p, 0ms, false));
  EXPECT_TRUE(lightOnAt(p, 100ms, false));
  EXPECT_FALSE(buzzerOnAt(p, 100ms, false));
  EXPECT_TRUE(lightOnAt(p, 279ms, false));
  EXPECT_FALSE(lightOnAt(p, 280ms, false));
  EXPECT_FALSE(finishedAt(p, 279ms, false));
  EXPECT_TRUE(finishedAt(p, 280ms, false));
}

TEST(PatternTiming, RepeatingWrapsAroundAndKeepsTheLightOn) {
  const std::vector<int> p = {100, 50};
  EXPECT_EQ(buzzerAt(p, {0, 99, 100, 149, 150, 249, 250, 299, 300, 150 * 1000 + 10}, true),
            (std::vector<bool>{true, true, false, false, true, true, false, false, true, true}));
  EXPECT_TRUE(lightOnAt(p, 10s, true));
  EXPECT_FALSE(finishedAt(p, 10s, true));
}

TEST(PatternTiming, OddLengthRepeatingPatternJoinsItsLastAndFirstOnSegments) {
  const std::vector<int> p = {100, 50, 100};  // period 250: on 0-100, off 100-150, on 150-350
  EXPECT_TRUE(buzzerOnAt(p, 249ms, true));
  EXPECT_TRUE(buzzerOnAt(p, 250ms, true));
  EXPECT_TRUE(buzzerOnAt(p, 349ms, true));
  EXPECT_FALSE(buzzerOnAt(p, 350ms, true));
  EXPECT_EQ(nextChange(p, 150ms, true), milliseconds(350));  // no change at the wrap (250)
  EXPECT_EQ(nextChange(p, 350ms, true), milliseconds(400));
}

TEST(PatternTiming, EmptyAndAllZeroPatternsAreSilentAndDark) {
  for (const std::vector<int>& p :
       {std::vector<int>{}, std::vector<int>{0}, std::vector<int>{0, 0}}) {
    for (const bool repeating : {false, true}) {
      EXPECT_FALSE(buzzerOnAt(p, 0ms, repeating));
      EXPECT_FALSE(lightOnAt(p, 0ms, repeating));
      EXPECT_EQ(nextChange(p, 0ms, repeating), std::nullopt);
    }
    EXPECT_TRUE(finishedAt(p, 0ms, false));
  }
}

TEST(PatternTiming, ZeroLengthSegmentsAreSkipped) {
  const std::vector<int> p = {0, 100, 50};  // off for 100 ms, then on for 50 ms
  EXPECT_FALSE(buzzerOnAt(p, 0ms, false));
  EXPECT_FALSE(buzzerOnAt(p, 99ms, false));
  EXPECT_TRUE(buzzerOnAt(p, 100ms, false));
  EXPECT_EQ(nextChange(p, 0ms, false), milliseconds(100));
  const std::vector<int> merged = {50, 0, 50, 100};  // on 0-100 (two segments), off 100-200
  EXPECT_TRUE(buzzerOnAt(merged, 50ms, false));
  EXPECT_EQ(nextChange(merged, 0ms, false), milliseconds(100));
}

TEST(PatternTiming, NegativeElapsedCountsAsTheStart) {
  EXPECT_TRUE(buzzerOnAt(std::vector<int>{100}, -5ms, false));
  EXPECT_EQ(nextChange(std::vector<int>{100}, -5ms, false), milliseconds(100));
}

TEST(PatternTiming, NextChangeVisitsEveryBoundaryOfAOncePatternThenStops) {
  const std::vector<int> p = {100, 50, 100, 30};
  std::vector<std::int64_t> changes;
  milliseconds t(0);
  while (const auto next = nextChange(p, t, false)) {
    ASSERT_GT(*next, t);
    changes.push_back(next->count());
    t = *next;
  }
  EXPECT_EQ(changes, (std::vector<std::int64_t>{100, 150, 250, 280}));
  EXPECT_TRUE(finishedAt(p, t, false));
}

TEST(PatternTiming, NextChangeFromInsideASegmentIsItsEnd) {
  const std::vector<int> p = {100, 50};
  EXPECT_EQ(nextChange(p, 37ms, false), milliseconds(100));
  EXPECT_EQ(nextChange(p, 99ms, false), milliseconds(100));
  EXPECT_EQ(nextChange(p, 100ms, false), milliseconds(150));  // the light goes off at the end
  EXPECT_EQ(nextChange(p, 150ms, false), std::nullopt);
}

TEST(PatternTiming, NextChangeOfARepeatingPatternCrossesTheWrap) {
  const std::vector<int> p = {100, 50};
  EXPECT_EQ(nextChange(p, 120ms, true), milliseconds(150));
  EXPECT_EQ(nextChange(p, 150ms, true), milliseconds(250));
  // Pass 67 starts at 10'050: on until 10'150, off until 10'200.
  EXPECT_EQ(nextChange(p, 10'120ms, true), milliseconds(10'150));
  EXPECT_EQ(nextChange(p, 10'160ms, true), milliseconds(10'200));
}

TEST(PatternTiming, ARepeatingPatternWithAConstantBuzzerNeverChanges) {
  EXPECT_EQ(nextChange(std::vector<int>{100}, 0ms, true), std::nullopt);
  EXPECT_EQ(nextChange(std::vector<int>{100, 0}, 30ms, true), std::nullopt);
  EXPECT_EQ(nextChange(std::vector<int>{0, 100}, 30ms, true), std::nullopt);
  EXPECT_TRUE(buzzerOnAt(std::vector<int>{100}, 12'345ms, true));
  EXPECT_FALSE(buzzerOnAt(std::vector<int>{0, 100}, 12'345ms, true));
}

TEST(PatternTiming, LongPatternsDoNotOverflow) {
  const std::vector<int> p(16, 2'000'000'000);  // 32e9 ms: more than an int holds
  EXPECT_EQ(patternDuration(p), milliseconds(32'000'000'000));
  EXPECT_FALSE(buzzerOnAt(p, milliseconds(3'000'000'000), false));
  EXPECT_EQ(nextChange(p, milliseconds(3'000'000'000), false), milliseconds(4'000'000'000));
}

TEST(PatternTiming, CheckPatternRejectsNegativeDurationsAndEndlessEmptyLoops) {
  EXPECT_TRUE(checkPattern(Pattern{"granted", {80}}, false));
  EXPECT_TRUE(checkPattern(Pattern{"none", {}}, false));
  auto negative = checkPattern(Pattern{"mismatch", {400, -150, 400}}, false);
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(negative.error().message, "pattern 'mismatch': duration -150 (entry 2) is negative");
  auto endless = checkPattern(Pattern{"out_of_service", {0, 0}}, true);
  ASSERT_FALSE(endless);
  EXPECT_EQ(endless.error().code, ErrorCode::InvalidArgument);
  EXPECT_NE(endless.error().message.find("'out_of_service' lasts 0 ms"), std::string::npos);
}

// --- Debounce ------------------------------------------------------------------

TEST(PressDebouncer, AcceptsTheFirstEdgeAndIgnoresBounceWithin50Ms) {
  PressDebouncer debouncer;
  EXPECT_TRUE(debouncer.accept(1000ms));
  EXPECT_FALSE(debouncer.accept(1001ms));
  EXPECT_FALSE(debouncer.accept(1049ms));
  EXPECT_TRUE(debouncer.accept(1099ms));  // exactly 50 ms after the previous edge
}

TEST(PressDebouncer, AChatterBurstLongerThanTheGapIsOnePress) {
  PressDebouncer debouncer;
  int presses = 0;
  for (int t = 0; t <= 300; t += 20) {
    presses += debouncer.accept(milliseconds(t)) ? 1 : 0;
  }
  EXPECT_EQ(presses, 1);
  EXPECT_TRUE(debouncer.accept(400ms));
}

TEST(PressDebouncer, AClockSteppedBackCountsAsAPress) {
  PressDebouncer debouncer;
  EXPECT_TRUE(debouncer.accept(10s));
  EXPECT_TRUE(debouncer.accept(1s));
  EXPECT_FALSE(debouncer.accept(1s + 10ms));
}

// --- PatternPlayer ---------------------------------------------------------------

struct Write {
  bool buzzer;
  Light light;
  Clock::time_point at;
};

// Outputs that record every write and can be told to fail one.
class RecordingOutputs final : public SignalOutputs {
 public:
  Result<void> drive(bool buzzer, Light light) override {
    const std::lock_guard lock(mutex_);
    writes_.push_back({buzzer, light, Clock::now()});
    changed_.notify_all();
    if (failAt_ && writes_.size() == *failAt_) {
      return fail(ErrorCode::Internal, "GPIO chip test line 17 (buzzer): cannot set it to 1");
    }
    return {};
  }

  // Makes the n-th write (1-based, counting all writes so far) fail.
  void failWrite(std::size_t n) {
    const std::lock_guard lock(mutex_);
    failAt_ = n;
  }

  std::vector<Write> writes() const {
    const std::lock_guard lock(mutex_);
    return writes_;
  }

  // Waits (at most 5 s: generous for a loaded CI machine) until `done(writes)` holds.
  bool waitFor(const std::function<bool(const std::vector<Write>&)>& done) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 5s, [&] { return done(writes_); });
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<Write> writes_;
  std::optional<std::size_t> failAt_;
};

bool sounding(const std::vector<Write>& w) {
  return !w.empty() && w.back().buzzer;
}
bool allOff(const Write& w) {
  return !w.buzzer && w.light == Light::None;
}

TEST(PatternPlayer, PlaysAOncePatternForItsWholeDurationAndEndsSilentAndDark) {
  RecordingOutputs outputs;
  PatternPlayer player(outputs);
  const auto before = Clock::now();
  ASSERT_TRUE(player.start(Pattern{"timeout", {40, 40, 40}}, Light::Green, false));
  ASSERT_TRUE(player.waitIdle(5s));
  const auto writes = outputs.writes();
  ASSERT_GE(writes.size(), 2U);
  EXPECT_TRUE(writes.front().buzzer);
  EXPECT_EQ(writes.front().light, Light::Green);
  EXPECT_TRUE(allOff(writes.back()));
  // The end comes by the clock: never before the pattern's 120 ms.
  EXPECT_GE(writes.back().at - before, 120ms);
  for (std::size_t i = 0; i + 1 < writes.size(); ++i) {
    EXPECT_EQ(writes[i].light, Light::Green) << "write " << i;
  }
  EXPECT_FALSE(player.playing());
}

TEST(PatternPlayer, RepeatingPatternLoopsUntilStopped) {
  RecordingOutputs outputs;
  PatternPlayer player(outputs);
  ASSERT_TRUE(player.start(Pattern{"out_of_service", {20, 20}}, Light::Red, true));
  // Three passes at least: the buzzer went on and off again and again.
  ASSERT_TRUE(outputs.waitFor([](const std::vector<Write>& w) {
    int on = 0;
    int off = 0;
    for (const auto& x : w) {
      (x.buzzer ? on : off)++;
    }
    return on >= 3 && off >= 3;
  }));
  EXPECT_TRUE(player.playing());
  for (const auto& w : outputs.writes()) {
    EXPECT_EQ(w.light, Light::Red);
  }
  player.stop();
  EXPECT_TRUE(allOff(outputs.writes().back()));
  EXPECT_FALSE(player.playing());
}

TEST(PatternPlayer, StopSilencesAtOnceAndNothingSoundsAfterwards) {
  RecordingOutputs outputs;
  PatternPlayer player(outputs);
  ASSERT_TRUE(player.start(Pattern{"long", {10'000}}, Light::Green, false));
  ASSERT_TRUE(outputs.waitFor(sounding));
  const auto before = Clock::now();
  player.stop();
  EXPECT_LT(Clock::now() - before, 1s);
  const auto stopped = outputs.writes();
  EXPECT_TRUE(allOff(stopped.back()));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(outputs.writes().size(), stopped.size()) << "the player wrote after stop()";
}

TEST(PatternPlayer, StartReplacesThePlayingPattern) {
  RecordingOutputs outputs;
  PatternPlayer player(outputs);
  ASSERT_TRUE(player.start(Pattern{"first", {10'000}}, Light::Green, true));
  ASSERT_TRUE(outputs.waitFor(sounding));
  ASSERT_TRUE(player.start(Pattern{"second", {0, 10'000}}, Light::Red, false));
  ASSERT_TRUE(outputs.waitFor(
      [](const std::vector<Write>& w) { return !w.empty() && w.back().light == Light::Red; }));
  const auto writes = outputs.writes();
  EXPECT_FALSE(writes.back().buzzer);  // the second pattern starts silent
  EXPECT_TRUE(player.playing());
}

TEST(PatternPlayer, EmptyPatternSilencesWhatPlays) {
  RecordingOutputs outputs;
  PatternPlayer player(outputs);
  ASSERT_TRUE(player.start(Pattern{"long", {10'000}}, Light::Green, true));
  ASSERT_TRUE(outputs.waitFor(sounding));
  ASSERT_TRUE(player.start(Pattern{"nothing", {}}, Light::Green, false));
  ASSERT_TRUE(player.waitIdle(5s));
  EXPECT_TRUE(allOff(outputs.writes().back()));
}

TEST(PatternPlayer, DestructionMidPatternIsPromptAndLeavesEverythingOff) {
  RecordingOutputs outputs;
  auto before = Clock::now();
  {
    PatternPlayer player(outputs);
    ASSERT_TRUE(player.start(Pattern{"long", {10'000}}, Light::Red, true));
    ASSERT_TRUE(outputs.waitFor(sounding));
    before = Clock::now();
  }
  EXPECT_LT(Clock::now() - before, 1s);
  EXPECT_TRUE(allOff(outputs.writes().back()));
}

TEST(PatternPlayer, InvalidPatternChangesNothing) {
  RecordingOutputs outputs;
  PatternPlayer player(outputs);
  ASSERT_TRUE(player.start(Pattern{"long", {10'000}}, Light::Green, true));
  ASSERT_TRUE(outputs.waitFor(sounding));
  const auto count = outputs.writes().size();
  auto bad = player.start(Pattern{"bad", {100, -1}}, Light::Red, false);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
  EXPECT_TRUE(player.playing());
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(outputs.writes().size(), count);
}

TEST(PatternPlayer, AFailedWriteSilencesEverythingAndIsReportedByTheNextStartOnly) {
  RecordingOutputs outputs;
  PatternPlayer player(outputs);
  outputs.failWrite(3);  // mid-pattern: the second toggle fails
  ASSERT_TRUE(player.start(Pattern{"out_of_service", {20, 20}}, Light::Red, true));
  ASSERT_TRUE(player.waitIdle(5s)) << "the player kept playing after a failed write";
  const auto writes = outputs.writes();
  ASSERT_EQ(writes.size(), 4U);  // two good writes, the failed one, then everything off
  EXPECT_TRUE(allOff(writes.back()));

  auto next = player.start(Pattern{"granted", {30}}, Light::Green, false);
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, ErrorCode::Internal);
  EXPECT_EQ(next.error().message, "GPIO chip test line 17 (buzzer): cannot set it to 1");
  // The pattern started nonetheless, and the error is reported once.
  ASSERT_TRUE(player.waitIdle(5s));
  EXPECT_GT(outputs.writes().size(), writes.size());
  EXPECT_TRUE(player.start(Pattern{"granted", {30}}, Light::Green, false));
}

TEST(PatternPlayer, AFailedWriteDuringStopIsReportedByTheNextStart) {
  RecordingOutputs outputs;
  PatternPlayer player(outputs);
  ASSERT_TRUE(player.start(Pattern{"long", {10'000}}, Light::Green, false));
  ASSERT_TRUE(outputs.waitFor(sounding));
  outputs.failWrite(outputs.writes().size() + 1);
  player.stop();
  const auto writes = outputs.writes();
  EXPECT_TRUE(allOff(writes.back()));  // the retry after the failure
  EXPECT_FALSE(player.start(Pattern{"granted", {30}}, Light::Green, false));
}

}  // namespace
}  // namespace facegate::signal
