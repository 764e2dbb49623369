#pragma once

#include <memory>

#include "facegate/camera/frame_source.hpp"
#include "facegate/config/config.hpp"
#include "facegate/core/error.hpp"
#include "facegate/signal/signaller.hpp"

// The hardware seams, chosen by the configuration: which camera and which buzzer.
namespace facegate::app {

// camera.source "images:DIR" plays DIR's images in a loop (a recorded scenario, no camera);
// anything else is opened by OpenCV (a V4L2 index or device, a stream URL, a video file).
// Not for "demo": the demo's source comes with its world (demo::DemoWorld). Not opened yet.
std::unique_ptr<camera::FrameSource> makeCamera(const config::CameraConfig& camera);

// gpio.backend "gpiod": the real lines (their errors are returned: a wrong chip or a line
// another program holds); "log": every pattern written to the log, for the demo and tests.
Result<std::unique_ptr<signal::Signaller>> makeSignaller(const config::GpioConfig& gpio);

}  // namespace facegate::app
