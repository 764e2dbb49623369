#pragma once

#include <memory>
#include <string>

#include "facegate/core/error.hpp"
#include "facegate/signal/gpio_settings.hpp"
#include "facegate/signal/pattern_player.hpp"
#include "facegate/signal/signaller.hpp"

namespace facegate::signal {

// The Signaller on real GPIO lines, through libgpiod's v1 C++ API (libgpiod 1.6).
//
// Outputs: the buzzer and light lines are requested as outputs, inactive. A PatternPlayer
// thread toggles the buzzer per pattern and holds the pattern's light on meanwhile. When a
// line write fails mid-pattern every output is driven inactive and the error is returned by
// the next play()/playRepeating() (which still starts its pattern).
//
// Button: the acknowledge line is requested as an input reporting the edge that means
// "pressed": the rising edge of the *logical* value. With activeLow the kernel (>= 5.2)
// applies the inversion to edge detection too, so that is the physical falling edge of a
// button that pulls the line low; without activeLow the physical rising edge. takeAcknowledge()
// reads the pending edge events without waiting (event_wait with a zero timeout) on the
// caller's thread, and drops edges closer than 50 ms to the previous one (PressDebouncer).
// Presses read together are queued: each makes one call return true.
// The line has no internal bias set: the button needs its pull-up or pull-down resistor.
//
// Lifetime: the destructor stops the player thread, drives every output inactive and then
// releases the lines; so does every failure inside open(). No exception leaves this class:
// libgpiod's are turned into errors naming the chip, the line offset and the reason.
// Thread rules: every method may be called from any thread.
class GpiodSignaller final : public Signaller {
 public:
  // Opens `settings.chip` and requests its lines. Errors: InvalidArgument (bad settings, a line
  // beyond the chip's last, not a GPIO chip), FileNotFound (no such chip), FileUnreadable
  // (permission denied), Refused (a line is held by another program or a kernel driver),
  // Internal (anything else).
  static Result<std::unique_ptr<GpiodSignaller>> open(const GpioSettings& settings);

  ~GpiodSignaller() override;
  GpiodSignaller(const GpiodSignaller&) = delete;
  GpiodSignaller& operator=(const GpiodSignaller&) = delete;

  Result<void> play(const Pattern& pattern, Light light) override;
  Result<void> playRepeating(const Pattern& pattern, Light light) override;
  void silence() noexcept override;
  bool takeAcknowledge() override;

 private:
  class Lines;  // the chip and its requested lines (gpiod stays out of this header)
  struct Key {
    explicit Key() = default;
  };

 public:
  // For open() only (Key is private): use open().
  GpiodSignaller(Key key, std::unique_ptr<Lines> lines);

 private:
  Result<void> start(const Pattern& pattern, Light light, bool repeating);

  std::unique_ptr<Lines> lines_;
  PatternPlayer player_;  // after lines_: stopped (and the outputs silenced) before they go
};

}  // namespace facegate::signal
