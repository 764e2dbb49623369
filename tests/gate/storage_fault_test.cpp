// Fail closed on storage: while the audit log cannot be written (a full disk, a failing
// fsync) the gate grants nobody, shows out of service, and comes back by itself — recording
// the gap in the chain — once writes succeed again. The faults are injected under SQLite by
// a VFS (tests/support/faulty_vfs.hpp) so the production code runs unchanged; the full-disk
// case is also run on a real, small tmpfs when the test may mount one.
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "facegate/config/config.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/gate/demo.hpp"
#include "facegate/gate/frame_loop.hpp"
#include "facegate/gate/settings.hpp"
#include "facegate/signal/logging_signaller.hpp"
#include "faulty_vfs.hpp"
#include "test_support.hpp"

namespace facegate::gate {
namespace {

// Replays the demo scenario and lets the test repair the fault after a number of frames.
class RepairingSource final : public camera::FrameSource {
 public:
  RepairingSource(camera::FrameSource& inner, std::function<void(std::uint64_t)> onFrame)
      : inner_(inner), onFrame_(std::move(onFrame)) {}
  Result<void> open() override { return inner_.open(); }
  camera::ReadStatus read(camera::Frame& out, std::chrono::milliseconds timeout) override {
    const auto status = inner_.read(out, timeout);
    if (status == camera::ReadStatus::Frame) {
      onFrame_(++frames_);
    }
    return status;
  }
  void close() noexcept override { inner_.close(); }
  std::string describe() const override { return inner_.describe(); }

 private:
  camera::FrameSource& inner_;
  std::function<void(std::uint64_t)> onFrame_;
  std::uint64_t frames_ = 0;
};

struct Seen {
  Outcome outcome;
  std::optional<Outcome> withheld;
  std::string reason;
  bool whileFaulty;
};

class StorageFault : public ::testing::Test {
 protected:
  void SetUp() override {
    FACEGATE_REQUIRE_MODELS();
    test::installFaultyVfs();  // before any database is opened
    test::armStorageFault(test::StorageFault::None);
    face::EngineOptions options;
    options.upsampleWhenNoFace = false;
    auto engine = face::FaceEngine::load(test::modelDir(), options);
    ASSERT_TRUE(engine) << engine.error().message;
    engine_ = std::move(*engine);
  }
  void TearDown() override { test::armStorageFault(test::StorageFault::None); }

  void makeWorld() {
    auto world = DemoWorld::create(*engine_, test::dataDir() / "faces");
    ASSERT_TRUE(world) << world.error().message;
    world_ = std::move(*world);
    // The demo's first passage is a volunteer who is granted: the one the fault must stop.
    ASSERT_EQ(world_->passages().front().expected, Outcome::Granted);
  }

  // Runs the demo scenario with the storage broken by `breakIt` from the start, and
  // repaired by `repair` `repairAfterFrames` frames after the first decision was withheld.
  void runScenario(const std::function<void()>& breakIt, const std::function<void()>& repair,
                   std::uint64_t repairAfterFrames) {
    enrolment::Registry registry(world_->database(), "gate-test");
    BadgeChecker checker(registry, world_->publicKey(), &world_->templateKey());
    audit::AuditLog log(world_->database());
    ManualWallClock wall(std::time(nullptr));
    GateSettings settings = gateSettingsFrom(config::defaults());
    settings.gateId = "gate-test";
    Gate gate(settings, *engine_, checker, signaller_, log, wall, notifier_);

    bool faulty = true;
    std::optional<std::uint64_t> firstWithheldAt;
    std::uint64_t frame = 0;
    gate.onReport = [&](const PassageReport& r) {
      seen_.push_back({r.decision.outcome, r.withheld, r.decision.reason, faulty});
      if (r.withheld && !firstWithheldAt) {
        firstWithheldAt = frame;
      }
    };
    auto scenario = world_->takeSource();
    RepairingSource source(*scenario, [&](std::uint64_t n) {
      frame = n;
      if (faulty && firstWithheldAt && n == *firstWithheldAt + repairAfterFrames) {
        repair();
        faulty = false;
        faultyUntilFrame_ = n;
      }
      if (faulty && gate.storageFaulted()) {
        statesWhileFaulty_.push_back(gate.state());
      }
      if (!faulty && gate.state() == State::Idle && !backAtFrame_ && !gate.storageFaulted()) {
        backAtFrame_ = n;
      }
    });
    ASSERT_TRUE(source.open());
    LoopSettings loopSettings;
    loopSettings.reconnectMin = std::chrono::milliseconds(10);
    loopSettings.stopAtEnd = true;
    FrameLoop loop(source, gate, notifier_, loopSettings);
    breakIt();
    const std::atomic<bool> stop{false};
    (void)loop.run(stop);
    test::armStorageFault(test::StorageFault::None);

    auto verified = log.verify();
    ASSERT_TRUE(verified && verified->intact)
        << (verified ? verified->problem : verified.error().message);
    auto records = log.records(0, 10000);
    ASSERT_TRUE(records);
    records_ = *records;
  }

  void expectFailedClosedAndRecovered(std::string_view errorText) {
    ASSERT_FALSE(seen_.empty());
    // The volunteer's GRANTED was decided but withheld: out of service instead.
    EXPECT_EQ(seen_.front().outcome, Outcome::OutOfService);
    ASSERT_TRUE(seen_.front().withheld);
    EXPECT_EQ(*seen_.front().withheld, Outcome::Granted);
    EXPECT_EQ(seen_.front().reason, "audit log cannot be written");
    // Nobody was granted while the log could not be written; the gate stayed out of service.
    for (const auto& s : seen_) {
      if (s.whileFaulty) {
        EXPECT_NE(s.outcome, Outcome::Granted);
      }
    }
    ASSERT_FALSE(statesWhileFaulty_.empty());
    for (const State s : statesWhileFaulty_) {
      EXPECT_EQ(s, State::OutOfService);
    }
    const auto events = signaller_.events();
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front().pattern, "out_of_service");
    EXPECT_EQ(events.front().kind, signal::SignalEvent::Kind::PlayRepeating);
    EXPECT_EQ(events.front().light, signal::Light::Red);
    EXPECT_TRUE(std::any_of(notifier_.messages.begin(), notifier_.messages.end(), [](auto& m) {
      return m.find("audit log cannot be written") != std::string::npos;
    }));

    // Back by itself within the retry interval (15 fps: 2 s = 30 frames, plus one).
    ASSERT_TRUE(faultyUntilFrame_ && backAtFrame_);
    EXPECT_LE(*backAtFrame_ - *faultyUntilFrame_, 32U);
    // ... and decides again: the scenario's last passage (on-badge volunteer) is granted.
    EXPECT_FALSE(seen_.back().whileFaulty);
    EXPECT_EQ(seen_.back().outcome, Outcome::Granted);

    // The gap is in the chain where it happened, with what was withheld and why; no
    // GRANTED record before it.
    const auto gap = std::find_if(records_.begin(), records_.end(),
                                  [](const auto& r) { return r.event.action == "storage_fault"; });
    ASSERT_NE(gap, records_.end());
    EXPECT_NE(gap->event.detail.find("withheld=GRANTED"), std::string::npos) << gap->event.detail;
    EXPECT_NE(gap->event.detail.find(errorText), std::string::npos) << gap->event.detail;
    for (auto r = records_.begin(); r != gap; ++r) {
      EXPECT_FALSE(r->event.action == "passage" && r->event.outcome == "GRANTED");
    }
    EXPECT_EQ(std::next(gap)->event.action, "in_service");
  }

  std::unique_ptr<face::FaceEngine> engine_;
  std::unique_ptr<DemoWorld> world_;
  signal::LoggingSignaller signaller_;
  RecordingNotifier notifier_;
  std::vector<Seen> seen_;
  std::vector<State> statesWhileFaulty_;
  std::optional<std::uint64_t> faultyUntilFrame_;
  std::optional<std::uint64_t> backAtFrame_;
  std::vector<audit::AuditRecord> records_;
};

TEST_F(StorageFault, AFailingFsyncWithholdsEveryDecisionUntilTheLogCanBeWrittenAgain) {
  makeWorld();
  const auto before = test::injectedStorageFailures();
  runScenario([] { test::armStorageFault(test::StorageFault::FsyncFails); },
              [] { test::armStorageFault(test::StorageFault::None); }, 45);
  EXPECT_GT(test::injectedStorageFailures(), before);
  expectFailedClosedAndRecovered("fsync failed");
}

TEST_F(StorageFault, AFullDiskWithholdsEveryDecisionUntilThereIsSpaceAgain) {
  makeWorld();
  const auto before = test::injectedStorageFailures();
  runScenario([] { test::armStorageFault(test::StorageFault::DiskFull); },
              [] { test::armStorageFault(test::StorageFault::None); }, 45);
  EXPECT_GT(test::injectedStorageFailures(), before);
  expectFailedClosedAndRecovered("the disk is full");
}

// The same on a real file system that runs out of space: a 4 MiB tmpfs holding the demo's
// database, filled up by another file, then freed. Needs the right to mount (root in CI).
TEST_F(StorageFault, ARealFullTmpfsFailsClosedAndRecoversWhenSpaceReturns) {
  const test::TempDir dir;
  const std::filesystem::path mountPoint = dir.path();
  if (::mount("facegate-test", mountPoint.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
              "size=4m,mode=0700") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                 << "); the injected full-disk test covers the same path";
  }
  struct Unmount {
    std::filesystem::path at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{mountPoint};
  struct DropWorld {  // the demo's files go before the tmpfs does
    std::unique_ptr<DemoWorld>& world;
    ~DropWorld() { world.reset(); }
  } dropWorld{world_};
  const char* oldTmp = std::getenv("TMPDIR");
  const std::string restoreTmp = oldTmp != nullptr ? oldTmp : "";
  ::setenv("TMPDIR", mountPoint.c_str(), 1);
  makeWorld();
  oldTmp != nullptr ? ::setenv("TMPDIR", restoreTmp.c_str(), 1) : ::unsetenv("TMPDIR");
  ASSERT_EQ(world_->directory().string().rfind(mountPoint.string(), 0), 0U)
      << "the demo's database is on the tmpfs";
  // Nothing left in the WAL to overwrite in place: every new record needs new blocks.
  ASSERT_TRUE(world_->database().exec("PRAGMA wal_checkpoint(TRUNCATE)"));

  const auto filler = mountPoint / "filler";
  runScenario(
      [&] {
        std::ofstream out(filler, std::ios::binary);
        const std::string block(64 * 1024, '\0');
        while (out.write(block.data(), static_cast<std::streamsize>(block.size()))) {
        }
        // Fill the last partial block too.
        out.clear();
        for (int i = 0; i < 64 * 1024 && out.put('\0'); ++i) {
        }
      },
      [&] { std::filesystem::remove(filler); }, 45);
  expectFailedClosedAndRecovered("the disk is full");
}

}  // namespace
}  // namespace facegate::gate
