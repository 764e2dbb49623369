// Frame sources: the reconnect back-off, OpenCvSource on real video files and on real
// loopback network servers (refusing, silent, and one that stops sending mid-stream), and
// ImageSequenceSource. Every fixture is generated at test time; nothing needs a camera.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "facegate/camera/backoff.hpp"
#include "facegate/camera/image_sequence_source.hpp"
#include "facegate/camera/opencv_source.hpp"
#include "facegate/core/stopwatch.hpp"
#include "test_support.hpp"

namespace facegate::camera {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

// Generous: these bound how long a call may take on a loaded CI machine, they do not
// measure speed.
constexpr double kMarginMs = 2000.0;
constexpr milliseconds kReadTimeout = 2000ms;
constexpr int kVideoFrames = 30;
const cv::Size kVideoSize{320, 240};

// ---------------------------------------------------------------------------------------
// Fixtures

// Frame i is filled with grey level levelOf(i); its number is drawn in the middle for a
// person looking at the file. The top-left patch (never under the text) identifies it after
// lossy JPEG coding.
int levelOf(int i) {
  return 20 + 7 * i;
}

cv::Mat numberedFrame(int i, cv::Size size) {
  cv::Mat frame(size, CV_8UC3, cv::Scalar::all(levelOf(i)));
  cv::putText(frame, std::to_string(i), {size.width / 3, size.height * 2 / 3},
              cv::FONT_HERSHEY_SIMPLEX, 3.0, cv::Scalar(0, 0, 255), 4);
  return frame;
}

double patchLevel(const cv::Mat& frame) {
  return cv::mean(frame(cv::Rect(8, 8, 32, 32)))[0];
}

// Which numbered frame this is, or -1.
int frameNumberOf(const cv::Mat& frame) {
  const double level = patchLevel(frame);
  const int i = static_cast<int>(std::lround((level - 20.0) / 7.0));
  return std::abs(level - levelOf(i)) <= 3.0 ? i : -1;
}

void writeVideo(const fs::path& path, int frames) {
  cv::VideoWriter writer(path.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 30.0,
                         kVideoSize);
  ASSERT_TRUE(writer.isOpened()) << "cannot write the test video " << path;
  for (int i = 0; i < frames; ++i) {
    writer.write(numberedFrame(i, kVideoSize));
  }
}

void writePng(const fs::path& path, int number) {
  ASSERT_TRUE(cv::imwrite(path.string(), numberedFrame(number, kVideoSize))) << path;
}

std::size_t entriesIn(const fs::path& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

std::size_t openFds() {
  return entriesIn("/proc/self/fd");
}

std::size_t threads() {
  return entriesIn("/proc/self/task");
}

CaptureSettings fileSettings(const fs::path& path) {
  CaptureSettings settings;
  settings.source = path.string();
  return settings;
}

// A TCP socket listening on an ephemeral loopback port. It accepts nothing by itself: the
// kernel completes handshakes into the backlog, so a client connects and then hears nothing.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = 0;
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    socklen_t length = sizeof(address);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("cannot listen on a loopback port");
    }
    port_ = ntohs(address.sin_port);
  }
  ~Listener() { ::close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int fd() const { return fd_; }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A loopback port where nothing listens (bound, then released).
int closedPort() {
  return Listener().port();
}

// An IP camera's HTTP MJPEG stream (multipart/x-mixed-replace, as most of them serve it):
// sends numbered JPEG frames every 20 ms until stall(), then keeps the connection open and
// silent, like a camera whose encoder hung.
class MjpegServer {
 public:
  MjpegServer() {
    for (int i = 0; i < 8; ++i) {
      std::vector<uchar> jpeg;
      cv::imencode(".jpg", numberedFrame(i, kVideoSize), jpeg);
      jpegs_.emplace_back(jpeg.begin(), jpeg.end());
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~MjpegServer() {
    stop_ = true;
    thread_.join();
  }
  MjpegServer(const MjpegServer&) = delete;
  MjpegServer& operator=(const MjpegServer&) = delete;

  std::string url() const {
    return fmt::format("http://127.0.0.1:{}/video.mjpg", listener_.port());
  }
  void stall() { stalled_ = true; }

 private:
  void serve() {
    while (!stop_) {
      pollfd ready{listener_.fd(), POLLIN, 0};
      if (::poll(&ready, 1, 50) != 1) {
        continue;
      }
      const int client = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        serveClient(client);
        ::close(client);
      }
    }
  }

  bool sendAll(int client, std::string_view bytes) {
    while (!bytes.empty() && !stop_) {
      const auto sent = ::send(client, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return !stop_;
  }

  void serveClient(int client) {
    const timeval sendTimeout{1, 0};
    ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, sizeof(sendTimeout));
    std::string request;
    char buffer[1024];
    while (request.find("\r\n\r\n") == std::string::npos && !stop_) {
      pollfd ready{client, POLLIN, 0};
      if (::poll(&ready, 1, 50) != 1) {
        continue;
      }
      const auto got = ::recv(client, buffer, sizeof(buffer), 0);
      if (got <= 0) {
        return;
      }
      request.append(buffer, static_cast<std::size_t>(got));
    }
    if (!sendAll(client,
                 "HTTP/1.0 200 OK\r\n"
                 "Content-Type: multipart/x-mixed-replace; boundary=frame\r\n"
                 "Cache-Control: no-cache\r\n\r\n")) {
      return;
    }
    for (std::size_t i = 0; !stop_; ++i) {
      std::this_thread::sleep_for(20ms);
      if (stalled_) {
        continue;  // connection open, nothing sent: the stall
      }
      const std::string& jpeg = jpegs_[i % jpegs_.size()];
      const std::string part = fmt::format(
          "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n", jpeg.size());
      if (!sendAll(client, part) || !sendAll(client, jpeg) || !sendAll(client, "\r\n")) {
        return;
      }
    }
  }

  Listener listener_;
  std::vector<std::string> jpegs_;
  std::atomic<bool> stalled_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------
// Backoff

TEST(Backoff, DoublesFromMinUpToMax) {
  Backoff backoff(500ms, 5000ms);
  const std::vector<milliseconds> expected = {500ms,  1000ms, 2000ms, 4000ms,
                                              5000ms, 5000ms, 5000ms};
  for (const auto wait : expected) {
    EXPECT_EQ(backoff.next(), wait);
  }
}

TEST(Backoff, ResetStartsAgainFromMin) {
  Backoff backoff(100ms, 30000ms);
  backoff.next();
  backoff.next();
  backoff.next();
  backoff.reset();
  EXPECT_EQ(backoff.next(), 100ms);
  EXPECT_EQ(backoff.next(), 200ms);
}

TEST(Backoff, MaxThatIsNotAPowerOfTwoOfMinIsReachedExactly) {
  Backoff backoff(300ms, 1000ms);
  EXPECT_EQ(backoff.next(), 300ms);
  EXPECT_EQ(backoff.next(), 600ms);
  EXPECT_EQ(backoff.next(), 1000ms);
  EXPECT_EQ(backoff.next(), 1000ms);
}

TEST(Backoff, EqualMinAndMaxIsConstant) {
  Backoff backoff(700ms, 700ms);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(backoff.next(), 700ms);
  }
}

TEST(Backoff, HugeMaxNeverOverflows) {
  Backoff backoff(1ms, milliseconds::max());
  milliseconds previous{0};
  for (int i = 0; i < 100; ++i) {
    const auto wait = backoff.next();
    ASSERT_GE(wait, previous) << "step " << i;
    previous = wait;
  }
  EXPECT_EQ(previous, milliseconds::max());
}

TEST(Backoff, RejectsAnEmptyOrInvertedRange) {
  EXPECT_THROW(Backoff(0ms, 1000ms), std::invalid_argument);
  EXPECT_THROW(Backoff(-5ms, 1000ms), std::invalid_argument);
  EXPECT_THROW(Backoff(2000ms, 1000ms), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------
// Masking and pixel formats

TEST(MaskCredentials, HidesTheUrlPassword) {
  EXPECT_EQ(maskCredentials("rtsp://user:secret@host/stream"), "rtsp://user:***@host/stream");
  EXPECT_EQ(maskCredentials("rtsp://admin:s3cr:et@192.0.2.10:554/h264?channel=1"),
            "rtsp://admin:***@192.0.2.10:554/h264?channel=1");
  // The user-info ends at the last '@' of the authority, as FFmpeg splits it.
  EXPECT_EQ(maskCredentials("http://admin:p@ss@cam.local/video"),
            "http://admin:***@cam.local/video");
  EXPECT_EQ(maskCredentials("rtsp://user:@host/"), "rtsp://user:***@host/");
}

TEST(MaskCredentials, HidesCredentialQueryParameters) {
  EXPECT_EQ(maskCredentials("http://cam/videostream.cgi?user=admin&pwd=hunter2&rate=0"),
            "http://cam/videostream.cgi?user=admin&pwd=***&rate=0");
  EXPECT_EQ(maskCredentials("https://cam/live?Token=abc#top"), "https://cam/live?Token=***#top");
  EXPECT_EQ(maskCredentials("http://u:p@cam/x?password=q&key=k"),
            "http://u:***@cam/x?password=***&key=***");
}

TEST(MaskCredentials, LeavesEverythingElseAlone) {
  for (const std::string source :
       {"rtsp://host/stream", "rtsp://user@host/stream", "http://cam:8080/a?b=c&d",
        "/var/lib/facegate/replay.avi", "0", "/dev/video0", "name:with:colons.avi"}) {
    EXPECT_EQ(maskCredentials(source), source);
  }
}

TEST(ToBgr8, ConvertsGreyBgraAnd16Bit) {
  const cv::Mat grey(4, 6, CV_8UC1, cv::Scalar(77));
  auto bgr = toBgr8(grey);
  ASSERT_TRUE(bgr) << bgr.error().message;
  EXPECT_EQ(bgr->type(), CV_8UC3);
  EXPECT_EQ(bgr->size(), grey.size());
  EXPECT_EQ(bgr->at<cv::Vec3b>(2, 3), cv::Vec3b(77, 77, 77));

  const cv::Mat bgra(4, 6, CV_8UC4, cv::Scalar(1, 2, 3, 255));
  bgr = toBgr8(bgra);
  ASSERT_TRUE(bgr) << bgr.error().message;
  EXPECT_EQ(bgr->type(), CV_8UC3);
  EXPECT_EQ(bgr->at<cv::Vec3b>(0, 0), cv::Vec3b(1, 2, 3));

  const cv::Mat deep(4, 6, CV_16UC1, cv::Scalar(0x4000));
  bgr = toBgr8(deep);
  ASSERT_TRUE(bgr) << bgr.error().message;
  EXPECT_EQ(bgr->type(), CV_8UC3);
  EXPECT_EQ(bgr->at<cv::Vec3b>(1, 1), cv::Vec3b(0x40, 0x40, 0x40));
}

TEST(ToBgr8, KeepsBgrAsIsAndRejectsTheRest) {
  const cv::Mat bgr(4, 6, CV_8UC3, cv::Scalar(9, 8, 7));
  const auto same = toBgr8(bgr);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->data, bgr.data) << "an 8-bit BGR frame is not copied";

  const auto floating = toBgr8(cv::Mat(4, 6, CV_32FC3));
  ASSERT_FALSE(floating);
  EXPECT_EQ(floating.error().code, ErrorCode::InvalidArgument);
  EXPECT_FALSE(toBgr8(cv::Mat(4, 6, CV_8UC2)));
  EXPECT_FALSE(toBgr8(cv::Mat()));
}

// ---------------------------------------------------------------------------------------
// The FrameSource contract, run against both implementations over the same numbered frames.

struct Implementation {
  std::string name;
  // Writes `frames` numbered frames under `dir` and returns a source that plays them once.
  std::function<std::unique_ptr<FrameSource>(const fs::path& dir, int frames)> make;
};

std::ostream& operator<<(std::ostream& out, const Implementation& implementation) {
  return out << implementation.name;
}

class FrameSourceContract : public ::testing::TestWithParam<Implementation> {
 protected:
  test::TempDir dir_;
  static constexpr int kFrames = 12;

  std::unique_ptr<FrameSource> make() { return GetParam().make(dir_.path(), kFrames); }
};

TEST_P(FrameSourceContract, DeliversEveryFrameInOrderThenEnds) {
  auto source = make();
  ASSERT_TRUE(source);
  const auto opened = source->open();
  ASSERT_TRUE(opened) << opened.error().message;
  std::vector<Frame> frames;
  for (int i = 0; i < kFrames; ++i) {
    Frame frame;
    ASSERT_EQ(source->read(frame, kReadTimeout), ReadStatus::Frame) << "frame " << i;
    EXPECT_EQ(frame.index, static_cast<std::uint64_t>(i));
    EXPECT_EQ(frame.bgr.type(), CV_8UC3);
    EXPECT_EQ(frame.bgr.size(), kVideoSize);
    EXPECT_EQ(frameNumberOf(frame.bgr), i) << "grey level " << patchLevel(frame.bgr);
    frames.push_back(std::move(frame));
  }
  Frame after;
  EXPECT_EQ(source->read(after, kReadTimeout), ReadStatus::Ended);
  EXPECT_EQ(source->read(after, kReadTimeout), ReadStatus::Ended) << "Ended stays";
  // Every frame handed out still holds its own picture: nothing was decoded into it later.
  for (int i = 0; i < kFrames; ++i) {
    EXPECT_EQ(frameNumberOf(frames[static_cast<std::size_t>(i)].bgr), i);
  }
  for (std::size_t i = 1; i < frames.size(); ++i) {
    EXPECT_NE(frames[i].bgr.data, frames[i - 1].bgr.data) << "frames share a buffer";
  }
  source->close();
}

TEST_P(FrameSourceContract, ReopenAfterCloseStartsAgain) {
  auto source = make();
  ASSERT_TRUE(source->open());
  Frame frame;
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(source->read(frame, kReadTimeout), ReadStatus::Frame);
  }
  source->close();
  source->close();  // twice is safe
  const auto reopened = source->open();
  ASSERT_TRUE(reopened) << reopened.error().message;
  ASSERT_EQ(source->read(frame, kReadTimeout), ReadStatus::Frame);
  EXPECT_EQ(frame.index, 0u);
  EXPECT_EQ(frameNumberOf(frame.bgr), 0);
}

TEST_P(FrameSourceContract, ReadBeforeOpenFails) {
  auto source = make();
  Frame frame;
  EXPECT_EQ(source->read(frame, 100ms), ReadStatus::Failed);
}

TEST_P(FrameSourceContract, DestroyedWhileOpenReleasesEverything) {
  const auto fdsBefore = openFds();
  {
    auto source = make();
    ASSERT_TRUE(source->open());
    Frame frame;
    ASSERT_EQ(source->read(frame, kReadTimeout), ReadStatus::Frame);
  }  // no close(): the destructor must do it
  EXPECT_EQ(openFds(), fdsBefore);
}

INSTANTIATE_TEST_SUITE_P(
    Both, FrameSourceContract,
    ::testing::Values(
        Implementation{"OpenCvSourceOnVideoFile",
                       [](const fs::path& dir, int frames) -> std::unique_ptr<FrameSource> {
                         const auto path = dir / "numbered.avi";
                         writeVideo(path, frames);
                         return std::make_unique<OpenCvSource>(fileSettings(path));
                       }},
        Implementation{"ImageSequenceSource",
                       [](const fs::path& dir, int frames) -> std::unique_ptr<FrameSource> {
                         for (int i = 0; i < frames; ++i) {
                           writePng(dir / fmt::format("frame_{:03}.png", i), i);
                         }
                         return std::make_unique<ImageSequenceSource>(
                             ImageSequenceSettings{.directory = dir, .fps = 0.0});
                       }}),
    [](const ::testing::TestParamInfo<Implementation>& param) { return param.param.name; });

// ---------------------------------------------------------------------------------------
// OpenCvSource on video files

class OpenCvSourceOnFile : public ::testing::Test {
 protected:
  void SetUp() override { writeVideo(video_, kVideoFrames); }

  test::TempDir dir_;
  fs::path video_ = dir_ / "numbered.avi";
};

TEST_F(OpenCvSourceOnFile, ReadsAllThirtyFramesInOrderThenEnds) {
  OpenCvSource source(fileSettings(video_));
  ASSERT_TRUE(source.open());
  Frame frame;
  for (int i = 0; i < kVideoFrames; ++i) {
    ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame) << "frame " << i;
    EXPECT_EQ(frameNumberOf(frame.bgr), i);
    EXPECT_EQ(frame.index, static_cast<std::uint64_t>(i));
  }
  EXPECT_EQ(source.read(frame, kReadTimeout), ReadStatus::Ended);
  EXPECT_FALSE(source.lastError()) << "the end of a file is not an error";
}

TEST_F(OpenCvSourceOnFile, FiftyOpenCloseCyclesLeakNoFdAndNoThread) {
  OpenCvSource source(fileSettings(video_));
  Frame frame;
  // One cycle first: OpenCV starts its worker pool on first use and keeps it for the process.
  ASSERT_TRUE(source.open());
  ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame);
  source.close();
  const auto fdsBefore = openFds();
  const auto threadsBefore = threads();
  for (int cycle = 0; cycle < 50; ++cycle) {
    const auto opened = source.open();
    ASSERT_TRUE(opened) << "cycle " << cycle << ": " << opened.error().message;
    EXPECT_GE(threads(), threadsBefore + 1) << "the grabber runs while open";
    // Alternate: closed with frames read, and closed straight away (grabber waiting on a
    // full slot).
    if (cycle % 2 == 0) {
      ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame);
      ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame);
    }
    source.close();
  }
  EXPECT_EQ(openFds(), fdsBefore);
  EXPECT_EQ(threads(), threadsBefore);
}

TEST_F(OpenCvSourceOnFile, OpenWhileOpenRestarts) {
  OpenCvSource source(fileSettings(video_));
  ASSERT_TRUE(source.open());
  Frame frame;
  ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame);
  ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame);
  ASSERT_TRUE(source.open());
  ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame);
  EXPECT_EQ(frameNumberOf(frame.bgr), 0);
}

TEST_F(OpenCvSourceOnFile, ReadsAPathThatLooksLikeAnFfmpegProtocol) {
  // Without the "file:" prefix FFmpeg would take "concat:" as its concat protocol.
  const auto odd = dir_ / "concat:clip.avi";
  fs::copy_file(video_, odd);
  OpenCvSource source(fileSettings(odd));
  const auto opened = source.open();
  ASSERT_TRUE(opened) << opened.error().message;
  Frame frame;
  ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame);
  EXPECT_EQ(frameNumberOf(frame.bgr), 0);
}

// ---------------------------------------------------------------------------------------
// OpenCvSource: sources that cannot be opened fail quickly, naming the source

struct OpenFailure {
  ErrorCode code;
  std::string message;
  double ms = 0;
};

OpenFailure openExpectingFailure(CaptureSettings settings) {
  OpenCvSource source(std::move(settings));
  Stopwatch watch;
  const auto opened = source.open();
  const double ms = watch.elapsedMs();
  EXPECT_FALSE(opened) << source.describe() << " opened";
  if (opened) {
    return {ErrorCode::Internal, "", ms};
  }
  EXPECT_EQ(source.lastError().has_value(), true);
  Frame frame;
  EXPECT_EQ(source.read(frame, 100ms), ReadStatus::Failed) << "not open";
  return {opened.error().code, opened.error().message, ms};
}

TEST(OpenCvSourceOpen, MissingFileIsFileNotFound) {
  test::TempDir dir;
  const auto path = dir / "absent.avi";
  const auto failure = openExpectingFailure(fileSettings(path));
  EXPECT_EQ(failure.code, ErrorCode::FileNotFound);
  EXPECT_NE(failure.message.find(path.string()), std::string::npos) << failure.message;
  EXPECT_LT(failure.ms, 1000.0);
}

TEST(OpenCvSourceOpen, MissingDeviceIsFileNotFound) {
  for (const std::string device : {"/dev/video-facegate-absent", "917"}) {
    CaptureSettings settings;
    settings.source = device;
    const auto failure = openExpectingFailure(settings);
    EXPECT_EQ(failure.code, ErrorCode::FileNotFound) << failure.message;
    EXPECT_NE(failure.message.find(device), std::string::npos) << failure.message;
    EXPECT_LT(failure.ms, 1000.0);
  }
}

TEST(OpenCvSourceOpen, DeviceThatIsNotACameraIsRefused) {
  constexpr const char* kSelectTimeout = "OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT";
  const bool presetByEnvironment = std::getenv(kSelectTimeout) != nullptr;
  CaptureSettings settings;
  settings.source = "/dev/null";
  const auto failure = openExpectingFailure(settings);
  EXPECT_EQ(failure.code, ErrorCode::FileUnreadable) << failure.message;
  EXPECT_NE(failure.message.find("/dev/null"), std::string::npos) << failure.message;
  EXPECT_LT(failure.ms, 1000.0);
  // The V4L2 path shortened OpenCV's 10 s per-frame wait to the 2 s read timeout before
  // touching the device (an operator's own value would have been left alone).
  if (!presetByEnvironment) {
    ASSERT_NE(std::getenv(kSelectTimeout), nullptr);
    EXPECT_STREQ(std::getenv(kSelectTimeout), "2");
  }
}

TEST(OpenCvSourceOpen, MalformedUrlsAreRejectedWithoutConnecting) {
  for (const std::string url :
       {"rtsp://", "rtsp:///stream", "ftp://192.0.2.1/video", "http://192.0.2.1:99999/x",
        "http://192.0.2.1:port/x", "http://cam era/x", "rtsp://[::1/x",
        "rtsp://admin:topsecret@/stream"}) {
    CaptureSettings settings;
    settings.source = url;
    const auto failure = openExpectingFailure(settings);
    EXPECT_EQ(failure.code, ErrorCode::InvalidArgument) << url << ": " << failure.message;
    EXPECT_NE(failure.message.find(maskCredentials(url)), std::string::npos) << failure.message;
    EXPECT_EQ(failure.message.find("topsecret"), std::string::npos) << failure.message;
    // 192.0.2.0/24 is TEST-NET-1: a connection attempt would hang until the open timeout.
    EXPECT_LT(failure.ms, 1000.0) << url;
  }
}

TEST(OpenCvSourceOpen, FileThatIsNotAVideoIsFileUnreadable) {
  test::TempDir dir;
  const auto path = dir / "notes.avi";
  test::writeFile(path, "these are not the frames you are looking for\n");
  const auto failure = openExpectingFailure(fileSettings(path));
  EXPECT_EQ(failure.code, ErrorCode::FileUnreadable) << failure.message;
  EXPECT_NE(failure.message.find(path.string()), std::string::npos) << failure.message;
}

TEST(OpenCvSourceOpen, FifoOrDirectoryIsRefusedInsteadOfBlocking) {
  // FFmpeg would block in open(2) on a FIFO with no writer, out of reach of any timeout.
  test::TempDir dir;
  const auto fifo = dir / "pipe.avi";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const auto& path : {fifo, dir.path()}) {
    const auto failure = openExpectingFailure(fileSettings(path));
    EXPECT_EQ(failure.code, ErrorCode::InvalidArgument) << failure.message;
    EXPECT_NE(failure.message.find("not a regular file"), std::string::npos) << failure.message;
    EXPECT_LT(failure.ms, 1000.0);
  }
}

TEST(OpenCvSourceOpen, InvalidSettingsAreRejected) {
  test::TempDir dir;
  auto settings = fileSettings(dir / "x.avi");
  settings.readTimeout = 0ms;
  EXPECT_EQ(openExpectingFailure(settings).code, ErrorCode::InvalidArgument);
  settings = fileSettings(dir / "x.avi");
  settings.openTimeout = std::chrono::hours(24);
  EXPECT_EQ(openExpectingFailure(settings).code, ErrorCode::InvalidArgument);
  settings = fileSettings(dir / "x.avi");
  settings.width = 0;
  EXPECT_EQ(openExpectingFailure(settings).code, ErrorCode::InvalidArgument);
  settings.source = "";
  EXPECT_EQ(openExpectingFailure(settings).code, ErrorCode::InvalidArgument);
}

// ---------------------------------------------------------------------------------------
// OpenCvSource on the network (loopback only)

TEST(OpenCvSourceNetwork, RefusedConnectionFailsWithinTheOpenTimeout) {
  const int port = closedPort();
  for (const std::string& url : {fmt::format("rtsp://viewer:pw123@127.0.0.1:{}/live", port),
                                 fmt::format("http://127.0.0.1:{}/video.mjpg", port)}) {
    CaptureSettings settings;
    settings.source = url;
    settings.openTimeout = 3000ms;
    const auto failure = openExpectingFailure(settings);
    EXPECT_EQ(failure.code, ErrorCode::FileUnreadable) << failure.message;
    EXPECT_NE(failure.message.find(maskCredentials(url)), std::string::npos) << failure.message;
    EXPECT_EQ(failure.message.find("pw123"), std::string::npos) << failure.message;
    EXPECT_LT(failure.ms, 3000.0 + kMarginMs) << url;
  }
}

TEST(OpenCvSourceNetwork, SilentServerFailsWhenTheOpenTimeoutFires) {
  Listener silent;  // connects, never answers
  for (const std::string& url : {fmt::format("rtsp://127.0.0.1:{}/live", silent.port()),
                                 fmt::format("http://127.0.0.1:{}/video.mjpg", silent.port())}) {
    CaptureSettings settings;
    settings.source = url;
    settings.openTimeout = 1500ms;
    const auto failure = openExpectingFailure(settings);
    EXPECT_EQ(failure.code, ErrorCode::FileUnreadable) << failure.message;
    EXPECT_NE(failure.message.find("no answer within 1500 ms"), std::string::npos)
        << failure.message;
    EXPECT_LT(failure.ms, 1500.0 + kMarginMs) << url;
    std::cout << "[ info     ] " << url << " gave up after " << failure.ms << " ms\n";
  }
}

// The server closes its end of a connection a moment after the client does, so counts
// are compared once they settle (or after 3 s, when the assertion reports the difference).
std::size_t settledFdCount(std::size_t expected) {
  Stopwatch watch;
  std::size_t count = openFds();
  while (count != expected && watch.elapsedMs() < 3000.0) {
    std::this_thread::sleep_for(20ms);
    count = openFds();
  }
  return count;
}

TEST(OpenCvSourceNetwork, StreamOpenCloseCyclesLeakNoFdAndNoThread) {
  MjpegServer server;
  OpenCvSource source(CaptureSettings{.source = server.url()});
  Frame frame;
  ASSERT_TRUE(source.open());
  ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame);
  source.close();
  std::this_thread::sleep_for(200ms);
  const auto fdsBefore = openFds();
  const auto threadsBefore = threads();
  for (int cycle = 0; cycle < 10; ++cycle) {
    const auto opened = source.open();
    ASSERT_TRUE(opened) << "cycle " << cycle << ": " << opened.error().message;
    ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame) << "cycle " << cycle;
    source.close();
  }
  EXPECT_EQ(settledFdCount(fdsBefore), fdsBefore);
  EXPECT_EQ(threads(), threadsBefore);
}

class OpenCvSourceStall : public ::testing::Test {
 protected:
  void SetUp() override {
    CaptureSettings settings;
    settings.source = server_.url();
    settings.openTimeout = 5000ms;
    settings.readTimeout = kStreamReadTimeout;
    source_ = std::make_unique<OpenCvSource>(settings);
    const auto opened = source_->open();
    ASSERT_TRUE(opened) << opened.error().message;
    Frame frame;
    for (int i = 0; i < 5; ++i) {
      ASSERT_EQ(source_->read(frame, kReadTimeout), ReadStatus::Frame) << "frame " << i;
      EXPECT_GE(frameNumberOf(frame.bgr), 0);
    }
  }

  // Stalls the server, then reads with `timeout` until something other than a frame comes
  // (frames already in flight are drained first). Each read must keep to its timeout.
  ReadStatus stallAndReadUntilNoFrame(milliseconds timeout, double& lastReadMs) {
    server_.stall();
    Frame frame;
    for (int i = 0; i < 200; ++i) {
      Stopwatch watch;
      const auto status = source_->read(frame, timeout);
      lastReadMs = watch.elapsedMs();
      EXPECT_LT(lastReadMs, static_cast<double>(timeout.count()) + kMarginMs);
      if (status != ReadStatus::Frame) {
        return status;
      }
    }
    ADD_FAILURE() << "frames kept coming after the stall";
    return ReadStatus::Frame;
  }

  static constexpr milliseconds kStreamReadTimeout = 1000ms;
  MjpegServer server_;
  std::unique_ptr<OpenCvSource> source_;
};

TEST_F(OpenCvSourceStall, ReadReportsStalledAndCloseIsBounded) {
  double readMs = 0;
  // 300 ms < the 1000 ms FFmpeg read timeout: the grabber is still blocked inside
  // VideoCapture::read when read() gives up.
  EXPECT_EQ(stallAndReadUntilNoFrame(300ms, readMs), ReadStatus::Stalled);
  EXPECT_GE(readMs, 290.0) << "Stalled only after the timeout";
  // close() must wait for the blocked read to time out, and no longer.
  Stopwatch watch;
  source_->close();
  const double closeMs = watch.elapsedMs();
  EXPECT_LT(closeMs, static_cast<double>(kStreamReadTimeout.count()) + kMarginMs);
  std::cout << "[ info     ] Stalled after " << readMs << " ms; close() took " << closeMs
            << " ms\n";
}

TEST_F(OpenCvSourceStall, StallTurnsIntoFailedWhenTheReadTimeoutFires) {
  double readMs = 0;
  ASSERT_EQ(stallAndReadUntilNoFrame(300ms, readMs), ReadStatus::Stalled);
  Stopwatch watch;
  Frame frame;
  ReadStatus status = ReadStatus::Stalled;
  while (status == ReadStatus::Stalled && watch.elapsedMs() < 10000.0) {
    status = source_->read(frame, 300ms);
  }
  EXPECT_EQ(status, ReadStatus::Failed);
  EXPECT_LT(watch.elapsedMs(), static_cast<double>(kStreamReadTimeout.count()) + kMarginMs);
  const auto error = source_->lastError();
  ASSERT_TRUE(error);
  EXPECT_NE(error->message.find(server_.url()), std::string::npos) << error->message;
  EXPECT_EQ(source_->read(frame, 100ms), ReadStatus::Failed) << "Failed stays until close()";
  // The grabber has already returned: close() is immediate.
  Stopwatch closing;
  source_->close();
  EXPECT_LT(closing.elapsedMs(), 500.0);
  std::cout << "[ info     ] Failed: " << error->message << "\n";
}

TEST_F(OpenCvSourceStall, ReconnectsOnceTheServerRecovers) {
  // The daemon's recovery path: close(), back off, open() again on the same object.
  source_->close();
  const auto reopened = source_->open();
  ASSERT_TRUE(reopened) << reopened.error().message;
  Frame frame;
  ASSERT_EQ(source_->read(frame, kReadTimeout), ReadStatus::Frame);
  EXPECT_EQ(frame.index, 0u);
}

TEST(OpenCvSourceDescribe, MasksPasswordsAndSaysWhatItIs) {
  const auto describe = [](const std::string& source) {
    return OpenCvSource(CaptureSettings{.source = source}).describe();
  };
  EXPECT_EQ(describe("rtsp://user:secret@host/stream"), "stream rtsp://user:***@host/stream");
  EXPECT_EQ(describe("0"), "V4L2 camera 0 (/dev/video0)");
  EXPECT_EQ(describe("/dev/video2"), "V4L2 device /dev/video2");
  EXPECT_EQ(describe("/srv/replay.avi"), "video file /srv/replay.avi");
  EXPECT_EQ(describe("/srv/a://b.avi"), "video file /srv/a://b.avi") << "not a URL scheme";
}

// ---------------------------------------------------------------------------------------
// ImageSequenceSource

class ImageSequence : public ::testing::Test {
 protected:
  // Written out of order, with a name order unlike the creation order, plus files that are
  // not images.
  void SetUp() override {
    writePng(dir_ / "c.png", 2);
    writePng(dir_ / "a.png", 0);
    ASSERT_TRUE(cv::imwrite((dir_ / "b.JPG").string(), numberedFrame(1, kVideoSize)));
    writePng(dir_ / "d.png", 3);
    test::writeFile(dir_ / "notes.txt", "not an image");
    fs::create_directory(dir_ / "e.png");  // a directory, skipped
  }

  ImageSequenceSource make(double fps, bool loop = false) {
    return ImageSequenceSource({.directory = dir_.path(), .fps = fps, .loop = loop});
  }

  test::TempDir dir_;
  static constexpr int kImages = 4;
};

TEST_F(ImageSequence, PlaysImagesByNameThenEnds) {
  auto source = make(0.0);
  ASSERT_TRUE(source.open());
  ASSERT_EQ(source.images().size(), static_cast<std::size_t>(kImages));
  Frame frame;
  for (int i = 0; i < kImages; ++i) {
    ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame);
    EXPECT_EQ(frameNumberOf(frame.bgr), i) << source.images()[static_cast<std::size_t>(i)];
  }
  EXPECT_EQ(source.read(frame, kReadTimeout), ReadStatus::Ended);
  EXPECT_EQ(source.read(frame, kReadTimeout), ReadStatus::Ended);
}

TEST_F(ImageSequence, LoopsWhenAsked) {
  auto source = make(0.0, true);
  ASSERT_TRUE(source.open());
  Frame frame;
  for (int i = 0; i < 3 * kImages + 1; ++i) {
    ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame) << i;
    EXPECT_EQ(frameNumberOf(frame.bgr), i % kImages);
    EXPECT_EQ(frame.index, static_cast<std::uint64_t>(i)) << "index keeps counting";
  }
}

TEST_F(ImageSequence, PacesFramesAtTheRequestedRate) {
  auto source = make(20.0);  // 50 ms apart
  ASSERT_TRUE(source.open());
  Frame frame;
  Stopwatch total;
  for (int i = 0; i < kImages; ++i) {
    Stopwatch watch;
    ASSERT_EQ(source.read(frame, 1000ms), ReadStatus::Frame);
    EXPECT_LT(watch.elapsedMs(), 1000.0 + kMarginMs);
    EXPECT_EQ(frameNumberOf(frame.bgr), i);
  }
  // A lower bound only (sleeping never ends early); no upper bound on a shared machine.
  EXPECT_GE(total.elapsedMs(), 3 * 50.0 - 5.0);
}

TEST_F(ImageSequence, FrameDueAfterTheTimeoutIsStalled) {
  auto source = make(1.0);  // one frame a second
  ASSERT_TRUE(source.open());
  Frame frame;
  ASSERT_EQ(source.read(frame, 100ms), ReadStatus::Frame) << "the first frame is due at once";
  Stopwatch watch;
  EXPECT_EQ(source.read(frame, 100ms), ReadStatus::Stalled);
  EXPECT_GE(watch.elapsedMs(), 95.0);
  EXPECT_LT(watch.elapsedMs(), 100.0 + kMarginMs);
  ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame);
  EXPECT_EQ(frameNumberOf(frame.bgr), 1);
}

TEST_F(ImageSequence, UnreadableImageFailsNamingIt) {
  test::writeFile(dir_ / "b2_broken.png", "\x89PNG\r\n\x1a\n truncated");
  auto source = make(0.0);
  ASSERT_TRUE(source.open());
  Frame frame;
  ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame);  // a.png
  ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame);  // b.JPG
  EXPECT_EQ(source.read(frame, kReadTimeout), ReadStatus::Failed);
  ASSERT_TRUE(source.lastError());
  EXPECT_EQ(source.lastError()->code, ErrorCode::ImageUndecodable);
  EXPECT_NE(source.lastError()->message.find("b2_broken.png"), std::string::npos)
      << source.lastError()->message;
  EXPECT_EQ(source.read(frame, kReadTimeout), ReadStatus::Failed) << "Failed stays";
  ASSERT_TRUE(source.open());
  EXPECT_FALSE(source.lastError()) << "open() clears the error";
  ASSERT_EQ(source.read(frame, kReadTimeout), ReadStatus::Frame);
  EXPECT_EQ(frameNumberOf(frame.bgr), 0);
}

TEST_F(ImageSequence, ImageRemovedAfterOpenFailsNamingIt) {
  auto source = make(0.0);
  ASSERT_TRUE(source.open());
  fs::remove(dir_ / "a.png");
  Frame frame;
  EXPECT_EQ(source.read(frame, kReadTimeout), ReadStatus::Failed);
  ASSERT_TRUE(source.lastError());
  EXPECT_EQ(source.lastError()->code, ErrorCode::FileNotFound);
  EXPECT_NE(source.lastError()->message.find("a.png"), std::string::npos);
}

TEST(ImageSequenceOpen, RejectsMissingEmptyOrBadSettings) {
  test::TempDir dir;
  ImageSequenceSource missing({.directory = dir / "absent"});
  auto opened = missing.open();
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::FileNotFound);
  EXPECT_NE(opened.error().message.find("absent"), std::string::npos);

  test::writeFile(dir / "readme.txt", "no images here");
  ImageSequenceSource empty({.directory = dir.path()});
  opened = empty.open();
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::FileNotFound);
  EXPECT_NE(opened.error().message.find("no PNG or JPEG"), std::string::npos);
  EXPECT_TRUE(empty.lastError());

  ImageSequenceSource notADirectory({.directory = dir / "readme.txt"});
  opened = notADirectory.open();
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::InvalidArgument);

  for (const double fps : {-1.0, 5000.0, std::numeric_limits<double>::quiet_NaN()}) {
    ImageSequenceSource badFps({.directory = dir.path(), .fps = fps});
    opened = badFps.open();
    ASSERT_FALSE(opened) << fps;
    EXPECT_EQ(opened.error().code, ErrorCode::InvalidArgument) << fps;
  }
}

TEST(ImageSequenceDescribe, SaysDirectoryRateAndLoop) {
  const ImageSequenceSource source({.directory = "/srv/demo", .fps = 12.5, .loop = true});
  EXPECT_EQ(source.describe(), "image sequence /srv/demo at 12.5 fps, looping");
}

}  // namespace
}  // namespace facegate::camera
