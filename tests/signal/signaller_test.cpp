#include "facegate/signal/signaller.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "facegate/signal/gpiod_signaller.hpp"
#include "facegate/signal/logging_signaller.hpp"

namespace facegate::signal {

// Defined in gpiod_signaller_test.cpp: a GpiodSignaller on a simulated chip (a fake libgpiod),
// with what keeps that chip alive.
struct FakeChipSignaller {
  std::shared_ptr<void> chip;
  std::unique_ptr<Signaller> signaller;
};
FakeChipSignaller openOnFakeChip();

namespace {

using namespace std::chrono_literals;

const Pattern kGranted{"granted", {80}};
const Pattern kMismatch{"mismatch", {400, 150, 400}};
const Pattern kOutOfService{"out_of_service", {500, 500}};

// --- Real GPIO availability ----------------------------------------------------

bool anyGpioChip() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/dev", ec)) {
    if (entry.path().filename().string().starts_with("gpiochip")) {
      return true;
    }
  }
  return false;
}

// Tests on real lines drive offsets 0 (buzzer), 1 (green), 2 (red) and read 3 (button) of the
// chip named by FACEGATE_TEST_GPIO_CHIP: a simulated chip (gpio-sim, gpio-mockup) in CI. They
// never pick a chip by themselves: on a real gate those offsets may be wired to anything.
GpioSettings testChipSettings() {
  const char* chip = std::getenv("FACEGATE_TEST_GPIO_CHIP");
  return GpioSettings{.chip = chip == nullptr ? "" : chip,
                      .buzzerLine = 0,
                      .greenLine = 1,
                      .redLine = 2,
                      .ackButtonLine = 3,
                      .consumer = "facegate-test"};
}

// Why real-GPIO tests cannot run here, or "" if they can.
std::string whyNoTestChip() {
  if (!anyGpioChip()) {
    return "no GPIO chip on this machine (no /dev/gpiochip*; gpio-sim/gpio-mockup not loaded): "
           "real GPIO is not tested here";
  }
  if (testChipSettings().chip.empty()) {
    return "set FACEGATE_TEST_GPIO_CHIP to a simulated chip (gpio-sim) with 4 free lines to test "
           "real GPIO (not run by default: it drives lines 0 to 3)";
  }
  return "";
}

#define FACEGATE_REQUIRE_TEST_CHIP()                      \
  do {                                                    \
    if (const auto why = whyNoTestChip(); !why.empty()) { \
      GTEST_SKIP() << why;                                \
    }                                                     \
  } while (false)

// --- Contract: what every Signaller does ---------------------------------------

class SignallerContract : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "logging") {
      signaller_ = std::make_unique<LoggingSignaller>();
      return;
    }
    if (GetParam() == "gpiod_fake_chip") {
      auto opened = openOnFakeChip();
      ASSERT_TRUE(opened.signaller);
      chip_ = std::move(opened.chip);
      signaller_ = std::move(opened.signaller);
      return;
    }
    FACEGATE_REQUIRE_TEST_CHIP();
    auto opened = GpiodSignaller::open(testChipSettings());
    ASSERT_TRUE(opened) << opened.error().message;
    signaller_ = std::move(*opened);
  }

  std::shared_ptr<void> chip_;  // before the signaller: outlives it
  std::unique_ptr<Signaller> signaller_;
};

TEST_P(SignallerContract, PlaysRepeatsAndSilences) {
  EXPECT_TRUE(signaller_->play(kGranted, Light::Green));
  EXPECT_TRUE(signaller_->play(kMismatch, Light::Red));
  EXPECT_TRUE(signaller_->playRepeating(kOutOfService, Light::Red));
  signaller_->silence();
  signaller_->silence();  // nothing playing: still fine
  EXPECT_TRUE(signaller_->play(Pattern{"empty", {}}, Light::None));
}

TEST_P(SignallerContract, RejectsNegativeDurations) {
  for (const bool repeating : {false, true}) {
    const Pattern bad{"broken", {100, -5}};
    auto r =
        repeating ? signaller_->playRepeating(bad, Light::Red) : signaller_->play(bad, Light::Red);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().message.find("'broken'"), std::string::npos) << r.error().message;
  }
}

TEST_P(SignallerContract, RejectsRepeatingAPatternThatLastsNothing) {
  auto r = signaller_->playRepeating(Pattern{"silent", {0, 0}}, Light::Red);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
}

TEST_P(SignallerContract, NoAcknowledgeWithoutAPress) {
  EXPECT_FALSE(signaller_->takeAcknowledge());
  EXPECT_FALSE(signaller_->takeAcknowledge());
}

TEST_P(SignallerContract, CanBeDestroyedWhileRepeating) {
  ASSERT_TRUE(signaller_->playRepeating(kOutOfService, Light::Red));
  const auto before = std::chrono::steady_clock::now();
  signaller_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
}

INSTANTIATE_TEST_SUITE_P(Backends, SignallerContract,
                         testing::Values("logging", "gpiod_fake_chip", "gpiod"),
                         [](const testing::TestParamInfo<std::string>& backend) {
                           return backend.param;
                         });

// --- LoggingSignaller ------------------------------------------------------------

TEST(LoggingSignaller, RecordsEveryCallInOrderWithPatternAndLight) {
  LoggingSignaller signaller;
  ASSERT_TRUE(signaller.play(kGranted, Light::Green));
  ASSERT_TRUE(signaller.playRepeating(kOutOfService, Light::Red));
  signaller.silence();
  const auto events = signaller.events();
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].kind, SignalEvent::Play);
  EXPECT_EQ(events[0].pattern, "granted");
  EXPECT_EQ(events[0].onOffMs, std::vector<int>{80});
  EXPECT_EQ(events[0].light, Light::Green);
  EXPECT_EQ(events[1].kind, SignalEvent::PlayRepeating);
  EXPECT_EQ(events[1].pattern, "out_of_service");
  EXPECT_EQ(events[1].onOffMs, (std::vector<int>{500, 500}));
  EXPECT_EQ(events[1].light, Light::Red);
  EXPECT_EQ(events[2].kind, SignalEvent::Silence);
  EXPECT_TRUE(events[2].pattern.empty());
  EXPECT_TRUE(events[2].onOffMs.empty());
  EXPECT_EQ(events[2].light, Light::None);
  EXPECT_LE(events[0].at, events[1].at);
  EXPECT_LE(events[1].at, events[2].at);
}

TEST(LoggingSignaller, ClearForgetsTheEvents) {
  LoggingSignaller signaller;
  ASSERT_TRUE(signaller.play(kGranted, Light::Green));
  signaller.clear();
  EXPECT_TRUE(signaller.events().empty());
  signaller.silence();
  EXPECT_EQ(signaller.events().size(), 1U);
}

TEST(LoggingSignaller, InvalidPatternIsAnErrorAndIsNotRecorded) {
  LoggingSignaller signaller;
  EXPECT_FALSE(signaller.play(Pattern{"broken", {-1}}, Light::Red));
  EXPECT_FALSE(signaller.playRepeating(Pattern{"silent", {}}, Light::Red));
  EXPECT_TRUE(signaller.events().empty());
}

TEST(LoggingSignaller, AcknowledgeIsTakenOncePerPress) {
  LoggingSignaller signaller;
  EXPECT_FALSE(signaller.takeAcknowledge());
  signaller.pressAcknowledge();
  EXPECT_TRUE(signaller.takeAcknowledge());
  EXPECT_FALSE(signaller.takeAcknowledge());
  signaller.pressAcknowledge();
  signaller.pressAcknowledge();
  EXPECT_TRUE(signaller.takeAcknowledge());
  EXPECT_TRUE(signaller.takeAcknowledge());
  EXPECT_FALSE(signaller.takeAcknowledge());
  EXPECT_TRUE(signaller.events().empty()) << "presses are not signal events";
}

TEST(LoggingSignaller, ObserverSeesEachEventAndMayCallBackIn) {
  std::vector<std::string> lines;
  std::vector<std::size_t> countsSeen;
  LoggingSignaller* self = nullptr;
  LoggingSignaller signaller([&](const SignalEvent& event) {
    lines.push_back(describe(event));
    countsSeen.push_back(self->events().size());  // no lock is held: no deadlock
  });
  self = &signaller;
  ASSERT_TRUE(signaller.play(kMismatch, Light::Red));
  ASSERT_TRUE(signaller.playRepeating(kOutOfService, Light::None));
  signaller.silence();
  EXPECT_EQ(lines,
            (std::vector<std::string>{"play mismatch [400, 150, 400] light=red",
                                      "repeat out_of_service [500, 500] light=none", "silence"}));
  EXPECT_EQ(countsSeen, (std::vector<std::size_t>{1, 2, 3}));
}

TEST(LoggingSignaller, AThrowingObserverDoesNotBreakTheGate) {
  LoggingSignaller signaller([](const SignalEvent&) { throw std::runtime_error("printer gone"); });
  EXPECT_TRUE(signaller.play(kGranted, Light::Green));
  signaller.silence();  // noexcept: would terminate if the exception escaped
  EXPECT_EQ(signaller.events().size(), 2U);
}

TEST(LoggingSignaller, IsSafeFromManyThreads) {
  std::atomic<int> observed = 0;
  LoggingSignaller signaller([&](const SignalEvent&) { ++observed; });
  constexpr int kThreads = 4;
  constexpr int kCalls = 250;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        (void)signaller.play(kGranted, Light::Green);
        signaller.pressAcknowledge();
      }
    });
  }
  int acknowledged = 0;
  for (auto& thread : threads) {
    thread.join();
  }
  while (signaller.takeAcknowledge()) {
    ++acknowledged;
  }
  EXPECT_EQ(signaller.events().size(), std::size_t{kThreads * kCalls});
  EXPECT_EQ(observed.load(), kThreads * kCalls);
  EXPECT_EQ(acknowledged, kThreads * kCalls);
}

// --- GpiodSignaller on a real or gpio-sim chip -------------------------------------

TEST(GpiodSignallerOnChip, OpensPlaysAndReleasesItsLinesOnDestruction) {
  FACEGATE_REQUIRE_TEST_CHIP();
  {
    auto opened = GpiodSignaller::open(testChipSettings());
    ASSERT_TRUE(opened) << opened.error().message;
    ASSERT_TRUE((*opened)->play(Pattern{"toggle", {20, 20, 20}}, Light::Green));
    std::this_thread::sleep_for(100ms);
    EXPECT_TRUE((*opened)->playRepeating(Pattern{"loop", {10, 10}}, Light::Red));
    std::this_thread::sleep_for(50ms);
    (*opened)->silence();
  }
  auto again = GpiodSignaller::open(testChipSettings());
  EXPECT_TRUE(again) << "lines were not released: " << again.error().message;
}

TEST(GpiodSignallerOnChip, ALineHeldElsewhereIsBusyNamingChipAndLine) {
  FACEGATE_REQUIRE_TEST_CHIP();
  const auto settings = testChipSettings();
  auto first = GpiodSignaller::open(settings);
  ASSERT_TRUE(first) << first.error().message;
  auto second = GpiodSignaller::open(settings);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::Refused);
  EXPECT_NE(second.error().message.find(fmt::format("GPIO chip {} line 0 (buzzer)", settings.chip)),
            std::string::npos)
      << second.error().message;
  EXPECT_NE(second.error().message.find("busy"), std::string::npos) << second.error().message;
}

TEST(GpiodSignallerOnChip, AFailedOpenReleasesTheLinesItHadRequested) {
  FACEGATE_REQUIRE_TEST_CHIP();
  auto holder = GpiodSignaller::open(
      GpioSettings{.chip = testChipSettings().chip, .buzzerLine = 2, .consumer = "facegate-test"});
  ASSERT_TRUE(holder) << holder.error().message;
  // Requests 0 and 1, then fails on 2 (held): 0 and 1 must be free again afterwards.
  auto failed = GpiodSignaller::open(testChipSettings());
  ASSERT_FALSE(failed);
  auto reopened = GpiodSignaller::open(GpioSettings{.chip = testChipSettings().chip,
                                                    .buzzerLine = 0,
                                                    .greenLine = 1,
                                                    .consumer = "facegate-test"});
  EXPECT_TRUE(reopened) << reopened.error().message;
}

TEST(GpiodSignallerOnChip, ALineBeyondTheChipIsAClearError) {
  FACEGATE_REQUIRE_TEST_CHIP();
  auto opened = GpiodSignaller::open(GpioSettings{
      .chip = testChipSettings().chip, .buzzerLine = 100'000, .consumer = "facegate-test"});
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::InvalidArgument);
  EXPECT_NE(opened.error().message.find("line 100000 (buzzer): out of range"), std::string::npos)
      << opened.error().message;
}

}  // namespace
}  // namespace facegate::signal
