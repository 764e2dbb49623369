// Camera faults against a real network stream, 50 times over. The daemon's loop pieces run
// in this process as src/daemon wires them (OpenCvSource on an HTTP MJPEG stream, FrameLoop,
// Gate with a recording signaller, the hash-chained audit log, a recording notifier, and the
// painted-face double in place of the face engine: no badge is shown, so no face is looked
// for); the stream comes from a separate process, mjpeg_server, which the test freezes
// (SIGSTOP: the TCP connection stays open and silent) and kills (SIGKILL: it drops) and
// starts again on the same port. Each fault must put the gate out of service within the stall
// timeout plus a margin, each return of the stream must put it back in service, and the process
// must not gain threads or file descriptors on the way.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "facegate/app/settings.hpp"
#include "facegate/audit/audit_log.hpp"
#include "facegate/badge/keys.hpp"
#include "facegate/camera/opencv_source.hpp"
#include "facegate/config/config.hpp"
#include "facegate/core/stopwatch.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/gate/badge_checker.hpp"
#include "facegate/gate/frame_loop.hpp"
#include "facegate/gate/gate.hpp"
#include "facegate/signal/logging_signaller.hpp"
#include "facegate/store/database.hpp"
#include "painted_faces.hpp"
#include "test_support.hpp"

extern char** environ;  // NOLINT

namespace facegate::gate {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

const fs::path kServerProgram = FACEGATE_MJPEG_SERVER;

constexpr int kCycles = 50;
constexpr int kWarmUpCycles = 2;
constexpr int kStallTimeoutMs = 1000;
constexpr int kServerFps = 15;
const cv::Size kFrameSize{640, 480};
// The fault must be seen within the stall timeout plus this: the frame loop's read waits
// the stall timeout from its start, which is at most one frame period (67 ms) before the
// stream froze, and declaring the outage is a few function calls. The rest is room for a
// 2-core CI machine shared with other jobs.
constexpr double kDetectMarginMs = 1000.0;
// Back in service at most this long after the stream returns. The stream returns at most
// 1.2 s after the outage was seen (the random delays below; for a kill, plus the server's
// start-up), so the reconnection back-off (waits of 0.5 s, 1 s, 2 s, ... after the outage)
// cannot be further than into its 2 s step. Opening the stream (connect, HTTP, FFmpeg's
// probing) and its first frame take about 70 ms here (the fastest recoveries measured); the
// rest is room for a loaded machine.
constexpr double kRecoveryBoundMs = 4000.0;
// The frame loop must kick the watchdog at least this often (half the unit's WatchdogSec).
constexpr double kWatchdogBoundMs = 5000.0;
// Hang detectors, not measurements: how long to wait before giving up on a cycle.
constexpr milliseconds kOutOfServiceLimit = 10s;
constexpr milliseconds kInServiceLimit = 30s;
// Frames processed after a return to service before threads and descriptors are counted,
// so that the count sees the loop streaming, not half-way through its reconnection.
constexpr std::uint64_t kSettleTurns = 5;

double msBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

std::size_t entriesIn(const fs::path& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// The lowest port the kernel hands out as a connection's source port.
int ephemeralPortLow() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768;
  range >> low;
  return low;
}

// mjpeg_server in a child process: started, frozen, resumed and killed by the test.
class StreamServer {
 public:
  // Serves `jpeg`, a JPEG image (handed to the server on its stdin, never written to a file).
  explicit StreamServer(std::vector<uchar> jpeg) : jpeg_(std::move(jpeg)) {}
  ~StreamServer() { kill(); }
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;

  // Starts the server on `port` and waits until it listens; the problem otherwise.
  std::optional<std::string> start(int port) {
    // stdin: a socket, so that writing to a server that has already exited is an error
    // (MSG_NOSIGNAL), not a SIGPIPE for this process.
    int in[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) {
      return fmt::format("socketpair: {}", std::strerror(errno));
    }
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      const int error = errno;
      ::close(in[0]);
      ::close(in[1]);
      return fmt::format("pipe: {}", std::strerror(error));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[1], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    // --parent-pid: the server dies with this process, even if the test crashes.
    std::vector<std::string> args = {
        kServerProgram.string(),    "--port",       std::to_string(port),      "--fps",
        std::to_string(kServerFps), "--parent-pid", std::to_string(::getpid())};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& arg : args) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    const int spawned =
        posix_spawn(&pid_, kServerProgram.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[1]);
    ::close(out[1]);
    if (spawned != 0) {
      ::close(in[0]);
      ::close(out[0]);
      pid_ = -1;
      return fmt::format("cannot start {}: {}", kServerProgram.string(), std::strerror(spawned));
    }
    const bool handedOver = sendAll(in[0], jpeg_);
    ::close(in[0]);  // end of the image
    std::string line;
    const auto until = Clock::now() + 10s;
    while (line.find('\n') == std::string::npos && Clock::now() < until) {
      pollfd readable{out[0], POLLIN, 0};
      if (::poll(&readable, 1, 100) != 1) {
        continue;
      }
      char buffer[64];
      const auto got = ::read(out[0], buffer, sizeof(buffer));
      if (got <= 0) {
        break;  // it exited without listening
      }
      line.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(out[0]);
    int bound = 0;
    if (!handedOver || std::sscanf(line.c_str(), "listening on port %d", &bound) != 1 ||
        bound != port) {
      kill();
      return fmt::format("mjpeg_server did not listen on port {} (it said \"{}\")", port, line);
    }
    port_ = port;
    return std::nullopt;
  }

  // SIGSTOP, and wait until the kernel reports it stopped.
  void freeze() {
    ASSERT_GT(pid_, 0);
    ASSERT_EQ(::kill(pid_, SIGSTOP), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid_, &status, WUNTRACED), pid_);
    ASSERT_TRUE(WIFSTOPPED(status));
  }

  void resume() {
    ASSERT_GT(pid_, 0);
    ASSERT_EQ(::kill(pid_, SIGCONT), 0);
  }

  // SIGKILL (a frozen server too) and reap it: its sockets are closed once this returns.
  void kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  // True while the process has not exited (frozen counts as running).
  bool running() { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

  std::string url() const { return fmt::format("http://127.0.0.1:{}/video.mjpg", port_); }
  int port() const { return port_; }

 private:
  static bool sendAll(int fd, const std::vector<uchar>& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return false;
      }
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  std::vector<uchar> jpeg_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Starts the server on a free port below the ephemeral range: no connection of this process
// can then be using that port as its source port when the server is started on it again.
std::optional<std::string> startOnFreePort(StreamServer& server, std::mt19937& random) {
  const int low = ephemeralPortLow();
  std::uniform_int_distribution<int> pick(std::max(1024, low - 10000), low - 1);
  std::string problems;
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto problem = server.start(pick(random));
    if (!problem) {
      return std::nullopt;
    }
    problems += *problem + "; ";
  }
  return problems;
}

// The daemon's RecordingNotifier, plus the longest time between two watchdog kicks: under
// systemd (WatchdogSec=10s in the unit) a longer silence restarts the daemon. Used by the
// loop thread only; read once the loop has stopped.
class TimedNotifier final : public ServiceNotifier {
 public:
  void ready(std::string_view status) override { recorded.ready(status); }
  void watchdog() override {
    const auto now = Clock::now();
    if (recorded.watchdogKicks > 0) {
      longestGapMs = std::max(longestGapMs, msBetween(lastKick_, now));
    }
    lastKick_ = now;
    recorded.watchdog();
  }
  void status(std::string_view text) override { recorded.status(text); }
  void reloading() override { recorded.reloading(); }
  void stopping() override { recorded.stopping(); }

  RecordingNotifier recorded;
  double longestGapMs = 0;

 private:
  Clock::time_point lastKick_;
};

// What the loop thread did, as the test thread sees it: when each out-of-service alarm
// started and when each return to service silenced it (the signaller's own timestamps), how
// many turns the loop made and the gate's state at the last one.
class LoopWatcher {
 public:
  void onSignal(const signal::SignalEvent& event) {
    std::lock_guard lock(mutex_);
    if (event.kind == signal::SignalEvent::Kind::PlayRepeating &&
        event.pattern == "out_of_service") {
      outOfService_.push_back(event.at);
    } else if (event.kind == signal::SignalEvent::Kind::Silence) {
      inService_.push_back(event.at);
    }
    changed_.notify_all();
  }

  // On the loop thread, between frames.
  void onTurn(State state) {
    std::lock_guard lock(mutex_);
    ++turns_;
    state_ = state;
    changed_.notify_all();
  }

  // The time of the n-th (1-based) out-of-service alarm, or nullopt after `limit`.
  std::optional<Clock::time_point> outOfService(std::size_t n, milliseconds limit) {
    return waitForNth(outOfService_, n, limit);
  }
  std::optional<Clock::time_point> inService(std::size_t n, milliseconds limit) {
    return waitForNth(inService_, n, limit);
  }

  // The gate's state once `more` turns have passed, or nullopt after `limit`.
  std::optional<State> stateAfterTurns(std::uint64_t more, milliseconds limit) {
    std::unique_lock lock(mutex_);
    const std::uint64_t target = turns_ + more;
    if (!changed_.wait_for(lock, limit, [&] { return turns_ >= target; })) {
      return std::nullopt;
    }
    return state_;
  }

 private:
  std::optional<Clock::time_point> waitForNth(const std::vector<Clock::time_point>& times,
                                              std::size_t n, milliseconds limit) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, limit, [&] { return times.size() >= n; })) {
      return std::nullopt;
    }
    return times[n - 1];
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Clock::time_point> outOfService_;
  std::vector<Clock::time_point> inService_;
  std::uint64_t turns_ = 0;
  State state_ = State::Idle;
};

// A fixture face photo letterboxed into a 640x480 frame (the size a gate camera sends),
// JPEG-encoded in memory.
std::vector<uchar> encodedFrame() {
  const cv::Mat photo = cv::imread(
      (test::dataDir() / "faces" / "leonard" / "leonard_1.png").string(), cv::IMREAD_COLOR);
  if (photo.empty()) {
    ADD_FAILURE() << "cannot read the fixture photo";
    return {};
  }
  const double scale = std::min(kFrameSize.width / static_cast<double>(photo.cols),
                                kFrameSize.height / static_cast<double>(photo.rows));
  cv::Mat scaled;
  cv::resize(photo, scaled, cv::Size(), scale, scale, cv::INTER_LINEAR);
  cv::Mat frame(kFrameSize, CV_8UC3, cv::Scalar::all(128));
  scaled.copyTo(frame(cv::Rect((kFrameSize.width - scaled.cols) / 2,
                               (kFrameSize.height - scaled.rows) / 2, scaled.cols, scaled.rows)));
  std::vector<uchar> jpeg;
  if (!cv::imencode(".jpg", frame, jpeg)) {
    ADD_FAILURE() << "cannot encode the frame";
  }
  return jpeg;
}

struct Stats {
  double median = 0;
  double max = 0;
};

Stats statsOf(std::vector<double> values) {
  if (values.empty()) {
    return {};
  }
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  const double median =
      values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2.0;
  return {median, values.back()};
}

struct Counts {
  std::size_t threads = 0;
  std::size_t fds = 0;
};

Counts countNow() {
  return {entriesIn("/proc/self/task"), entriesIn("/proc/self/fd")};
}

class StreamFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);  // as facegated
    auto database = store::Database::open(dir_ / "gate.db");
    ASSERT_TRUE(database) << database.error().message;
    database_.emplace(std::move(*database));
  }

  test::TempDir dir_;
  // No badge is ever shown, so no face is looked for: the double stands in for the engine.
  test::PaintedFaces faces_;
  std::optional<store::Database> database_;
};

// The server itself: the fixture as 640x480 MJPEG at its frame rate, to successive clients.
TEST(MjpegServer, StreamsTheFixtureAndTakesReconnects) {
  StreamServer server(encodedFrame());
  std::mt19937 random(7);
  const auto problem = startOnFreePort(server, random);
  ASSERT_FALSE(problem) << *problem;
  camera::OpenCvSource source(camera::CaptureSettings{.source = server.url()});
  for (int connection = 0; connection < 3; ++connection) {
    const auto opened = source.open();
    ASSERT_TRUE(opened) << opened.error().message;
    camera::Frame frame;
    ASSERT_EQ(source.read(frame, 2000ms), camera::ReadStatus::Frame);
    EXPECT_EQ(frame.bgr.size(), kFrameSize);
    EXPECT_EQ(frame.bgr.type(), CV_8UC3);
    // Paced, not flooded: ten more frames take about 10/15 s.
    Stopwatch watch;
    for (int i = 0; i < 10; ++i) {
      ASSERT_EQ(source.read(frame, 2000ms), camera::ReadStatus::Frame) << i;
    }
    EXPECT_GT(watch.elapsedMs(), 10 * 1000.0 / kServerFps * 0.7);
    source.close();
  }
  EXPECT_TRUE(server.running());
}

TEST_F(StreamFaults, FiftyFreezesAndKillsEachDetectedAndRecoveredWithoutLeaks) {
  // One seed, printed: a failure can be replayed with the same delays.
  constexpr unsigned kSeed = 20260601;
  std::mt19937 random(kSeed);
  StreamServer server(encodedFrame());
  const auto problem = startOnFreePort(server, random);
  ASSERT_FALSE(problem) << *problem;

  // The daemon's configuration and wiring (src/daemon/main.cpp) with a 1 s stall timeout.
  config::Config cfg = config::defaults();
  cfg.gate.id = "gate-faults";
  cfg.camera.source = server.url();
  cfg.camera.stallTimeoutMs = kStallTimeoutMs;
  camera::CaptureSettings capture;
  capture.source = cfg.camera.source;
  capture.width = cfg.camera.width;
  capture.height = cfg.camera.height;
  capture.fps = cfg.camera.fps;
  capture.readTimeout = milliseconds(cfg.camera.stallTimeoutMs);
  camera::OpenCvSource source(capture);

  enrolment::Registry registry(*database_, cfg.gate.id);
  BadgeChecker checker(registry, badge::SigningKey::generate().publicKey(), nullptr,
                       badge::BadgeKind::Sealed);
  audit::AuditLog auditLog(*database_);
  LoopWatcher watcher;
  signal::LoggingSignaller signaller(
      [&watcher](const signal::SignalEvent& event) { watcher.onSignal(event); });
  SystemWallClock wall;
  TimedNotifier notifier;
  Gate gate(app::gateSettingsFrom(cfg), faces_, checker, signaller, auditLog, wall, notifier);
  FrameLoop loop(source, gate, notifier, app::loopSettingsFrom(cfg));

  const auto opened = source.open();
  ASSERT_TRUE(opened) << opened.error().message;
  std::atomic<bool> stop{false};
  LoopResult result;
  std::thread loopThread([&] { result = loop.run(stop, [&] { watcher.onTurn(gate.state()); }); });
  // Whatever happens below, the loop is stopped and joined before anything it uses goes.
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Joiner() {
      stop = true;
      if (thread.joinable()) {
        thread.join();
      }
    }
  } joiner{stop, loopThread};
  ASSERT_TRUE(watcher.stateAfterTurns(kSettleTurns, 10s)) << "no frames from " << server.url();

  std::uniform_int_distribution<int> resumeDelayMs(0, 1200);     // after the outage is seen
  std::uniform_int_distribution<int> restartDelayMs(100, 1200);  // after the kill
  std::vector<double> stallDetectMs;
  std::vector<double> killDetectMs;
  std::vector<double> recoveryMs;
  std::vector<Counts> counts;
  Stopwatch total;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    const auto n = static_cast<std::size_t>(cycle) + 1;
    // Even cycles freeze the server (a silent stall) and then resume it, or every other
    // time kill it frozen and start it again; odd cycles kill it while it streams.
    const bool stall = cycle % 2 == 0;
    const bool restartAfterStall = stall && cycle % 4 == 2;
    const char* kind = !stall ? "kill" : restartAfterStall ? "freeze+kill" : "freeze";

    const auto faultAt = Clock::now();
    if (stall) {
      ASSERT_NO_FATAL_FAILURE(server.freeze());
    } else {
      server.kill();
    }
    const auto down = watcher.outOfService(n, kOutOfServiceLimit);
    ASSERT_TRUE(down) << "cycle " << cycle << " (" << kind << "): still in service "
                      << kOutOfServiceLimit.count() << " ms after the fault";
    const double detectMs = msBetween(faultAt, *down);
    (stall ? stallDetectMs : killDetectMs).push_back(detectMs);
    EXPECT_LT(detectMs, kStallTimeoutMs + kDetectMarginMs)
        << "cycle " << cycle << " (" << kind << ")";
    // A dropped connection is an error from the stream at once, not a stall to wait out.
    if (!stall) {
      EXPECT_LT(detectMs, kStallTimeoutMs) << "cycle " << cycle << " (kill)";
    }

    Clock::time_point backAt;
    if (stall) {
      std::this_thread::sleep_for(milliseconds(resumeDelayMs(random)));
      if (restartAfterStall) {
        server.kill();
        const auto restarted = server.start(server.port());
        ASSERT_FALSE(restarted) << "cycle " << cycle << ": " << *restarted;
      } else {
        backAt = Clock::now();
        ASSERT_NO_FATAL_FAILURE(server.resume());
      }
    } else {
      std::this_thread::sleep_until(faultAt + milliseconds(restartDelayMs(random)));
      const auto restarted = server.start(server.port());
      ASSERT_FALSE(restarted) << "cycle " << cycle << ": " << *restarted;
    }
    if (!stall || restartAfterStall) {
      backAt = Clock::now();  // listening again
    }
    const auto up = watcher.inService(n, kInServiceLimit);
    ASSERT_TRUE(up) << "cycle " << cycle << " (" << kind << "): not back in service "
                    << kInServiceLimit.count() << " ms after the stream came back";
    recoveryMs.push_back(std::max(0.0, msBetween(backAt, *up)));
    EXPECT_LT(recoveryMs.back(), kRecoveryBoundMs) << "cycle " << cycle << " (" << kind << ")";

    const auto state = watcher.stateAfterTurns(kSettleTurns, 10s);
    ASSERT_TRUE(state) << "cycle " << cycle << ": no frames after the return to service";
    EXPECT_EQ(*state, State::Idle) << "cycle " << cycle;
    counts.push_back(countNow());
    std::cout << fmt::format(
                     "[ cycle    ] {:2} {:<11} out of service after {:4.0f} ms; stream back "
                     "{:4.0f} ms after the fault; in service {:4.0f} ms later; threads {} fds {}\n",
                     cycle, kind, detectMs, msBetween(faultAt, backAt), recoveryMs.back(),
                     counts.back().threads, counts.back().fds)
              << std::flush;
  }
  const double totalMs = total.elapsedMs();
  EXPECT_TRUE(server.running());

  // Threads and descriptors after each recovery, once warmed up (the first reconnections
  // may start pools that then stay: OpenCV's, FFmpeg's). No tolerance: they are counted at
  // the same point of every cycle (streaming, kSettleTurns frames after the return), when
  // nothing else in this process opens or starts anything (the server is another process and
  // the pipe to it is closed once it listens), so any difference is a descriptor or a thread
  // that a reconnection left behind. Measured: the same count in every cycle of every run.
  const std::vector<Counts> steady(counts.begin() + kWarmUpCycles, counts.end());
  const auto [threadsMin, threadsMax] =
      std::minmax_element(steady.begin(), steady.end(),
                          [](const Counts& a, const Counts& b) { return a.threads < b.threads; });
  const auto [fdsMin, fdsMax] = std::minmax_element(
      steady.begin(), steady.end(), [](const Counts& a, const Counts& b) { return a.fds < b.fds; });
  EXPECT_EQ(threadsMax->threads, threadsMin->threads) << "threads change across reconnections";
  EXPECT_EQ(fdsMax->fds, fdsMin->fds) << "file descriptors change across reconnections";

  stop = true;
  loopThread.join();
  loopThread = std::thread();  // the joiner finds nothing to join
  const Stats stallDetect = statsOf(stallDetectMs);
  const Stats killDetect = statsOf(killDetectMs);
  const Stats recovery = statsOf(recoveryMs);
  std::cout << fmt::format(
                   "[ summary  ] {} cycles in {:.1f} s (seed {}): out of service after a "
                   "freeze median {:.0f} ms max {:.0f} ms, after a kill median {:.0f} ms "
                   "max {:.0f} ms; back in service after the stream returned median {:.0f} "
                   "ms max {:.0f} ms; threads first {} last {} max {}; fds first {} last "
                   "{} max {}; longest watchdog gap {:.0f} ms\n",
                   kCycles, totalMs / 1000.0, kSeed, stallDetect.median, stallDetect.max,
                   killDetect.median, killDetect.max, recovery.median, recovery.max,
                   counts.front().threads, counts.back().threads, threadsMax->threads,
                   counts.front().fds, counts.back().fds, fdsMax->fds, notifier.longestGapMs)
            << std::flush;

  // Every outage went through the gate exactly once: one loop outage, one alarm, one audit
  // record and one status line each way per cycle, in order.
  EXPECT_EQ(result.outages, static_cast<std::uint64_t>(kCycles));
  EXPECT_EQ(gate.state(), State::Idle);
  EXPECT_EQ(faces_.detectCalls(), 0U) << "no badge was shown, yet faces were looked for";
  const auto events = signaller.events();
  ASSERT_EQ(events.size(), 2U * kCycles);
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i % 2 == 0) {
      EXPECT_EQ(events[i].kind, signal::SignalEvent::Kind::PlayRepeating) << i;
      EXPECT_EQ(events[i].pattern, "out_of_service") << i;
      EXPECT_EQ(events[i].light, signal::Light::Red) << i;
    } else {
      EXPECT_EQ(events[i].kind, signal::SignalEvent::Kind::Silence) << i;
    }
  }
  std::vector<std::string> statuses;
  for (const auto& message : notifier.recorded.messages) {
    if (message.starts_with("STATUS=")) {
      statuses.push_back(message);
    }
  }
  ASSERT_EQ(statuses.size(), 2U * kCycles);
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    if (i % 2 == 0) {
      EXPECT_TRUE(statuses[i].starts_with("STATUS=last passage: OUT_OF_SERVICE (")) << statuses[i];
      EXPECT_NE(statuses[i].find(server.url()), std::string::npos) << statuses[i];
    } else {
      EXPECT_EQ(statuses[i], "STATUS=in service, waiting for a badge");
    }
  }
  // Kicked all along, faults included: the longest gap is a blocked read or close (about the
  // stall timeout) or a reopen blocked on the frozen server. Half the unit's WatchdogSec, as
  // config/facegate.toml bounds stall_timeout_ms.
  EXPECT_GT(notifier.recorded.watchdogKicks, 0U);
  EXPECT_LT(notifier.longestGapMs, kWatchdogBoundMs);
  auto records = auditLog.records(0, std::int64_t{10} * kCycles);
  ASSERT_TRUE(records) << records.error().message;
  std::vector<std::string> actions;
  for (const auto& record : *records) {
    actions.push_back(record.event.action == "passage"
                          ? "passage " + record.event.outcome.value_or("?")
                          : record.event.action);
  }
  std::vector<std::string> expected;
  for (int i = 0; i < kCycles; ++i) {
    expected.push_back("passage OUT_OF_SERVICE");
    expected.push_back("in_service");
  }
  EXPECT_EQ(actions, expected);
  const auto chain = auditLog.verify();
  ASSERT_TRUE(chain) << chain.error().message;
  EXPECT_TRUE(chain->intact) << chain->problem;
}

}  // namespace
}  // namespace facegate::gate
