#include "facegate/camera/opencv_source.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <opencv2/core/check.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

namespace facegate::camera {
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

constexpr std::string_view kUrlSeparator = "://";
constexpr std::array<std::string_view, 4> kStreamSchemes = {"rtsp", "rtsps", "http", "https"};
constexpr std::array<std::string_view, 8> kSecretQueryKeys = {
    "password", "passwd", "pwd", "pass", "token", "key", "secret", "auth"};
constexpr std::string_view kMask = "***";
constexpr const char* kV4l2SelectTimeoutVariable = "OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT";
// More digits than any V4L2 index; keeps "12345678901" from being taken for one.
constexpr std::size_t kMaxIndexDigits = 3;
// Timeouts reach OpenCV as int milliseconds; anything longer than this is a mistake anyway.
constexpr milliseconds kMaxTimeout = std::chrono::minutes(10);

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool isAllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// The parts of a URL, split the way FFmpeg's av_url_split() does: the authority ends at the
// first '/', '?' or '#' (RFC 3986 requires those to be percent-encoded in a password), and
// the user-info ends at the last '@' inside it.
struct UrlParts {
  std::string_view scheme;
  std::string_view userInfo;  // without the '@'; empty when absent
  bool hasUserInfo = false;
  std::string_view hostPort;
  std::string_view path;   // from the first '/' up to '?' or '#'
  std::string_view query;  // without the '?'
  bool hasQuery = false;
  std::string_view fragment;  // with the '#'
};

std::optional<UrlParts> splitUrl(std::string_view url) {
  const auto separator = url.find(kUrlSeparator);
  if (separator == std::string_view::npos) {
    return std::nullopt;
  }
  // RFC 3986: a scheme is a letter followed by letters, digits, '+', '-' or '.'. Anything
  // else before "://" is part of a file name.
  const std::string_view scheme = url.substr(0, separator);
  const auto isSchemeChar = [](unsigned char c) {
    return std::isalnum(c) || c == '+' || c == '-' || c == '.';
  };
  if (scheme.empty() || !std::isalpha(static_cast<unsigned char>(scheme.front())) ||
      !std::all_of(scheme.begin(), scheme.end(), isSchemeChar)) {
    return std::nullopt;
  }
  UrlParts parts;
  parts.scheme = scheme;
  std::string_view rest = url.substr(separator + kUrlSeparator.size());
  const auto fragmentAt = rest.find('#');
  if (fragmentAt != std::string_view::npos) {
    parts.fragment = rest.substr(fragmentAt);
    rest = rest.substr(0, fragmentAt);
  }
  const auto queryAt = rest.find('?');
  if (queryAt != std::string_view::npos) {
    parts.query = rest.substr(queryAt + 1);
    parts.hasQuery = true;
    rest = rest.substr(0, queryAt);
  }
  const auto pathAt = rest.find('/');
  std::string_view authority = rest.substr(0, pathAt);
  if (pathAt != std::string_view::npos) {
    parts.path = rest.substr(pathAt);
  }
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    parts.userInfo = authority.substr(0, at);
    parts.hasUserInfo = true;
    authority = authority.substr(at + 1);
  }
  parts.hostPort = authority;
  return parts;
}

// Why `url` cannot be a stream source, or nullopt when it looks usable. FFmpeg would reject
// most of these too, but only after a connection attempt and with a message nobody sees.
std::optional<std::string> checkStreamUrl(std::string_view url) {
  if (std::any_of(url.begin(), url.end(),
                  [](unsigned char c) { return std::isspace(c) || std::iscntrl(c); })) {
    return "contains a space or a control character (percent-encode it)";
  }
  const auto parts = splitUrl(url);
  if (!parts) {
    return "is not a URL";
  }
  const std::string scheme = lowercase(parts->scheme);
  if (std::find(kStreamSchemes.begin(), kStreamSchemes.end(), scheme) == kStreamSchemes.end()) {
    return fmt::format("uses the scheme \"{}\"; a camera stream is rtsp, rtsps, http or https",
                       parts->scheme);
  }
  std::string_view host = parts->hostPort;
  std::string_view port;
  if (host.starts_with('[')) {  // [IPv6]:port
    const auto close = host.find(']');
    if (close == std::string_view::npos) {
      return "has an unterminated [IPv6] host";
    }
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty() && !port.starts_with(':')) {
      return "has text after its [IPv6] host";
    }
    port = port.empty() ? port : port.substr(1);
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) {
    return "has no host";
  }
  if (!port.empty() || parts->hostPort.ends_with(':')) {
    int number = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (ec != std::errc() || end != port.data() + port.size() || number < 1 || number > 65535) {
      return fmt::format("has the port \"{}\"; a port is a number from 1 to 65535", port);
    }
  }
  return std::nullopt;
}

std::string maskQuery(std::string_view query) {
  std::string out;
  std::size_t start = 0;
  while (start <= query.size()) {
    auto end = query.find('&', start);
    if (end == std::string_view::npos) {
      end = query.size();
    }
    const std::string_view parameter = query.substr(start, end - start);
    const auto equals = parameter.find('=');
    if (equals != std::string_view::npos) {
      const std::string key = lowercase(parameter.substr(0, equals));
      const bool secret = std::find(kSecretQueryKeys.begin(), kSecretQueryKeys.end(), key) !=
                          kSecretQueryKeys.end();
      out += secret ? fmt::format("{}={}", parameter.substr(0, equals), kMask)
                    : std::string(parameter);
    } else {
      out += parameter;
    }
    if (end < query.size()) {
      out += '&';
    }
    start = end + 1;
  }
  return out;
}

// OpenCV reads OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT once per process (a function-local static
// in its V4L2 backend), so setting it more than once would only mislead: the first device
// opened decides. overwrite = 0 leaves an operator's value alone.
void limitV4l2SelectTimeout(milliseconds readTimeout) {
  static std::once_flag once;
  std::call_once(once, [readTimeout] {
    const auto seconds = std::max<std::int64_t>(1, (readTimeout.count() + 999) / 1000);
    ::setenv(kV4l2SelectTimeoutVariable, std::to_string(seconds).c_str(), 0);
  });
}

}  // namespace

std::string maskCredentials(std::string_view source) {
  const auto parts = splitUrl(source);
  if (!parts) {
    return std::string(source);
  }
  std::string out = fmt::format("{}{}", parts->scheme, kUrlSeparator);
  if (parts->hasUserInfo) {
    const auto colon = parts->userInfo.find(':');
    out += colon == std::string_view::npos
               ? std::string(parts->userInfo)
               : fmt::format("{}:{}", parts->userInfo.substr(0, colon), kMask);
    out += '@';
  }
  out += parts->hostPort;
  out += parts->path;
  if (parts->hasQuery) {
    out += '?';
    out += maskQuery(parts->query);
  }
  out += parts->fragment;
  return out;
}

Result<cv::Mat> toBgr8(cv::Mat image) {
  if (image.empty()) {
    return fail(ErrorCode::InvalidArgument, "the frame is empty");
  }
  if (image.depth() == CV_16U) {
    cv::Mat scaled;
    image.convertTo(scaled, CV_8U, 1.0 / 256.0);
    image = std::move(scaled);
  }
  if (image.depth() != CV_8U) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("the frame has the pixel type {}, not 8- or 16-bit samples",
                            cv::typeToString(image.type())));
  }
  cv::Mat bgr;
  switch (image.channels()) {
    case 3: return image;
    case 1: cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR); return bgr;
    case 4: cv::cvtColor(image, bgr, cv::COLOR_BGRA2BGR); return bgr;
    default:
      return fail(
          ErrorCode::InvalidArgument,
          fmt::format("the frame has {} channels; expected grey, BGR or BGRA", image.channels()));
  }
}

OpenCvSource::OpenCvSource(CaptureSettings settings) : settings_(std::move(settings)) {
  const std::string& source = settings_.source;
  if (isAllDigits(source) && source.size() <= kMaxIndexDigits) {
    kind_ = Kind::DeviceIndex;
    described_ = fmt::format("V4L2 camera {} (/dev/video{})", source, std::stoi(source));
  } else if (source.starts_with("/dev/")) {
    kind_ = Kind::DevicePath;
    described_ = fmt::format("V4L2 device {}", source);
  } else if (splitUrl(source)) {
    kind_ = Kind::Stream;
    described_ = fmt::format("stream {}", maskCredentials(source));
  } else {
    kind_ = Kind::File;
    described_ = fmt::format("video file {}", source);
  }
}

OpenCvSource::~OpenCvSource() {
  close();
}

std::string OpenCvSource::describe() const {
  return described_;
}

std::optional<Error> OpenCvSource::lastError() const {
  std::lock_guard lock(mutex_);
  return lastError_;
}

Result<void> OpenCvSource::open() {
  close();
  auto opened = [this]() -> Result<void> {
    const auto& s = settings_;
    if (s.source.empty()) {
      return fail(ErrorCode::InvalidArgument, "the camera source is empty");
    }
    const auto validTimeout = [](milliseconds t) { return t.count() > 0 && t <= kMaxTimeout; };
    if (s.width <= 0 || s.height <= 0 || s.fps <= 0 || !validTimeout(s.openTimeout) ||
        !validTimeout(s.readTimeout)) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("{}: width, height and fps must be positive and timeouts from 1 ms "
                              "to {} ms (got {}x{} at {} fps, open timeout {} ms, read timeout "
                              "{} ms)",
                              described_, kMaxTimeout.count(), s.width, s.height, s.fps,
                              s.openTimeout.count(), s.readTimeout.count()));
    }

    auto capture = std::make_unique<cv::VideoCapture>();
    const auto started = steady_clock::now();
    try {
      switch (kind_) {
        case Kind::DeviceIndex:
        case Kind::DevicePath: {
          const int index = kind_ == Kind::DeviceIndex ? std::stoi(s.source) : -1;
          const std::string path =
              kind_ == Kind::DeviceIndex ? fmt::format("/dev/video{}", index) : s.source;
          std::error_code ec;
          if (!fs::exists(path, ec)) {
            return fail(ErrorCode::FileNotFound,
                        fmt::format("{} does not exist: is the camera plugged in?", described_));
          }
          limitV4l2SelectTimeout(s.readTimeout);
          const bool ok = kind_ == Kind::DeviceIndex ? capture->open(index, cv::CAP_V4L2)
                                                     : capture->open(path, cv::CAP_V4L2);
          if (!ok || !capture->isOpened()) {
            return fail(ErrorCode::FileUnreadable,
                        fmt::format("cannot open {} as a V4L2 camera (not a capture device, "
                                    "busy, or no permission)",
                                    described_));
          }
          // Requests, not demands: the driver picks the nearest mode it supports, and set()
          // returning false only means this backend could not apply it.
          capture->set(cv::CAP_PROP_FRAME_WIDTH, s.width);
          capture->set(cv::CAP_PROP_FRAME_HEIGHT, s.height);
          capture->set(cv::CAP_PROP_FPS, s.fps);
          break;
        }
        case Kind::Stream: {
          if (auto problem = checkStreamUrl(s.source)) {
            return fail(
                ErrorCode::InvalidArgument,
                fmt::format("the camera source {} {}", maskCredentials(s.source), *problem));
          }
          const std::vector<int> params = {
              cv::CAP_PROP_OPEN_TIMEOUT_MSEC, static_cast<int>(s.openTimeout.count()),
              cv::CAP_PROP_READ_TIMEOUT_MSEC, static_cast<int>(s.readTimeout.count())};
          if (!capture->open(s.source, cv::CAP_FFMPEG, params) || !capture->isOpened()) {
            const bool timedOut = steady_clock::now() - started >= s.openTimeout;
            return fail(ErrorCode::FileUnreadable,
                        timedOut ? fmt::format("cannot open {}: no answer within {} ms", described_,
                                               s.openTimeout.count())
                                 : fmt::format("cannot open {}: connection refused, stream not "
                                               "found, or not a video stream",
                                               described_));
          }
          break;
        }
        case Kind::File: {
          std::error_code ec;
          const auto status = fs::status(s.source, ec);
          if (!fs::exists(status)) {
            return fail(ErrorCode::FileNotFound, fmt::format("{} does not exist", described_));
          }
          // A FIFO or a device would make FFmpeg's open() block in the kernel, where no
          // timeout reaches it.
          if (!fs::is_regular_file(status)) {
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("{} is not a regular file", described_));
          }
          // "file:" makes FFmpeg read the path as a path, whatever it contains (a name like
          // "concat:a|b" or "http:x" would otherwise select another protocol).
          const std::vector<int> params = {
              cv::CAP_PROP_OPEN_TIMEOUT_MSEC, static_cast<int>(s.openTimeout.count()),
              cv::CAP_PROP_READ_TIMEOUT_MSEC, static_cast<int>(s.readTimeout.count())};
          if (!capture->open("file:" + s.source, cv::CAP_FFMPEG, params) || !capture->isOpened()) {
            return fail(ErrorCode::FileUnreadable,
                        fmt::format("cannot open {}: unreadable, or not a video FFmpeg decodes",
                                    described_));
          }
          break;
        }
      }
    } catch (const cv::Exception& e) {
      return fail(ErrorCode::FileUnreadable,
                  fmt::format("cannot open {}: OpenCV says {}", described_, e.msg));
    }

    capture_ = std::move(capture);
    {
      std::lock_guard lock(mutex_);
      slot_.reset();
      state_ = GrabberState::Running;
      stopRequested_ = false;
    }
    try {
      grabber_ = std::thread([this] { grabLoop(); });
    } catch (const std::system_error& e) {
      capture_.reset();
      return fail(ErrorCode::Internal,
                  fmt::format("cannot start the frame grabber for {}: {}", described_, e.what()));
    }
    return {};
  }();

  std::lock_guard lock(mutex_);
  lastError_ = opened ? std::nullopt : std::optional<Error>(opened.error());
  return opened;
}

void OpenCvSource::finish(GrabberState state, std::optional<Error> error) {
  std::lock_guard lock(mutex_);
  state_ = state;
  lastError_ = std::move(error);
  frameReady_.notify_all();
}

void OpenCvSource::grabLoop() {
  const bool keepEveryFrame = kind_ == Kind::File;
  std::uint64_t index = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (keepEveryFrame) {
        slotFree_.wait(lock, [this] { return stopRequested_ || !slot_; });
      }
      if (stopRequested_) {
        return;
      }
    }
    // A fresh Mat every time: a backend may decode into the buffer it is given, and the
    // previous one may now belong to the caller.
    cv::Mat raw;
    const auto started = steady_clock::now();
    bool ok = false;
    std::string why;
    try {
      ok = capture_->read(raw) && !raw.empty();
    } catch (const cv::Exception& e) {
      why = e.msg;
    }
    const auto capturedAt = steady_clock::now();
    if (!ok) {
      if (keepEveryFrame) {
        finish(GrabberState::Ended, std::nullopt);
        return;
      }
      if (why.empty()) {
        why = capturedAt - started >= settings_.readTimeout
                  ? fmt::format(
                        "no frame for {} ms",
                        std::chrono::duration_cast<milliseconds>(capturedAt - started).count())
                  : std::string("the device or the stream reported an error or closed");
      }
      finish(GrabberState::Failed, Error{ErrorCode::FileUnreadable,
                                         fmt::format("reading {} failed: {}", described_, why)});
      return;
    }
    auto bgr = toBgr8(std::move(raw));
    if (!bgr) {
      finish(GrabberState::Failed,
             Error{ErrorCode::ImageUndecodable, fmt::format("{} delivered an unusable frame: {}",
                                                            described_, bgr.error().message)});
      return;
    }
    std::lock_guard lock(mutex_);
    slot_ = Frame{std::move(*bgr), capturedAt, index++};
    frameReady_.notify_all();
  }
}

ReadStatus OpenCvSource::read(Frame& out, milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!grabber_.joinable()) {
    lastError_ = Error{ErrorCode::InvalidArgument,
                       fmt::format("{} is not open: call open() before read()", described_)};
    return ReadStatus::Failed;
  }
  frameReady_.wait_for(lock, timeout,
                       [this] { return slot_.has_value() || state_ != GrabberState::Running; });
  // A frame already grabbed is delivered before the end is reported, so a file's last frames
  // are not lost.
  if (slot_) {
    out = std::move(*slot_);
    slot_.reset();
    slotFree_.notify_all();
    return ReadStatus::Frame;
  }
  switch (state_) {
    case GrabberState::Ended: return ReadStatus::Ended;
    case GrabberState::Failed: return ReadStatus::Failed;
    case GrabberState::Running: break;
  }
  return ReadStatus::Stalled;
}

void OpenCvSource::close() noexcept {
  if (grabber_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopRequested_ = true;
      slotFree_.notify_all();
    }
    grabber_.join();
  }
  if (capture_) {
    try {
      capture_->release();
    } catch (const cv::Exception&) {
      // Releasing is best effort; the destructor below frees what it can.
    }
    capture_.reset();
  }
  std::lock_guard lock(mutex_);
  slot_.reset();
  state_ = GrabberState::Running;
  stopRequested_ = false;
}

}  // namespace facegate::camera
