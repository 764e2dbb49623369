#include "facegate/camera/backoff.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace facegate::camera {

Backoff::Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
    : min_(min), max_(max), current_(min) {
  if (min.count() <= 0 || max < min) {
    throw std::invalid_argument(
        fmt::format("reconnect back-off needs 0 < min <= max, got min {} ms and max {} ms",
                    min.count(), max.count()));
  }
}

std::chrono::milliseconds Backoff::next() {
  const auto wait = current_;
  // Compared before doubling so that a max near the type's limit cannot overflow.
  current_ = current_ > max_ / 2 ? max_ : current_ * 2;
  return wait;
}

}  // namespace facegate::camera
