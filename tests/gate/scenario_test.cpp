// Passages through the real daemon loop: scenario frames -> zbar -> badge checks -> face
// engine -> state machine -> logging signaller -> hash-chained audit log.
#include <gtest/gtest.h>

#include "facegate/app/settings.hpp"
#include "facegate/app/station.hpp"
#include "facegate/config/config.hpp"
#include "facegate/demo/demo.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/gate/frame_loop.hpp"
#include "facegate/signal/logging_signaller.hpp"
#include "test_support.hpp"

namespace facegate::gate {
namespace {

GateSettings settingsFromDefaults() {
  GateSettings s = app::gateSettingsFrom(config::defaults());
  s.gateId = "gate-test";
  return s;
}

struct Observed {
  Outcome outcome;
  std::uint64_t faceCallsDuringPassage;
  std::optional<double> distance;
  std::string reason;
};

class DemoScenario : public ::testing::Test {
 protected:
  void SetUp() override {
    FACEGATE_REQUIRE_MODELS();
    face::EngineOptions options;
    options.upsampleWhenNoFace = false;
    auto engine = face::FaceEngine::load(test::modelDir(), options);
    ASSERT_TRUE(engine) << engine.error().message;
    engine_ = std::move(*engine);
    auto world = demo::DemoWorld::create(*engine_, test::dataDir() / "faces");
    ASSERT_TRUE(world) << world.error().message;
    world_ = std::move(*world);
  }

  // The demo's keys; both kinds of volunteer badge accepted, as the daemon does for the demo.
  app::GateKeys keys() const { return {world_->publicKey(), &world_->templateKey(), {}}; }

  std::unique_ptr<face::FaceEngine> engine_;
  std::unique_ptr<demo::DemoWorld> world_;
};

TEST_F(DemoScenario, EveryPassageEndsAsExpected) {
  signal::LoggingSignaller signaller;
  ManualWallClock wall(std::time(nullptr));
  RecordingNotifier notifier;
  app::Station station(world_->database(), keys(), settingsFromDefaults(), *engine_, signaller,
                       wall, notifier);
  Gate& gate = station.gate();
  audit::AuditLog& log = station.auditLog();

  std::vector<Observed> observed;
  std::uint64_t callsAtLastReport = 0;
  gate.onReport = [&](const PassageReport& r) {
    observed.push_back({r.decision.outcome, gate.faceEngineCalls() - callsAtLastReport,
                        r.decision.distance, r.decision.reason});
    callsAtLastReport = gate.faceEngineCalls();
  };
  auto source = world_->takeSource();
  ASSERT_TRUE(source->open());
  LoopSettings loopSettings;
  loopSettings.reconnectMin = std::chrono::milliseconds(10);
  loopSettings.stopAtEnd = true;
  FrameLoop loop(*source, gate, notifier, loopSettings);
  const std::atomic<bool> stop{false};
  const LoopResult result = loop.run(stop);

  const auto& expected = world_->passages();
  ASSERT_EQ(observed.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(observed[i].outcome, expected[i].expected)
        << expected[i].who << ": got " << toString(observed[i].outcome) << " "
        << observed[i].reason;
  }
  // The non-volunteer's passage never reached the face engine.
  EXPECT_EQ(observed[1].outcome, Outcome::ManualCheck);
  EXPECT_EQ(observed[1].faceCallsDuringPassage, 0U);
  EXPECT_GT(observed[0].faceCallsDuringPassage, 0U);
  // Badge rejections carry their reason; the impostor's distance is above the threshold.
  EXPECT_EQ(observed[3].reason, "device-border") << "the edges of the printed sheet";
  EXPECT_EQ(observed[4].reason, "other-school");
  EXPECT_EQ(observed[5].reason, "revoked");
  ASSERT_TRUE(observed[2].distance);
  EXPECT_GT(*observed[2].distance, 0.58);
  ASSERT_TRUE(observed[0].distance);
  EXPECT_LT(*observed[0].distance, 0.58);
  EXPECT_EQ(result.outages, 1U);

  // The alarm pattern sounded for the impostor, out of service repeated until recovery.
  const auto events = signaller.events();
  const auto played = [&](const std::string& pattern) {
    return std::count_if(events.begin(), events.end(), [&](const signal::SignalEvent& e) {
      return e.pattern == pattern && e.kind != signal::SignalEvent::Kind::Silence;
    });
  };
  EXPECT_EQ(played("granted"), 2);
  EXPECT_EQ(played("mismatch"), 1);
  EXPECT_EQ(played("manual_check"), 1);
  EXPECT_EQ(played("reject_badge"), 2);
  EXPECT_EQ(played("timeout"), 1);
  EXPECT_EQ(played("spoof"), 1);
  EXPECT_EQ(played("out_of_service"), 1);
  const auto mismatch = std::find_if(events.begin(), events.end(),
                                     [](const auto& e) { return e.pattern == "mismatch"; });
  EXPECT_EQ(mismatch->light, signal::Light::Red);

  // One audit record per passage (plus the desk's enrolments and the return to service),
  // and the chain holds.
  auto report = log.verify();
  ASSERT_TRUE(report && report->intact) << (report ? report->problem : report.error().message);
  auto records = log.records(0, 1000);
  ASSERT_TRUE(records);
  const auto passages = std::count_if(records->begin(), records->end(),
                                      [](const auto& r) { return r.event.action == "passage"; });
  EXPECT_EQ(passages, static_cast<long>(expected.size()));
  EXPECT_EQ(std::count_if(records->begin(), records->end(),
                          [](const auto& r) { return r.event.action == "in_service"; }),
            1);
  for (const auto& r : *records) {
    EXPECT_EQ(r.event.detail.find("-2026"), std::string::npos) << "no pupil id in the audit";
  }
  // The status line shows the last outcome; the watchdog was kicked from the loop.
  EXPECT_GE(notifier.watchdogKicks, result.frames);
  EXPECT_NE(gate.lastStatus().find("GRANTED"), std::string::npos);
}

// A live source that ends (a stream closed by the camera) and comes back on reopen.
class FlakySource final : public camera::FrameSource {
 public:
  explicit FlakySource(cv::Mat frame) : frame_(std::move(frame)) {}
  Result<void> open() override {
    ++opens;
    open_ = true;
    return {};
  }
  camera::ReadStatus read(camera::Frame& out, std::chrono::milliseconds /*timeout*/) override {
    if (!open_) {
      return camera::ReadStatus::Failed;
    }
    ++reads;
    if (reads == 20) {
      open_ = false;
      return camera::ReadStatus::Ended;  // the stream closed
    }
    if (reads > 60) {
      return camera::ReadStatus::Ended;
    }
    out.bgr = frame_;
    out.capturedAt = t_ += std::chrono::milliseconds(33);
    return camera::ReadStatus::Frame;
  }
  void close() noexcept override { open_ = false; }
  std::string describe() const override { return "flaky test camera"; }

  int opens = 0;
  int reads = 0;

 private:
  cv::Mat frame_;
  bool open_ = false;
  std::chrono::steady_clock::time_point t_ = std::chrono::steady_clock::now();
};

TEST_F(DemoScenario, ALiveSourceThatEndsIsOutOfServiceUntilItComesBack) {
  signal::LoggingSignaller signaller;
  ManualWallClock wall(std::time(nullptr));
  RecordingNotifier notifier;
  app::Station station(world_->database(), keys(), settingsFromDefaults(), *engine_, signaller,
                       wall, notifier);
  Gate& gate = station.gate();
  std::vector<Outcome> outcomes;
  gate.onReport = [&](const PassageReport& r) { outcomes.push_back(r.decision.outcome); };

  FlakySource source(cv::Mat(480, 640, CV_8UC3, cv::Scalar(150, 160, 170)));
  ASSERT_TRUE(source.open());
  LoopSettings settings;
  settings.reconnectMin = std::chrono::milliseconds(10);
  settings.reconnectMax = std::chrono::milliseconds(20);
  FrameLoop loop(source, gate, notifier, settings);
  std::atomic<bool> stop{false};
  // Stop once the source has been read well past its return.
  const LoopResult result = loop.run(stop, [&] {
    if (source.reads >= 50) {
      stop = true;
    }
  });
  EXPECT_EQ(source.opens, 2) << "reopened once after the stream ended";
  EXPECT_EQ(result.outages, 1U);
  ASSERT_EQ(outcomes, std::vector<Outcome>{Outcome::OutOfService});
  EXPECT_EQ(gate.state(), State::Idle) << "back in service";
  EXPECT_EQ(gate.lastStatus(), "in service, waiting for a badge");
  const auto events = signaller.events();
  ASSERT_GE(events.size(), 2U);
  EXPECT_EQ(events[0].kind, signal::SignalEvent::Kind::PlayRepeating);
  EXPECT_EQ(events[1].kind, signal::SignalEvent::Kind::Silence) << "silenced when frames return";
}

}  // namespace
}  // namespace facegate::gate
