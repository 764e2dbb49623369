#include "facegate/app/backends.hpp"

#include <string_view>

#include <fmt/format.h>

#include "facegate/camera/image_sequence_source.hpp"
#include "facegate/camera/opencv_source.hpp"
#include "facegate/core/logging.hpp"
#include "facegate/signal/gpiod_signaller.hpp"
#include "facegate/signal/logging_signaller.hpp"

namespace facegate::app {

std::unique_ptr<camera::FrameSource> makeCamera(const config::CameraConfig& c) {
  constexpr std::string_view kImages = "images:";
  if (std::string_view(c.source).starts_with(kImages)) {
    camera::ImageSequenceSettings images;
    images.directory = c.source.substr(kImages.size());
    images.fps = c.fps;
    images.loop = true;
    return std::make_unique<camera::ImageSequenceSource>(images);
  }
  camera::CaptureSettings capture;
  capture.source = c.source;
  capture.width = c.width;
  capture.height = c.height;
  capture.fps = c.fps;
  capture.readTimeout = std::chrono::milliseconds(c.stallTimeoutMs);
  return std::make_unique<camera::OpenCvSource>(capture);
}

Result<std::unique_ptr<signal::Signaller>> makeSignaller(const config::GpioConfig& c) {
  if (c.backend == config::GpioBackend::Gpiod) {
    auto opened = signal::GpiodSignaller::open(c);  // its lines: the signal module's settings
    if (!opened) {
      return tl::unexpected(opened.error());
    }
    return std::unique_ptr<signal::Signaller>(std::move(*opened));
  }
  return std::make_unique<signal::LoggingSignaller>([](const signal::SignalEvent& e) {
    if (e.kind == signal::SignalEvent::Kind::Silence) {
      return;
    }
    logger("signal")->info(
        "{} {} {}", e.kind == signal::SignalEvent::Kind::PlayRepeating ? "repeating" : "pattern",
        e.pattern, fmt::join(e.onOffMs, "/"));
  });
}

}  // namespace facegate::app
