#include "facegate/signal/gpiod_signaller.hpp"

#include <bitset>
#include <cerrno>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <gpiod.hpp>

#include "facegate/signal/press_debouncer.hpp"

namespace facegate::signal {

namespace {

using namespace std::chrono_literals;

// A storm of edges (a loose wire) must not hold the frame loop in takeAcknowledge().
constexpr int kMaxEventReads = 8;

ErrorCode codeForErrno(int err) {
  switch (err) {
    case ENOENT: return ErrorCode::FileNotFound;
    case EACCES:
    case EPERM: return ErrorCode::FileUnreadable;
    case EBUSY: return ErrorCode::Refused;
    case EINVAL:
    case ENODEV:
    case ENOTTY:
    case ERANGE: return ErrorCode::InvalidArgument;
    default: return ErrorCode::Internal;
  }
}

// What a technician can do about an errno, or "".
std::string_view hintForErrno(int err) {
  switch (err) {
    case ENOENT: return " (`gpiodetect` lists the GPIO chips of this machine)";
    case EACCES:
    case EPERM:
      return " (the service user needs read-write access to the chip's /dev/gpiochip* device, "
             "e.g. through a udev rule)";
    case EBUSY:
      return " (another program or a kernel driver holds the line; `gpioinfo` shows its "
             "consumer)";
    case ENOTTY:
    case ENODEV: return " (this is not a GPIO chip device)";
    default: return "";
  }
}

// The exception being handled, as an Error whose message starts with `context` (which names
// the chip, and the line when there is one). Call only from inside a catch block.
Error currentError(std::string_view context) {
  try {
    throw;
  } catch (const std::system_error& e) {
    const int err = e.code().value();
    return Error{codeForErrno(err),
                 fmt::format("{}: {}{}", context, e.code().message(), hintForErrno(err))};
  } catch (const std::out_of_range& e) {
    return Error{ErrorCode::InvalidArgument, fmt::format("{}: {}", context, e.what())};
  } catch (const std::exception& e) {
    return Error{ErrorCode::Internal, fmt::format("{}: {}", context, e.what())};
  } catch (...) {
    return Error{ErrorCode::Internal, fmt::format("{}: unknown exception", context)};
  }
}

struct LineUse {
  std::string_view role;
  int offset;
};

Result<void> checkSettings(const GpioSettings& settings) {
  if (settings.chip.empty()) {
    return fail(ErrorCode::InvalidArgument, "GPIO chip name is empty");
  }
  const LineUse uses[] = {{"buzzer", settings.buzzerLine},
                          {"green light", settings.greenLine},
                          {"red light", settings.redLine},
                          {"acknowledge button", settings.ackButtonLine}};
  for (std::size_t i = 0; i < std::size(uses); ++i) {
    if (uses[i].offset < -1) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("GPIO chip {}: {} line {} is invalid: a line offset is 0 or more, "
                              "or -1 for none",
                              settings.chip, uses[i].role, uses[i].offset));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (uses[i].offset >= 0 && uses[i].offset == uses[j].offset) {
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("GPIO chip {}: line {} is used twice, for the {} and the {}",
                                settings.chip, uses[i].offset, uses[j].role, uses[i].role));
      }
    }
  }
  return {};
}

// A line this process holds. The destructor drives an output inactive before releasing the
// line: a released output may keep its last value, and the buzzer must not sound on.
class RequestedLine {
 public:
  // Requests `line` (throws what libgpiod throws); an output starts inactive.
  RequestedLine(gpiod::line line, const gpiod::line_request& request, std::string_view role)
      : line_(std::move(line)),
        role_(role),
        output_(request.request_type == gpiod::line_request::DIRECTION_OUTPUT) {
    line_.request(request, 0);
  }
  ~RequestedLine() {
    if (output_) {
      try {
        line_.set_value(0);
      } catch (...) {
        // The line may be gone (chip unplugged); releasing it is all that is left.
      }
    }
    try {
      line_.release();
    } catch (...) {
    }
  }
  RequestedLine(const RequestedLine&) = delete;
  RequestedLine& operator=(const RequestedLine&) = delete;

  const gpiod::line& line() const { return line_; }
  std::string_view role() const { return role_; }

 private:
  gpiod::line line_;
  std::string_view role_;  // a literal
  bool output_;
};

}  // namespace

// The chip and the requested lines. drive() is called by the PatternPlayer (under its lock);
// the button has its own lock.
class GpiodSignaller::Lines final : public SignalOutputs {
 public:
  explicit Lines(GpioSettings settings) : settings_(std::move(settings)) {}

  Result<void> open() {
    try {
      chip_.open(settings_.chip, gpiod::chip::OPEN_LOOKUP);
    } catch (...) {
      return tl::unexpected(currentError(fmt::format("GPIO chip {}: cannot open", settings_.chip)));
    }
    std::bitset<32> flags;
    if (settings_.activeLow) {
      flags |= gpiod::line_request::FLAG_ACTIVE_LOW;
    }
    const gpiod::line_request output{settings_.consumer, gpiod::line_request::DIRECTION_OUTPUT,
                                     flags};
    // Pressed = the logical value going from inactive to active (see the header).
    const gpiod::line_request button{settings_.consumer, gpiod::line_request::EVENT_RISING_EDGE,
                                     flags};
    if (auto r = request(buzzer_, settings_.buzzerLine, "buzzer", output); !r) {
      return r;
    }
    if (auto r = request(green_, settings_.greenLine, "green light", output); !r) {
      return r;
    }
    if (auto r = request(red_, settings_.redLine, "red light", output); !r) {
      return r;
    }
    return request(button_, settings_.ackButtonLine, "acknowledge button", button);
  }

  Result<void> drive(bool buzzer, Light light) override {
    Result<void> first;
    const auto set = [this, &first](const std::optional<RequestedLine>& line, bool active) {
      if (!line) {
        return;
      }
      try {
        line->line().set_value(active ? 1 : 0);
      } catch (...) {
        if (first) {
          first = tl::unexpected(
              currentError(describe(*line, fmt::format("cannot set it to {}", active ? 1 : 0))));
        }
      }
    };
    set(buzzer_, buzzer);
    set(green_, light == Light::Green);
    set(red_, light == Light::Red);
    return first;
  }

  bool takeAcknowledge() {
    const std::lock_guard lock(buttonMutex_);
    if (!button_) {
      return false;
    }
    try {
      for (int round = 0; round < kMaxEventReads && button_->line().event_wait(0ns); ++round) {
        for (const auto& event : button_->line().event_read_multiple()) {
          if (event.event_type == gpiod::line_event::RISING_EDGE &&
              debouncer_.accept(event.timestamp)) {
            ++pendingPresses_;
          }
        }
      }
    } catch (...) {
      buttonError_ = currentError(describe(*button_, "cannot read its events"));
    }
    if (pendingPresses_ == 0) {
      return false;
    }
    --pendingPresses_;
    return true;
  }

  // The error of a failed button read since the last call, if any.
  std::optional<Error> takeButtonError() {
    const std::lock_guard lock(buttonMutex_);
    return std::exchange(buttonError_, std::nullopt);
  }

 private:
  std::string describe(const RequestedLine& line, std::string_view what) const {
    return fmt::format("GPIO chip {} line {} ({}): {}", settings_.chip, line.line().offset(),
                       line.role(), what);
  }

  Result<void> request(std::optional<RequestedLine>& slot, int offset, std::string_view role,
                       const gpiod::line_request& config) {
    if (offset < 0) {
      return {};
    }
    const unsigned count = chip_.num_lines();
    if (static_cast<unsigned>(offset) >= count) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("GPIO chip {} line {} ({}): out of range, the chip has {} lines "
                              "(0 to {})",
                              settings_.chip, offset, role, count, count - 1));
    }
    const std::string_view direction =
        config.request_type == gpiod::line_request::DIRECTION_OUTPUT ? "an output" : "an input";
    try {
      slot.emplace(chip_.get_line(static_cast<unsigned>(offset)), config, role);
    } catch (...) {
      return tl::unexpected(
          currentError(fmt::format("GPIO chip {} line {} ({}): cannot request it as {}",
                                   settings_.chip, offset, role, direction)));
    }
    return {};
  }

  const GpioSettings settings_;
  gpiod::chip chip_;  // before the lines: they are released first
  std::optional<RequestedLine> buzzer_;
  std::optional<RequestedLine> green_;
  std::optional<RequestedLine> red_;

  std::mutex buttonMutex_;
  std::optional<RequestedLine> button_;
  PressDebouncer debouncer_;
  int pendingPresses_ = 0;
  std::optional<Error> buttonError_;
};

Result<std::unique_ptr<GpiodSignaller>> GpiodSignaller::open(const GpioSettings& settings) {
  if (auto valid = checkSettings(settings); !valid) {
    return tl::unexpected(std::move(valid.error()));
  }
  try {
    auto lines = std::make_unique<Lines>(settings);
    if (auto opened = lines->open(); !opened) {
      return tl::unexpected(std::move(opened.error()));  // `lines` releases what it holds
    }
    return std::make_unique<GpiodSignaller>(Key{}, std::move(lines));
  } catch (const std::exception& e) {
    // Out of memory, or no thread for the player.
    return fail(ErrorCode::Internal, fmt::format("GPIO chip {}: cannot start the signaller: {}",
                                                 settings.chip, e.what()));
  }
}

GpiodSignaller::GpiodSignaller(Key /*key*/, std::unique_ptr<Lines> lines)
    : lines_(std::move(lines)), player_(*lines_) {}

GpiodSignaller::~GpiodSignaller() = default;

Result<void> GpiodSignaller::play(const Pattern& pattern, Light light) {
  return start(pattern, light, false);
}

Result<void> GpiodSignaller::playRepeating(const Pattern& pattern, Light light) {
  return start(pattern, light, true);
}

void GpiodSignaller::silence() noexcept {
  player_.stop();
}

bool GpiodSignaller::takeAcknowledge() {
  return lines_->takeAcknowledge();
}

Result<void> GpiodSignaller::start(const Pattern& pattern, Light light, bool repeating) {
  if (auto started = player_.start(pattern, light, repeating); !started) {
    return started;
  }
  if (auto buttonError = lines_->takeButtonError()) {
    return tl::unexpected(std::move(*buttonError));
  }
  return {};
}

}  // namespace facegate::signal
