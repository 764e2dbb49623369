#pragma once

#include <string>

namespace facegate::signal {

// Where the buzzer, the lights and the button are wired. Offsets are line numbers on `chip`;
// -1 = not wired. Used offsets must differ.
struct GpioSettings {
  std::string chip = "gpiochip0";  // a name ("gpiochip0"), a path ("/dev/gpiochip0"), a number
  int buzzerLine = 17;
  int greenLine = -1;
  int redLine = -1;
  int ackButtonLine = -1;
  // Every line, the button included, is active when LOW: "1" still means sounding, lit and
  // pressed, because the kernel inverts the lines (FLAG_ACTIVE_LOW).
  bool activeLow = false;
  std::string consumer = "facegated";  // the owner `gpioinfo` shows for the lines
  bool operator==(const GpioSettings&) const = default;
};

}  // namespace facegate::signal
