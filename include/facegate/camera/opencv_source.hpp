#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <opencv2/core/mat.hpp>

#include "facegate/camera/frame_source.hpp"
#include "facegate/core/error.hpp"

namespace cv {
class VideoCapture;
}

namespace facegate::camera {

// What to open and what to ask of it. Mirrors the [camera] block of the configuration.
struct CaptureSettings {
  // One of:
  //   "0", "1", ...            a V4L2 camera index (/dev/video0, ...)
  //   "/dev/video0"            a V4L2 device path
  //   "rtsp://..." "rtsps://..." "http://..." "https://..."   a network stream (FFmpeg)
  //   anything else            a video file (FFmpeg), read as a plain path
  std::string source;
  int width = 640;  // asked of a device; it may pick the nearest size it supports
  int height = 480;
  int fps = 30;
  // Streams and files only (FFmpeg): the longest open() may take (connect, handshake,
  // probing the stream) before it gives up.
  std::chrono::milliseconds openTimeout{5000};
  // The longest the grabber thread may stay blocked inside one VideoCapture::read(). It
  // bounds how long close() can take on a hung source. FFmpeg honours it per read; for V4L2
  // devices see OpenCvSource::open().
  std::chrono::milliseconds readTimeout{2000};
};

// Frames from cv::VideoCapture: V4L2 for camera indexes and device paths, FFmpeg for URLs
// and video files.
//
// A grabber thread, owned by the source and alive between open() and close(), reads frames
// into a single slot; read() takes the frame from the slot, waiting on a condition variable
// at most its timeout. So read() is bounded even while the grabber is stuck inside OpenCV.
//   - Live sources (devices, streams): the newest frame replaces an unread one. A gate wants
//     the face in front of it now, not a queue of the last second; Frame::index, counted by
//     the grabber, shows the gaps.
//   - Video files: the grabber waits until the slot is taken, so every frame is delivered in
//     order, as fast as the caller reads (a replay for tests and evaluation, not paced).
// Statuses: Frame; Stalled (no frame within the timeout); Ended (a file reached its end,
// or a file failed to decode further: FFmpeg does not tell the two apart); Failed (a live
// source's read failed, its FFmpeg read timeout fired, or a frame had an unusable pixel
// format). Ended and Failed stay until close(); lastError() says why.
//
// Threads: open(), read(), close(), lastError() from one thread (the frame loop); the
// grabber is internal. Each delivered Frame owns its cv::Mat: the grabber decodes every frame
// into a fresh buffer and never writes into one handed out.
class OpenCvSource final : public FrameSource {
 public:
  explicit OpenCvSource(CaptureSettings settings);
  ~OpenCvSource() override;
  OpenCvSource(const OpenCvSource&) = delete;
  OpenCvSource& operator=(const OpenCvSource&) = delete;

  // Checks the source (a missing file or device is FileNotFound, a malformed or unsupported
  // URL InvalidArgument, a source OpenCV cannot open FileUnreadable; every message names the
  // source, password masked), opens it, and starts the grabber. An open source is closed
  // first. Streams and files: returns within openTimeout (plus a small margin). Devices:
  // OpenCV puts no timeout on opening a V4L2 device; a local ioctl, it returns at once in
  // practice. Timeouts must be 1 ms to 10 min.
  //
  // V4L2 has no per-read timeout in OpenCV 4.6: it waits up to OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT
  // seconds (default 10) for each frame, a value OpenCV reads once per process, the first
  // time a V4L2 device has to wait. So the first open() of a device sets that variable to
  // readTimeout rounded up to whole seconds, unless the environment already sets it (an
  // operator's choice wins). setenv() is not safe against a concurrent getenv() in another
  // thread: open the camera before starting threads that read the environment.
  Result<void> open() override;

  ReadStatus read(Frame& out, std::chrono::milliseconds timeout) override;

  // Stops and joins the grabber (which may first have to wait for a blocked read to time
  // out: up to readTimeout for streams, the V4L2 select timeout for devices) and releases
  // the capture. Idempotent.
  void close() noexcept override;

  std::string describe() const override;

  // Why open() or the last read() failed; nullopt after a successful open() and while the
  // source runs (Ended is not an error).
  std::optional<Error> lastError() const;

 private:
  enum class Kind { DeviceIndex, DevicePath, Stream, File };
  enum class GrabberState { Running, Ended, Failed };

  void grabLoop();
  void finish(GrabberState state, std::optional<Error> error);

  CaptureSettings settings_;
  std::string described_;  // describe(), computed once
  Kind kind_ = Kind::File;

  std::unique_ptr<cv::VideoCapture> capture_;  // used by the grabber only while it runs
  std::thread grabber_;

  mutable std::mutex mutex_;            // guards everything below
  std::condition_variable frameReady_;  // grabber -> read(): a frame, or the end
  std::condition_variable slotFree_;    // read()/close() -> grabber (files; and stop)
  std::optional<Frame> slot_;
  GrabberState state_ = GrabberState::Running;
  bool stopRequested_ = false;
  std::optional<Error> lastError_;
};

// `source` with any password hidden, for logs: the password of a URL's user-info
// ("rtsp://user:secret@host" -> "rtsp://user:***@host") and the values of query parameters
// that carry credentials in many IP cameras' URLs (password, passwd, pwd, pass, token, key,
// secret, auth, case-insensitive). Anything that is not a URL comes back unchanged.
std::string maskCredentials(std::string_view source);

// A frame as a backend returned it, as 8-bit BGR: grey and BGRA are converted, 16-bit
// samples scaled down; 3-channel 8-bit comes back as is (same buffer). Anything else is an
// InvalidArgument error naming the type.
Result<cv::Mat> toBgr8(cv::Mat image);

}  // namespace facegate::camera
