// Fail closed on storage: while the audit log cannot be written (a full disk, a failing
// fsync) the gate grants nobody, shows out of service, and comes back by itself — recording
// the gap in the chain — once writes succeed again. The faults are injected under SQLite by
// a VFS (tests/support/faulty_vfs.hpp) so the production code runs unchanged; the full-disk
// case is also run on a real, small tmpfs when the test may mount one.
//
// The storage path does not depend on how faces are found: one test runs the demo's school
// with the real face engine (and the liveness check), so that the path as deployed stays
// covered; the others run a school of painted faces (tests/support/painted_faces.hpp) and
// need no models.
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "facegate/app/settings.hpp"
#include "facegate/badge/qr.hpp"
#include "facegate/camera/scenario_source.hpp"
#include "facegate/config/config.hpp"
#include "facegate/demo/demo.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/gate/frame_loop.hpp"
#include "facegate/signal/logging_signaller.hpp"
#include "faulty_vfs.hpp"
#include "painted_faces.hpp"
#include "test_support.hpp"

namespace facegate::gate {
namespace {

// Replays a scenario and lets the test repair the fault after a number of frames.
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

// The demo's school and scenario without the models: templates the test makes, and pupils
// whose faces are painted where they stand. The same kinds of passage as the demo, in the
// order the storage tests rely on: a sealed volunteer granted first, an on-badge volunteer
// granted last, after a camera outage. (No presentation attack: a painted face has no
// texture for the liveness check to judge, so the check is off here.)
class PaintedSchool {
 public:
  static constexpr int kFps = demo::DemoWorld::kFps;

  static std::unique_ptr<PaintedSchool> create() {
    std::unique_ptr<PaintedSchool> school(new PaintedSchool());
    return school->build() ? std::move(school) : nullptr;
  }
  ~PaintedSchool() { database_.reset(); }  // before its directory goes
  PaintedSchool(const PaintedSchool&) = delete;
  PaintedSchool& operator=(const PaintedSchool&) = delete;

  store::Database& database() { return *database_; }
  const badge::PublicKey& publicKey() const { return publicKey_; }
  const badge::TemplateKey& templateKey() const { return templateKey_; }
  face::FaceAnalyser& faces() { return faces_; }
  std::unique_ptr<camera::ScenarioSource> takeSource() { return std::move(source_); }
  const std::vector<demo::DemoPassage>& passages() const { return passages_; }
  const std::filesystem::path& directory() const { return dir_.path(); }

 private:
  PaintedSchool() = default;

  static face::Embedding randomEmbedding(std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> component(0.0F, 0.09F);
    face::Embedding e;
    for (auto& v : e.values()) {
      v = component(rng);
    }
    return e;
  }

  // The same person seen by a camera: `templ` moved by exactly `distance`, in a random
  // direction.
  static face::Embedding seenAt(const face::Embedding& templ, double distance, std::uint32_t seed) {
    const face::Embedding direction = randomEmbedding(seed);
    double norm = 0.0;
    for (const float v : direction.values()) {
      norm += double(v) * v;
    }
    face::Embedding out = templ.copy();
    for (std::size_t i = 0; i < face::kEmbeddingSize; ++i) {
      out.values()[i] += static_cast<float>(distance * direction.values()[i] / std::sqrt(norm));
    }
    return out;
  }

  static cv::Mat wall() {
    cv::Mat frame(kFrameSize, CV_8UC3);
    for (int y = 0; y < frame.rows; ++y) {
      const auto shade = static_cast<unsigned char>(150 + 40 * y / frame.rows);
      frame.row(y).setTo(cv::Scalar(shade - 10, shade, shade + 5));
    }
    return frame;
  }

  // The badge held up lower left, as in the demo.
  static bool placeBadge(cv::Mat& frame, const std::string& payload) {
    auto qr = badge::renderQr(payload, 1, 4);
    if (!qr) {
      ADD_FAILURE() << qr.error().message;
      return false;
    }
    const int module = std::max(2, 230 / qr->cols);
    cv::Mat big;
    cv::resize(*qr, big, cv::Size(qr->cols * module, qr->rows * module), 0, 0, cv::INTER_NEAREST);
    cv::Mat bgr;
    cv::cvtColor(big, bgr, cv::COLOR_GRAY2BGR);
    bgr.copyTo(frame(cv::Rect(10, frame.rows - bgr.rows - 10, bgr.cols, bgr.rows)));
    return true;
  }

  bool build() {
    auto db = store::Database::open(dir_ / "school.db");
    if (!db) {
      ADD_FAILURE() << db.error().message;
      return false;
    }
    database_.emplace(std::move(*db));
    const auto school = badge::SigningKey::generate();
    const auto otherSchool = badge::SigningKey::generate();
    publicKey_ = school.publicKey();
    enrolment::Registry registry(*database_, "desk:painted");
    const std::int64_t now = std::time(nullptr);
    std::uint32_t seed = 0;
    std::map<std::string, face::Embedding> templates;
    const auto enrol = [&](const std::string& pupil, badge::BadgeKind mode,
                           bool replace) -> std::optional<std::string> {
      if (!templates.contains(pupil)) {
        templates.emplace(pupil, randomEmbedding(++seed));
      }
      enrolment::EnrolmentRequest request;
      request.pupilId = pupil;
      request.consentRef = "FORM-" + pupil;
      request.guardianConsentRef = "GUARDIAN-" + pupil;
      request.mode = mode;
      request.replace = replace;
      request.now = now;
      auto issued = registry.enrol(request, templates.at(pupil), &templateKey_);
      if (!issued) {
        ADD_FAILURE() << pupil << ": " << issued.error().message;
        return std::nullopt;
      }
      return *badge::encodeBadge(*issued, school);
    };
    const auto anna = enrol("anna", badge::BadgeKind::Sealed, false);
    const auto ben = enrol("ben", badge::BadgeKind::OnBadge, false);
    const auto chloe = enrol("chloe", badge::BadgeKind::Sealed, false);
    const auto fayOld = enrol("fay", badge::BadgeKind::Sealed, false);
    const auto fay = enrol("fay", badge::BadgeKind::Sealed, true);  // lost her badge
    auto eveBadge = registry.issuePlainBadge("eve", true, now, 365);
    if (!anna || !ben || !chloe || !fayOld || !fay || !eveBadge) {
      ADD_FAILURE() << "the painted school could not be enrolled";
      return false;
    }
    const std::string eve = *badge::encodeBadge(*eveBadge, school);
    badge::Badge forgedBadge;
    forgedBadge.kind = badge::BadgeKind::Plain;
    forgedBadge.serial = badge::newBadgeSerial();
    forgedBadge.pupilId = "dan";
    forgedBadge.issuedAt = now;
    forgedBadge.expiresAt = now + 86'400;
    const std::string forged = *badge::encodeBadge(forgedBadge, otherSchool);

    // At the gate: each volunteer 0.35 from their template (the threshold is 0.58), dan and
    // eve nobody's.
    const cv::Vec3b annaFace = faces_.addPerson(seenAt(templates.at("anna"), 0.35, 101));
    const cv::Vec3b benFace = faces_.addPerson(seenAt(templates.at("ben"), 0.35, 102));
    const cv::Vec3b fayFace = faces_.addPerson(seenAt(templates.at("fay"), 0.35, 103));
    const cv::Vec3b danFace = faces_.addPerson(randomEmbedding(104));
    const cv::Vec3b eveFace = faces_.addPerson(randomEmbedding(105));

    std::vector<camera::ScenarioSource::Step> steps;
    const auto idle = [&](int frames) {
      for (int i = 0; i < frames; ++i) {
        steps.push_back({wall(), "nobody"});
      }
    };
    // One passage: the badge held up with the face already in view, then the face alone.
    bool rendered = true;
    const auto passage = [&](const std::string& payload, const cv::Vec3b* face,
                             const std::string& who, Outcome expected) {
      cv::Mat faceOnly = wall();
      if (face != nullptr) {
        test::PaintedFaces::paint(faceOnly, kFaceAt, *face);
      }
      cv::Mat withBadge = faceOnly.clone();
      rendered = placeBadge(withBadge, payload) && rendered;
      for (int i = 0; i < 3; ++i) {
        steps.push_back({withBadge, who});
      }
      for (int i = 0; i < 8; ++i) {
        steps.push_back({faceOnly, who});
      }
      passages_.push_back({who, expected});
    };
    idle(10);
    passage(*anna, &annaFace, "anna, a volunteer (sealed template), shows her badge",
            Outcome::Granted);
    idle(25);
    passage(eve, &eveFace, "eve did not volunteer: paper pass", Outcome::ManualCheck);
    idle(25);
    passage(*chloe, &danFace, "dan holds chloe's badge", Outcome::Mismatch);
    idle(25);
    passage(forged, &danFace, "dan shows a badge signed by another school", Outcome::RejectBadge);
    idle(25);
    passage(*fayOld, &fayFace, "fay shows her old, revoked badge", Outcome::RejectBadge);
    idle(25);
    passage(*fay, nullptr, "fay's new badge, nobody in front of the camera", Outcome::Timeout);
    idle(70);  // the verification window runs out
    steps.push_back({cv::Mat(), "camera outage"});
    passages_.push_back({"the camera stops delivering frames", Outcome::OutOfService});
    idle(15);
    passage(*ben, &benFace, "ben, a volunteer (template in his badge), after the outage",
            Outcome::Granted);
    idle(25);
    source_ = std::make_unique<camera::ScenarioSource>(std::move(steps), kFps);
    return rendered;
  }

  static inline const cv::Size kFrameSize{640, 480};
  static inline const cv::Rect kFaceAt{380, 110, 200, 200};  // a pupil at the gate

  test::TempDir dir_;  // first: outlives the database in it
  std::optional<store::Database> database_;
  badge::PublicKey publicKey_{};
  badge::TemplateKey templateKey_ = badge::TemplateKey::generate();
  test::PaintedFaces faces_;
  std::unique_ptr<camera::ScenarioSource> source_;
  std::vector<demo::DemoPassage> passages_;
};

struct Seen {
  Outcome outcome;
  std::optional<Outcome> withheld;
  std::string reason;
  bool whileFaulty;
  std::int64_t at;  // the decision's wall time
};

// A wall clock running at real speed from a fixed origin: what the gate writes as "since"
// and "for how long" can be compared with when the test took and released a lock.
class RunningWallClock final : public WallClock {
 public:
  explicit RunningWallClock(std::int64_t origin) : origin_(origin) {}
  std::int64_t unixNow() override {
    return origin_ + std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::steady_clock::now() - start_)
                         .count();
  }

 private:
  std::int64_t origin_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Forwards to a RecordingNotifier and measures the longest time between two watchdog kicks:
// how long the frame loop stalled (what systemd's watchdog sees).
class TimingNotifier final : public ServiceNotifier {
 public:
  explicit TimingNotifier(RecordingNotifier& inner) : inner_(inner) {}
  void ready(std::string_view status) override { inner_.ready(status); }
  void watchdog() override {
    const auto now = std::chrono::steady_clock::now();
    if (last_) {
      longest_ = std::max(longest_, now - *last_);
    }
    last_ = now;
    inner_.watchdog();
  }
  void status(std::string_view text) override { inner_.status(text); }
  void reloading() override { inner_.reloading(); }
  void stopping() override { inner_.stopping(); }

  std::chrono::milliseconds longestGap() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(longest_);
  }

 private:
  RecordingNotifier& inner_;
  std::optional<std::chrono::steady_clock::time_point> last_;
  std::chrono::steady_clock::duration longest_{};
};

class StorageFault : public ::testing::Test {
 protected:
  void SetUp() override {
    test::installFaultyVfs();  // before any database is opened
    test::armStorageFault(test::StorageFault::None);
  }
  void TearDown() override { test::armStorageFault(test::StorageFault::None); }

  // The painted school, with the face-engine double: no models.
  void makeWorld() {
    painted_ = PaintedSchool::create();
    ASSERT_TRUE(painted_);
    use(*painted_, painted_->faces(), false);
  }

  // The demo's school, with the real face engine and the liveness check, as facegated runs
  // the demo. The test must have checked that the models are there.
  void makeDemoWorld() {
    face::EngineOptions options;
    options.upsampleWhenNoFace = false;
    auto engine = face::FaceEngine::load(test::modelDir(), options);
    ASSERT_TRUE(engine) << engine.error().message;
    engine_ = std::move(*engine);
    auto world = demo::DemoWorld::create(*engine_, test::dataDir() / "faces");
    ASSERT_TRUE(world) << world.error().message;
    demo_ = std::move(*world);
    use(*demo_, *engine_, true);
  }

  template <typename World>
  void use(World& world, face::FaceAnalyser& faces, bool liveness) {
    database_ = &world.database();
    publicKey_ = world.publicKey();
    templateKey_ = &world.templateKey();
    source_ = world.takeSource();
    passages_ = world.passages();
    directory_ = world.directory();
    faces_ = &faces;
    liveness_ = liveness;
    // The first passage is a volunteer who is granted: the one the fault must stop.
    ASSERT_EQ(passages_.front().expected, Outcome::Granted);
  }

  // Runs the world's scenario with the storage broken by `breakIt` from the start, and
  // repaired by `repair` `repairAfterFrames` frames after the first decision was withheld.
  // `wall` is the gate's wall clock (a manual one, standing still, by default).
  void runScenario(const std::function<void()>& breakIt, const std::function<void()>& repair,
                   std::uint64_t repairAfterFrames, WallClock* wall = nullptr) {
    enrolment::Registry registry(*database_, "gate-test");
    BadgeChecker checker(registry, publicKey_, templateKey_);
    audit::AuditLog log(*database_);
    ManualWallClock still(std::time(nullptr));
    config::Config cfg = config::defaults();
    cfg.liveness.enabled = liveness_;
    GateSettings settings = app::gateSettingsFrom(cfg);
    settings.gateId = "gate-test";
    Gate gate(settings, *faces_, checker, signaller_, log, wall != nullptr ? *wall : still,
              timing_);

    bool faulty = true;
    std::optional<std::uint64_t> firstWithheldAt;
    std::uint64_t frame = 0;
    gate.onReport = [&](const PassageReport& r) {
      seen_.push_back({r.decision.outcome, r.withheld, r.decision.reason, faulty, r.at});
      if (r.withheld && !firstWithheldAt) {
        firstWithheldAt = frame;
      }
    };
    RepairingSource source(*source_, [&](std::uint64_t n) {
      frame = n;
      if (faulty && firstWithheldAt && n == *firstWithheldAt + repairAfterFrames) {
        repair();
        faulty = false;
        faultyUntilFrame_ = n;
      }
      if (faulty && gate.storageFaulted()) {
        statesWhileFaulty_.push_back(gate.state());
        std::this_thread::sleep_for(paceWhileFaulty_);  // a camera's pace, if the test asks
      }
      std::this_thread::sleep_for(pace_);
      if (!faulty && gate.state() == State::Idle && !backAtFrame_ && !gate.storageFaulted()) {
        backAtFrame_ = n;
      }
    });
    ASSERT_TRUE(source.open());
    LoopSettings loopSettings;
    loopSettings.reconnectMin = std::chrono::milliseconds(10);
    loopSettings.stopAtEnd = true;
    FrameLoop loop(source, gate, timing_, loopSettings);
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

  // The world the scenario runs in, and what the gate needs of it.
  std::unique_ptr<PaintedSchool> painted_;
  std::unique_ptr<face::FaceEngine> engine_;
  std::unique_ptr<demo::DemoWorld> demo_;
  store::Database* database_ = nullptr;
  badge::PublicKey publicKey_{};
  const badge::TemplateKey* templateKey_ = nullptr;
  std::unique_ptr<camera::ScenarioSource> source_;
  std::vector<demo::DemoPassage> passages_;
  std::filesystem::path directory_;
  face::FaceAnalyser* faces_ = nullptr;
  bool liveness_ = false;

  signal::LoggingSignaller signaller_;
  RecordingNotifier notifier_;
  TimingNotifier timing_{notifier_};
  // Real time between frames while the fault lasts (the scenario's frames otherwise come as
  // fast as the gate takes them), so that an outage lasts seconds of wall time.
  std::chrono::milliseconds paceWhileFaulty_{0};
  // The same for every frame, for a test that needs the scenario to last.
  std::chrono::milliseconds pace_{0};
  std::vector<Seen> seen_;
  std::vector<State> statesWhileFaulty_;
  std::optional<std::uint64_t> faultyUntilFrame_;
  std::optional<std::uint64_t> backAtFrame_;
  std::vector<audit::AuditRecord> records_;
};

// On the real face engine, with the liveness check: the path as deployed.
TEST_F(StorageFault, AFailingFsyncWithholdsEveryDecisionUntilTheLogCanBeWrittenAgain) {
  FACEGATE_REQUIRE_MODELS();
  ASSERT_NO_FATAL_FAILURE(makeDemoWorld());
  const auto before = test::injectedStorageFailures();
  runScenario([] { test::armStorageFault(test::StorageFault::FsyncFails); },
              [] { test::armStorageFault(test::StorageFault::None); }, 45);
  EXPECT_GT(test::injectedStorageFailures(), before);
  expectFailedClosedAndRecovered("fsync failed");
}

TEST_F(StorageFault, AFullDiskWithholdsEveryDecisionUntilThereIsSpaceAgain) {
  ASSERT_NO_FATAL_FAILURE(makeWorld());
  const auto before = test::injectedStorageFailures();
  runScenario([] { test::armStorageFault(test::StorageFault::DiskFull); },
              [] { test::armStorageFault(test::StorageFault::None); }, 45);
  EXPECT_GT(test::injectedStorageFailures(), before);
  expectFailedClosedAndRecovered("the disk is full");
}

// Issue 11: another connection holds the database's write lock (a desk transaction left
// open, an sqlite3 shell in BEGIN IMMEDIATE). The gate fails closed as for a full disk, but
// must not wait out SQLite's busy timeout on each write and each retry: the frame loop (the
// watchdog, the out-of-service signal) stalls at most kRecordLockWait, once. And the
// storage_fault record must give the outage's real start and length: measured here on a wall
// clock that runs at real speed, against when the decision was taken and the lock released.
TEST_F(StorageFault, ALockedDatabaseFailsClosedWithoutStallingTheFrameLoop) {
  ASSERT_NO_FATAL_FAILURE(makeWorld());
  RunningWallClock wall(std::time(nullptr));
  paceWhileFaulty_ = std::chrono::milliseconds(1000 / demo::DemoWorld::kFps);  // ~3 s locked
  std::optional<store::Database> desk;  // the other connection, holding the lock
  std::int64_t releasedAt = 0;
  runScenario(
      [&] {
        auto opened = store::Database::open(database_->path());
        ASSERT_TRUE(opened) << opened.error().message;
        desk.emplace(std::move(*opened));
        ASSERT_TRUE(desk->exec("BEGIN IMMEDIATE"));
      },
      [&] {
        ASSERT_TRUE(desk->exec("ROLLBACK"));
        releasedAt = wall.unixNow();
      },
      45, &wall);
  expectFailedClosedAndRecovered("database is locked");
  std::printf("longest frame-loop stall with the database locked: %lld ms\n",
              static_cast<long long>(timing_.longestGap().count()));
  RecordProperty("longest_stall_ms", static_cast<int>(timing_.longestGap().count()));
  // Not the busy timeout (5 s) on every write and every retry, as before: the one bounded
  // wait (0.5 s) plus a frame's own work. How long exactly (0.53-0.56 s on this machine) is
  // measured, printed above, not asserted: a frame's work under a sanitizer or on a loaded
  // CI machine adds to it (1.5 s was seen under ASan).
  EXPECT_LT(timing_.longestGap(), store::kDefaultBusyTimeout / 2);

  const auto gap = std::find_if(records_.begin(), records_.end(),
                                [](const auto& r) { return r.event.action == "storage_fault"; });
  ASSERT_NE(gap, records_.end());
  std::smatch m;
  const std::string detail = gap->event.detail;
  ASSERT_TRUE(std::regex_search(detail, m, std::regex("from=(\\d+) seconds=(\\d+)"))) << detail;
  const std::int64_t from = std::stoll(m[1]);
  const std::int64_t seconds = std::stoll(m[2]);
  // Since the first decision that could not be recorded, not since the end of a wait ...
  EXPECT_EQ(from, seen_.front().at) << detail;
  // ... until the first retry after the lock was released (retries every 2 s of frames;
  // one more second for the clock's resolution).
  EXPECT_GE(seconds, 2) << detail;
  EXPECT_GE(from + seconds, releasedAt) << detail;
  EXPECT_LE(from + seconds, releasedAt + 3) << detail;
  EXPECT_EQ(gap->event.at, from + seconds);
}

// A desk's brief transactions (100 ms each, 100 ms apart, for the whole scenario) cost the
// gate a short wait, not its service: every decision is recorded and signalled.
TEST_F(StorageFault, BriefDeskTransactionsDoNotPutTheGateOutOfService) {
  ASSERT_NO_FATAL_FAILURE(makeWorld());
  // The painted faces take no time to find: 10 ms a frame makes the scenario last ~3 s, over
  // some fifteen of the desk's transactions.
  pace_ = std::chrono::milliseconds(10);
  std::atomic<bool> done{false};
  std::atomic<int> transactions{0};
  std::thread desk;
  runScenario(
      [&] {
        desk = std::thread([&, path = database_->path()] {
          auto db = store::Database::open(path);
          if (!db) {
            ADD_FAILURE() << db.error().message;
            return;
          }
          while (!done.load()) {
            if (db->exec("BEGIN IMMEDIATE")) {
              std::this_thread::sleep_for(std::chrono::milliseconds(100));
              (void)db->exec("COMMIT");
              ++transactions;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
        });
      },
      [] {}, 0);
  done = true;
  desk.join();
  EXPECT_GT(transactions.load(), 5);
  const auto& expected = passages_;
  ASSERT_EQ(seen_.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_FALSE(seen_[i].withheld) << expected[i].who;
    EXPECT_EQ(seen_[i].outcome, expected[i].expected) << expected[i].who;
  }
  EXPECT_TRUE(std::none_of(records_.begin(), records_.end(),
                           [](const auto& r) { return r.event.action == "storage_fault"; }));
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
  struct DropWorld {  // the school's files go before the tmpfs does
    std::unique_ptr<PaintedSchool>& world;
    ~DropWorld() { world.reset(); }
  } dropWorld{painted_};
  const char* oldTmp = std::getenv("TMPDIR");
  const std::string restoreTmp = oldTmp != nullptr ? oldTmp : "";
  ::setenv("TMPDIR", mountPoint.c_str(), 1);
  ASSERT_NO_FATAL_FAILURE(makeWorld());
  oldTmp != nullptr ? ::setenv("TMPDIR", restoreTmp.c_str(), 1) : ::unsetenv("TMPDIR");
  ASSERT_EQ(directory_.string().rfind(mountPoint.string(), 0), 0U)
      << "the school's database is on the tmpfs";
  // Nothing left in the WAL to overwrite in place: every new record needs new blocks.
  ASSERT_TRUE(database_->exec("PRAGMA wal_checkpoint(TRUNCATE)"));

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
