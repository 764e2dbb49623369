// GpiodSignaller against a simulated GPIO chip, and its failures that need no chip at all.
//
// This machine (and CI) has no GPIO hardware and cannot load gpio-sim, so this file carries a
// fake of the part of libgpiod's C API that libgpiodcxx calls: the functions below are defined
// in the test executable, which the dynamic linker prefers to libgpiod.so's (symbol
// interposition). They simulate chips whose name starts with "facegate-fake" and forward every
// other call to the real libgpiod (dlsym RTLD_NEXT), so tests on real or gpio-sim chips still
// reach the kernel. The fake follows libgpiod 1.6 semantics: errno + -1/NULL on failure,
// all-or-nothing requests, values in logical terms (active-low inverts the physical level).

#include <dlfcn.h>
#include <gpiod.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "facegate/signal/gpiod_signaller.hpp"

namespace facegate::signal::fakegpio {

struct Line {
  unsigned offset = 0;
  bool busy = false;  // held by another program
  bool requested = false;
  int requestType = 0;  // GPIOD_LINE_REQUEST_*
  int flags = 0;        // GPIOD_LINE_REQUEST_FLAG_*
  std::string consumer;
  std::vector<std::string> history;  // "request 0", "set 1", "release" (logical values)
  std::vector<int> physical;         // every level driven, after the active-low inversion
  int failNextWrite = 0;             // errno for the next set_value, then 0
  int failNextEventWait = 0;         // errno for the next event_wait, then 0
  std::deque<gpiod_line_event> events;

  bool output() const { return requestType == GPIOD_LINE_REQUEST_DIRECTION_OUTPUT; }
  bool activeLow() const { return (flags & GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) != 0; }
  // The logical values written by set_value, in order.
  std::vector<int> sets() const {
    std::vector<int> values;
    for (const auto& h : history) {
      if (h.starts_with("set ")) {
        values.push_back(h.back() - '0');
      }
    }
    return values;
  }
};

struct Chip {
  std::string name;
  int failOpen = 0;  // errno
  int opens = 0;
  int closes = 0;
  std::vector<std::unique_ptr<Line>> lines;
};

struct State {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, std::unique_ptr<Chip>, std::less<>> chips;
};

State& state() {
  static State s;
  return s;
}

// Requires state().mutex held.
Chip* fakeChip(const gpiod_chip* chip) {
  for (auto& [name, c] : state().chips) {
    if (static_cast<const void*>(c.get()) == static_cast<const void*>(chip)) {
      return c.get();
    }
  }
  return nullptr;
}

// Requires state().mutex held.
Line* fakeLine(const gpiod_line* line) {
  for (auto& [name, c] : state().chips) {
    for (auto& l : c->lines) {
      if (static_cast<const void*>(l.get()) == static_cast<const void*>(line)) {
        return l.get();
      }
    }
  }
  return nullptr;
}

// The fake's handles are its own objects, passed through libgpiod's opaque pointer types.
gpiod_chip* handle(Chip* chip) {
  return reinterpret_cast<gpiod_chip*>(chip);
}
gpiod_line* handle(Line* line) {
  return reinterpret_cast<gpiod_line*>(line);
}

// The real libgpiod function `name`, for handles that are not the fake's.
template <typename Function>
Function* real(const char* name) {
  void* symbol = dlsym(RTLD_NEXT, name);
  if (symbol == nullptr) {
    std::abort();
  }
  Function* function = nullptr;
  std::memcpy(&function, &symbol, sizeof function);
  return function;
}

// A simulated chip for the duration of a test: "facegate-fake..." with `count` lines.
class FakeChip {
 public:
  explicit FakeChip(std::string name = "facegate-fake", unsigned count = 8) : name_(name) {
    auto chip = std::make_unique<Chip>();
    chip->name = std::move(name);
    for (unsigned i = 0; i < count; ++i) {
      chip->lines.push_back(std::make_unique<Line>());
      chip->lines.back()->offset = i;
    }
    const std::lock_guard lock(state().mutex);
    state().chips[name_] = std::move(chip);
  }
  ~FakeChip() {
    const std::lock_guard lock(state().mutex);
    state().chips.erase(name_);
  }
  FakeChip(const FakeChip&) = delete;
  FakeChip& operator=(const FakeChip&) = delete;

  const std::string& name() const { return name_; }

  Line line(unsigned offset) const {
    const std::lock_guard lock(state().mutex);
    return lineLocked(offset);
  }
  Chip chipCounts() const {
    const std::lock_guard lock(state().mutex);
    const auto& c = *state().chips.at(name_);
    Chip counts;
    counts.opens = c.opens;
    counts.closes = c.closes;
    return counts;
  }

  void change(const std::function<void(Chip&)>& edit) {
    {
      const std::lock_guard lock(state().mutex);
      edit(*state().chips.at(name_));
    }
    state().changed.notify_all();
  }
  void change(unsigned offset, const std::function<void(Line&)>& edit) {
    change([&](Chip& c) { edit(*c.lines.at(offset)); });
  }

  void pushPress(unsigned offset, std::chrono::nanoseconds at) {
    change(offset, [at](Line& l) {
      gpiod_line_event event{};
      event.ts.tv_sec = static_cast<time_t>(at.count() / 1'000'000'000);
      event.ts.tv_nsec = static_cast<long>(at.count() % 1'000'000'000);
      event.event_type = GPIOD_LINE_EVENT_RISING_EDGE;
      l.events.push_back(event);
    });
  }

  // Waits (at most 5 s) until `done(line)` holds.
  bool waitFor(unsigned offset, const std::function<bool(const Line&)>& done) const {
    std::unique_lock lock(state().mutex);
    return state().changed.wait_for(lock, std::chrono::seconds(5),
                                    [&] { return done(lineLocked(offset)); });
  }

 private:
  Line lineLocked(unsigned offset) const {
    const auto& l = *state().chips.at(name_)->lines.at(offset);
    Line copy;
    copy.offset = l.offset;
    copy.busy = l.busy;
    copy.requested = l.requested;
    copy.requestType = l.requestType;
    copy.flags = l.flags;
    copy.consumer = l.consumer;
    copy.history = l.history;
    copy.physical = l.physical;
    return copy;
  }

  std::string name_;
};

}  // namespace facegate::signal::fakegpio

// --- The interposed libgpiod functions ---------------------------------------------

using facegate::signal::fakegpio::Chip;
using facegate::signal::fakegpio::fakeChip;
using facegate::signal::fakegpio::fakeLine;
using facegate::signal::fakegpio::handle;
using facegate::signal::fakegpio::Line;
using facegate::signal::fakegpio::real;
using facegate::signal::fakegpio::state;

extern "C" {

gpiod_chip* gpiod_chip_open_lookup(const char* descr) {
  int err = 0;
  gpiod_chip* opened = nullptr;
  {
    const std::lock_guard lock(state().mutex);
    const auto it = state().chips.find(std::string_view(descr));
    if (it == state().chips.end()) {
      return real<gpiod_chip*(const char*)>("gpiod_chip_open_lookup")(descr);
    }
    err = it->second->failOpen;
    if (err == 0) {
      ++it->second->opens;
      opened = handle(it->second.get());
    }
  }
  errno = err;
  return opened;
}

void gpiod_chip_close(gpiod_chip* chip) {
  {
    const std::lock_guard lock(state().mutex);
    if (Chip* c = fakeChip(chip)) {
      ++c->closes;
      return;
    }
  }
  real<void(gpiod_chip*)>("gpiod_chip_close")(chip);
}

unsigned int gpiod_chip_num_lines(gpiod_chip* chip) {
  {
    const std::lock_guard lock(state().mutex);
    if (Chip* c = fakeChip(chip)) {
      return static_cast<unsigned>(c->lines.size());
    }
  }
  return real<unsigned(gpiod_chip*)>("gpiod_chip_num_lines")(chip);
}

gpiod_line* gpiod_chip_get_line(gpiod_chip* chip, unsigned int offset) {
  {
    const std::lock_guard lock(state().mutex);
    if (Chip* c = fakeChip(chip)) {
      if (offset >= c->lines.size()) {
        errno = EINVAL;
        return nullptr;
      }
      return handle(c->lines[offset].get());
    }
  }
  return real<gpiod_line*(gpiod_chip*, unsigned)>("gpiod_chip_get_line")(chip, offset);
}

unsigned int gpiod_line_offset(gpiod_line* line) {
  {
    const std::lock_guard lock(state().mutex);
    if (Line* l = fakeLine(line)) {
      return l->offset;
    }
  }
  return real<unsigned(gpiod_line*)>("gpiod_line_offset")(line);
}

bool gpiod_line_is_requested(gpiod_line* line) {
  {
    const std::lock_guard lock(state().mutex);
    if (Line* l = fakeLine(line)) {
      return l->requested;
    }
  }
  return real<bool(gpiod_line*)>("gpiod_line_is_requested")(line);
}

int gpiod_line_request_bulk(gpiod_line_bulk* bulk, const gpiod_line_request_config* config,
                            const int* default_vals) {
  int err = 0;
  {
    const std::lock_guard lock(state().mutex);
    if (bulk->num_lines == 0 || fakeLine(bulk->lines[0]) == nullptr) {
      return real<int(gpiod_line_bulk*, const gpiod_line_request_config*, const int*)>(
          "gpiod_line_request_bulk")(bulk, config, default_vals);
    }
    for (unsigned i = 0; i < bulk->num_lines && err == 0; ++i) {
      const Line* l = fakeLine(bulk->lines[i]);
      err = l->busy || l->requested ? EBUSY : 0;
    }
    for (unsigned i = 0; i < bulk->num_lines && err == 0; ++i) {
      Line* l = fakeLine(bulk->lines[i]);
      l->requested = true;
      l->requestType = config->request_type;
      l->flags = config->flags;
      l->consumer = config->consumer == nullptr ? "" : config->consumer;
      if (l->output()) {
        const int value = default_vals == nullptr ? 0 : default_vals[i];
        l->history.push_back("request " + std::to_string(value));
        l->physical.push_back(value ^ (l->activeLow() ? 1 : 0));
      } else {
        l->history.push_back("request events");
      }
    }
  }
  state().changed.notify_all();
  errno = err;
  return err == 0 ? 0 : -1;
}

void gpiod_line_release_bulk(gpiod_line_bulk* bulk) {
  {
    const std::lock_guard lock(state().mutex);
    if (bulk->num_lines > 0 && fakeLine(bulk->lines[0]) != nullptr) {
      for (unsigned i = 0; i < bulk->num_lines; ++i) {
        Line* l = fakeLine(bulk->lines[i]);
        l->requested = false;
        l->history.push_back("release");
      }
      state().changed.notify_all();
      return;
    }
  }
  real<void(gpiod_line_bulk*)>("gpiod_line_release_bulk")(bulk);
}

int gpiod_line_set_value_bulk(gpiod_line_bulk* bulk, const int* values) {
  int err = 0;
  {
    const std::lock_guard lock(state().mutex);
    if (bulk->num_lines == 0 || fakeLine(bulk->lines[0]) == nullptr) {
      return real<int(gpiod_line_bulk*, const int*)>("gpiod_line_set_value_bulk")(bulk, values);
    }
    for (unsigned i = 0; i < bulk->num_lines && err == 0; ++i) {
      Line* l = fakeLine(bulk->lines[i]);
      if (!l->requested || !l->output()) {
        err = EPERM;
      } else if (l->failNextWrite != 0) {
        err = std::exchange(l->failNextWrite, 0);
      } else {
        l->history.push_back("set " + std::to_string(values[i]));
        l->physical.push_back(values[i] ^ (l->activeLow() ? 1 : 0));
      }
    }
  }
  state().changed.notify_all();
  errno = err;
  return err == 0 ? 0 : -1;
}

// Never blocks: lines with queued events are reported at once, whatever the timeout.
int gpiod_line_event_wait_bulk(gpiod_line_bulk* bulk, const struct timespec* timeout,
                               gpiod_line_bulk* event_bulk) {
  int err = 0;
  int ready = 0;
  {
    const std::lock_guard lock(state().mutex);
    if (bulk->num_lines == 0 || fakeLine(bulk->lines[0]) == nullptr) {
      return real<int(gpiod_line_bulk*, const struct timespec*, gpiod_line_bulk*)>(
          "gpiod_line_event_wait_bulk")(bulk, timeout, event_bulk);
    }
    if (event_bulk != nullptr) {
      gpiod_line_bulk_init(event_bulk);
    }
    for (unsigned i = 0; i < bulk->num_lines && err == 0; ++i) {
      Line* l = fakeLine(bulk->lines[i]);
      if (l == nullptr) {
        continue;  // a real line mixed into a fake bulk: nothing to report
      }
      if (l->failNextEventWait != 0) {
        err = std::exchange(l->failNextEventWait, 0);
      } else if (!l->events.empty()) {
        ready = 1;
        if (event_bulk != nullptr) {
          gpiod_line_bulk_add(event_bulk, bulk->lines[i]);
        }
      }
    }
  }
  errno = err;
  return err == 0 ? ready : -1;
}

int gpiod_line_event_read_multiple(gpiod_line* line, gpiod_line_event* events,
                                   unsigned int num_events) {
  {
    const std::lock_guard lock(state().mutex);
    if (Line* l = fakeLine(line)) {
      unsigned n = 0;
      while (n < num_events && !l->events.empty()) {
        events[n++] = l->events.front();
        l->events.pop_front();
      }
      return static_cast<int>(n);
    }
  }
  return real<int(gpiod_line*, gpiod_line_event*, unsigned)>("gpiod_line_event_read_multiple")(
      line, events, num_events);
}

}  // extern "C"

namespace facegate::signal {

// For signaller_test.cpp's contract suite: a GpiodSignaller on a simulated chip, with what
// keeps the chip alive (declared before the signaller, so it outlives it).
struct FakeChipSignaller {
  std::shared_ptr<void> chip;
  std::unique_ptr<Signaller> signaller;
};

FakeChipSignaller openOnFakeChip() {
  auto chip = std::make_shared<fakegpio::FakeChip>("facegate-fake-contract");
  auto opened = GpiodSignaller::open(GpioSettings{
      .chip = chip->name(), .buzzerLine = 0, .greenLine = 1, .redLine = 2, .ackButtonLine = 3});
  if (!opened) {
    ADD_FAILURE() << opened.error().message;
    return {};
  }
  return {chip, std::move(*opened)};
}

namespace {

using namespace std::chrono_literals;
using fakegpio::FakeChip;

constexpr unsigned kBuzzer = 0;
constexpr unsigned kGreen = 1;
constexpr unsigned kRed = 2;
constexpr unsigned kButton = 3;

GpioSettings wiredTo(const FakeChip& chip) {
  return GpioSettings{.chip = chip.name(),
                      .buzzerLine = kBuzzer,
                      .greenLine = kGreen,
                      .redLine = kRed,
                      .ackButtonLine = kButton,
                      .consumer = "facegate-test"};
}

Result<std::unique_ptr<GpiodSignaller>> openNoThrow(const GpioSettings& settings) {
  try {
    return GpiodSignaller::open(settings);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "GpiodSignaller::open threw: " << e.what();
  } catch (...) {
    ADD_FAILURE() << "GpiodSignaller::open threw something";
  }
  return fail(ErrorCode::Internal, "threw");
}

bool lastSetIs(const fakegpio::Line& line, int value) {
  const auto sets = line.sets();
  return !sets.empty() && sets.back() == value;
}

bool silencedAndReleased(const fakegpio::Line& line) {
  const auto& h = line.history;
  return !line.requested && h.size() >= 2 && h[h.size() - 2] == "set 0" && h.back() == "release";
}

// --- Requests ------------------------------------------------------------------

TEST(GpiodSignallerOnFakeChip, RequestsOutputsInactiveAndTheButtonForItsPressedEdge) {
  FakeChip chip;
  auto signaller = openNoThrow(wiredTo(chip));
  ASSERT_TRUE(signaller) << signaller.error().message;
  for (const unsigned offset : {kBuzzer, kGreen, kRed}) {
    const auto line = chip.line(offset);
    EXPECT_TRUE(line.requested) << offset;
    EXPECT_EQ(line.requestType, GPIOD_LINE_REQUEST_DIRECTION_OUTPUT) << offset;
    EXPECT_EQ(line.flags, 0) << offset;
    EXPECT_EQ(line.consumer, "facegate-test");
    EXPECT_EQ(line.history, std::vector<std::string>{"request 0"}) << offset;
    EXPECT_EQ(line.physical, std::vector<int>{0}) << offset;
  }
  const auto button = chip.line(kButton);
  EXPECT_TRUE(button.requested);
  EXPECT_EQ(button.requestType, GPIOD_LINE_REQUEST_EVENT_RISING_EDGE);
  EXPECT_EQ(button.flags, 0);
  EXPECT_FALSE(chip.line(4).requested);
}

TEST(GpiodSignallerOnFakeChip, ActiveLowInvertsEveryLineSoThatIdleOutputsAreHigh) {
  FakeChip chip;
  auto settings = wiredTo(chip);
  settings.activeLow = true;
  {
    auto signaller = openNoThrow(settings);
    ASSERT_TRUE(signaller) << signaller.error().message;
    for (const unsigned offset : {kBuzzer, kGreen, kRed, kButton}) {
      EXPECT_EQ(chip.line(offset).flags, GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) << offset;
    }
    // Pressed is still the logical rising edge: with the flag, the kernel reports the
    // physical falling edge of a button that pulls the line low as rising.
    EXPECT_EQ(chip.line(kButton).requestType, GPIOD_LINE_REQUEST_EVENT_RISING_EDGE);
    EXPECT_EQ(chip.line(kBuzzer).physical, std::vector<int>{1});
    (*signaller)->silence();
  }
  for (const unsigned offset : {kBuzzer, kGreen, kRed}) {
    const auto line = chip.line(offset);
    EXPECT_TRUE(silencedAndReleased(line)) << offset;
    EXPECT_EQ(line.physical.back(), 1) << "line " << offset << " was left low (active)";
  }
}

TEST(GpiodSignallerOnFakeChip, UnwiredLinesAreNotRequested) {
  FakeChip chip;
  auto signaller = openNoThrow(GpioSettings{.chip = chip.name(), .buzzerLine = 5});
  ASSERT_TRUE(signaller) << signaller.error().message;
  EXPECT_TRUE(chip.line(5).requested);
  EXPECT_EQ(chip.line(5).consumer, "facegated");
  for (const unsigned offset : {0U, 1U, 2U, 3U, 4U, 6U, 7U}) {
    EXPECT_FALSE(chip.line(offset).requested) << offset;
  }
  EXPECT_TRUE((*signaller)->play(Pattern{"granted", {10}}, Light::Green));
  EXPECT_FALSE((*signaller)->takeAcknowledge());
}

// --- Playing -------------------------------------------------------------------

TEST(GpiodSignallerOnFakeChip, PlaysThePatternOnTheBuzzerWithItsLightHeldOn) {
  FakeChip chip;
  auto signaller = openNoThrow(wiredTo(chip));
  ASSERT_TRUE(signaller) << signaller.error().message;
  ASSERT_TRUE((*signaller)->play(Pattern{"timeout", {30, 30, 30}}, Light::Green));
  // Over when the green light has been on and is off again.
  ASSERT_TRUE(chip.waitFor(kGreen, [](const fakegpio::Line& l) {
    const auto sets = l.sets();
    return sets.size() >= 2 && sets.front() == 1 && sets.back() == 0;
  }));
  const auto buzzer = chip.line(kBuzzer).sets();
  const auto green = chip.line(kGreen).sets();
  const auto red = chip.line(kRed).sets();
  ASSERT_EQ(buzzer.size(), green.size());  // each step drives every output
  EXPECT_EQ(buzzer.front(), 1);
  EXPECT_EQ(buzzer.back(), 0);
  EXPECT_NE(std::find(buzzer.begin() + 1, buzzer.end(), 0), buzzer.end());
  for (std::size_t i = 0; i + 1 < green.size(); ++i) {
    EXPECT_EQ(green[i], 1) << "the light went off during the pattern, step " << i;
  }
  EXPECT_EQ(red, std::vector<int>(red.size(), 0));
}

TEST(GpiodSignallerOnFakeChip, SilenceDrivesEveryOutputInactiveBeforeReturning) {
  FakeChip chip;
  auto signaller = openNoThrow(wiredTo(chip));
  ASSERT_TRUE(signaller) << signaller.error().message;
  ASSERT_TRUE((*signaller)->playRepeating(Pattern{"out_of_service", {10'000}}, Light::Red));
  ASSERT_TRUE(chip.waitFor(kRed, [](const fakegpio::Line& l) { return lastSetIs(l, 1); }));
  EXPECT_TRUE(lastSetIs(chip.line(kBuzzer), 1));
  (*signaller)->silence();
  for (const unsigned offset : {kBuzzer, kGreen, kRed}) {
    EXPECT_TRUE(lastSetIs(chip.line(offset), 0)) << offset;
  }
}

TEST(GpiodSignallerOnFakeChip, DestructionSilencesEveryOutputThenReleasesTheLines) {
  FakeChip chip;
  {
    auto signaller = openNoThrow(wiredTo(chip));
    ASSERT_TRUE(signaller) << signaller.error().message;
    ASSERT_TRUE((*signaller)->playRepeating(Pattern{"out_of_service", {10'000}}, Light::Red));
    ASSERT_TRUE(chip.waitFor(kRed, [](const fakegpio::Line& l) { return lastSetIs(l, 1); }));
  }
  for (const unsigned offset : {kBuzzer, kGreen, kRed}) {
    EXPECT_TRUE(silencedAndReleased(chip.line(offset))) << offset;
  }
  EXPECT_FALSE(chip.line(kButton).requested);
  EXPECT_EQ(chip.chipCounts().opens, 1);
  EXPECT_EQ(chip.chipCounts().closes, 1);
}

TEST(GpiodSignallerOnFakeChip, AWriteFailingMidPatternSilencesAndIsReturnedByTheNextPlay) {
  FakeChip chip;
  auto signaller = openNoThrow(wiredTo(chip));
  ASSERT_TRUE(signaller) << signaller.error().message;
  ASSERT_TRUE((*signaller)->playRepeating(Pattern{"out_of_service", {20, 20}}, Light::Red));
  ASSERT_TRUE(chip.waitFor(kBuzzer, [](const fakegpio::Line& l) { return lastSetIs(l, 1); }));
  chip.change(kBuzzer, [](fakegpio::Line& l) { l.failNextWrite = EIO; });
  // The failed step still drives the lights, then the player turns everything off and stops.
  ASSERT_TRUE(chip.waitFor(kRed, [](const fakegpio::Line& l) { return lastSetIs(l, 0); }));
  std::this_thread::sleep_for(60ms);
  for (const unsigned offset : {kBuzzer, kGreen, kRed}) {
    EXPECT_TRUE(lastSetIs(chip.line(offset), 0)) << offset;
  }
  const auto writesAfterFailure = chip.line(kBuzzer).history.size();
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(chip.line(kBuzzer).history.size(), writesAfterFailure) << "still playing";

  auto next = (*signaller)->play(Pattern{"granted", {10}}, Light::Green);
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, ErrorCode::Internal);
  EXPECT_TRUE(next.error().message.starts_with(
      "GPIO chip facegate-fake line 0 (buzzer): cannot set it to "))
      << next.error().message;
  EXPECT_TRUE(next.error().message.ends_with(": Input/output error")) << next.error().message;
  EXPECT_TRUE((*signaller)->play(Pattern{"granted", {10}}, Light::Green));  // reported once
}

// --- Opening fails cleanly --------------------------------------------------------

TEST(GpiodSignallerOnFakeChip, ABusyLineIsRefusedNamingChipLineAndReason) {
  FakeChip chip;
  chip.change(kRed, [](fakegpio::Line& l) { l.busy = true; });
  auto signaller = openNoThrow(wiredTo(chip));
  ASSERT_FALSE(signaller);
  EXPECT_EQ(signaller.error().code, ErrorCode::Refused);
  EXPECT_EQ(signaller.error().message,
            "GPIO chip facegate-fake line 2 (red light): cannot request it as an output: Device "
            "or resource busy (another program or a kernel driver holds the line; `gpioinfo` "
            "shows its consumer)");
  // The lines requested before the busy one are silenced and released.
  for (const unsigned offset : {kBuzzer, kGreen}) {
    EXPECT_TRUE(silencedAndReleased(chip.line(offset))) << offset;
  }
  EXPECT_EQ(chip.chipCounts().closes, chip.chipCounts().opens);
}

TEST(GpiodSignallerOnFakeChip, ALineBeyondTheChipIsAClearError) {
  FakeChip chip;
  auto settings = wiredTo(chip);
  settings.ackButtonLine = 8;
  auto signaller = openNoThrow(settings);
  ASSERT_FALSE(signaller);
  EXPECT_EQ(signaller.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(signaller.error().message,
            "GPIO chip facegate-fake line 8 (acknowledge button): out of range, the chip has 8 "
            "lines (0 to 7)");
  for (const unsigned offset : {kBuzzer, kGreen, kRed}) {
    EXPECT_TRUE(silencedAndReleased(chip.line(offset))) << offset;
  }
}

TEST(GpiodSignallerOnFakeChip, PermissionDeniedSaysWhatToDo) {
  FakeChip chip;
  chip.change([](fakegpio::Chip& c) { c.failOpen = EACCES; });
  auto signaller = openNoThrow(wiredTo(chip));
  ASSERT_FALSE(signaller);
  EXPECT_EQ(signaller.error().code, ErrorCode::FileUnreadable);
  EXPECT_TRUE(signaller.error().message.starts_with(
      "GPIO chip facegate-fake: cannot open: Permission denied (the service user needs"))
      << signaller.error().message;
}

// --- The acknowledge button -------------------------------------------------------

TEST(GpiodSignallerOnFakeChip, EachPressIsTakenOnceAndBounceIsIgnored) {
  FakeChip chip;
  auto signaller = openNoThrow(wiredTo(chip));
  ASSERT_TRUE(signaller) << signaller.error().message;
  EXPECT_FALSE((*signaller)->takeAcknowledge());
  chip.pushPress(kButton, 1000ms);
  chip.pushPress(kButton, 1010ms);  // contact bounce
  chip.pushPress(kButton, 1040ms);  // still bouncing: 30 ms after the previous edge
  chip.pushPress(kButton, 1500ms);  // a second press
  EXPECT_TRUE((*signaller)->takeAcknowledge());
  EXPECT_TRUE((*signaller)->takeAcknowledge());
  EXPECT_FALSE((*signaller)->takeAcknowledge());
  chip.pushPress(kButton, 1520ms);  // bounce of the second press, read in a later call
  EXPECT_FALSE((*signaller)->takeAcknowledge());
  chip.pushPress(kButton, 3000ms);
  EXPECT_TRUE((*signaller)->takeAcknowledge());
}

TEST(GpiodSignallerOnFakeChip, AButtonReadFailureIsReportedByTheNextPlay) {
  FakeChip chip;
  auto signaller = openNoThrow(wiredTo(chip));
  ASSERT_TRUE(signaller) << signaller.error().message;
  chip.change(kButton, [](fakegpio::Line& l) { l.failNextEventWait = EIO; });
  EXPECT_FALSE((*signaller)->takeAcknowledge());
  auto next = (*signaller)->play(Pattern{"granted", {10}}, Light::Green);
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().message,
            "GPIO chip facegate-fake line 3 (acknowledge button): cannot read its events: "
            "Input/output error");
  EXPECT_TRUE((*signaller)->play(Pattern{"granted", {10}}, Light::Green));
  chip.pushPress(kButton, 5s);
  EXPECT_TRUE((*signaller)->takeAcknowledge()) << "the button works again";
}

// --- Failures that need no chip at all --------------------------------------------

TEST(GpiodSignaller, NonexistentChipIsAClearErrorNamingIt) {
  auto opened = openNoThrow(GpioSettings{.chip = "facegate-no-such-chip"});
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::FileNotFound);
  EXPECT_EQ(opened.error().message,
            "GPIO chip facegate-no-such-chip: cannot open: No such file or directory "
            "(`gpiodetect` lists the GPIO chips of this machine)");
}

TEST(GpiodSignaller, NonexistentDevicePathIsAClearErrorNamingIt) {
  auto opened =
      openNoThrow(GpioSettings{.chip = "/dev/gpiochip-facegate-none", .ackButtonLine = 4});
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::FileNotFound);
  EXPECT_TRUE(opened.error().message.starts_with(
      "GPIO chip /dev/gpiochip-facegate-none: cannot open: No such file or directory"))
      << opened.error().message;
}

TEST(GpiodSignaller, ADeviceThatIsNotAGpioChipIsRefusedNamingIt) {
  auto opened = openNoThrow(GpioSettings{.chip = "/dev/null"});
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::InvalidArgument);
  EXPECT_TRUE(opened.error().message.starts_with("GPIO chip /dev/null: cannot open: "))
      << opened.error().message;
  EXPECT_TRUE(opened.error().message.ends_with("(this is not a GPIO chip device)"))
      << opened.error().message;
}

// Settings are checked before any device is touched: these fail the same on every machine.
TEST(GpiodSignaller, EmptyChipNameIsRejected) {
  auto opened = openNoThrow(GpioSettings{.chip = ""});
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(opened.error().message, "GPIO chip name is empty");
}

TEST(GpiodSignaller, ANegativeLineOtherThanMinusOneIsRejectedNamingIt) {
  auto opened = openNoThrow(GpioSettings{.chip = "facegate-no-such-chip", .redLine = -7});
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(opened.error().message,
            "GPIO chip facegate-no-such-chip: red light line -7 is invalid: a line offset is 0 or "
            "more, or -1 for none");
}

TEST(GpiodSignaller, ALineUsedTwiceIsRejectedNamingBothUses) {
  auto opened = openNoThrow(
      GpioSettings{.chip = "facegate-no-such-chip", .buzzerLine = 17, .ackButtonLine = 17});
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(opened.error().message,
            "GPIO chip facegate-no-such-chip: line 17 is used twice, for the buzzer and the "
            "acknowledge button");
}

}  // namespace
}  // namespace facegate::signal
