// Every edge of the passage state machine's table (passage_machine.hpp), driven by a
// manual clock.
#include "facegate/gate/passage_machine.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "log_capture.hpp"

namespace facegate::gate {
namespace {

using namespace std::chrono_literals;
using Kind = BadgeCheck::Kind;

constexpr BadgeFingerprint kBadgeA{1};
constexpr BadgeFingerprint kBadgeB{2};

class Machine : public ::testing::Test {
 protected:
  PassageMachine::Settings settings() {
    PassageMachine::Settings s;
    s.threshold = 0.58;
    s.window = 3000ms;
    s.frames = 3;
    s.debounce = 5000ms;
    s.cooldown = 1000ms;
    return s;
  }

  PassageMachine::TimePoint at(std::chrono::milliseconds ms) { return t0_ + ms; }

  // Idle -> BadgeRead -> Verifying for badge A at `ms`.
  void startVerifying(std::chrono::milliseconds ms) {
    ASSERT_TRUE(m_.qrDecoded(kBadgeA, at(ms)));
    ASSERT_FALSE(m_.badgeChecked({Kind::Volunteer, 42, ""}, at(ms + 5ms)));
    ASSERT_EQ(m_.state(), State::Verifying);
  }

  PassageMachine::TimePoint t0_ = PassageMachine::Clock::time_point{} + 1000h;
  PassageMachine m_{settings()};
};

TEST_F(Machine, StartsIdleWantingBadges) {
  EXPECT_EQ(m_.state(), State::Idle);
  EXPECT_TRUE(m_.wantsBadges());
  EXPECT_FALSE(m_.wantsFaces());
}

TEST_F(Machine, IdleQrStartsAPassage) {
  EXPECT_TRUE(m_.qrDecoded(kBadgeA, at(0ms)));
  EXPECT_EQ(m_.state(), State::BadgeRead);
  EXPECT_FALSE(m_.wantsBadges());
  EXPECT_FALSE(m_.wantsFaces());
}

TEST_F(Machine, BadgeReadRejected) {
  m_.qrDecoded(kBadgeA, at(0ms));
  const auto d = m_.badgeChecked({Kind::Rejected, 7, "revoked"}, at(20ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::RejectBadge);
  EXPECT_EQ(d->reason, "revoked");
  EXPECT_EQ(d->badgeRef, 7U);
  EXPECT_EQ(d->latency, 20ms);
  EXPECT_EQ(m_.state(), State::Decided);
}

TEST_F(Machine, BadgeReadNonVolunteerNeverWantsFaces) {
  m_.qrDecoded(kBadgeA, at(0ms));
  const auto d = m_.badgeChecked({Kind::NonVolunteer, 8, ""}, at(10ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::ManualCheck);
  EXPECT_EQ(d->framesUsed, 0);
  EXPECT_FALSE(m_.wantsFaces());
}

TEST_F(Machine, BadgeReadVolunteerStartsVerification) {
  startVerifying(0ms);
  EXPECT_TRUE(m_.wantsFaces());
  EXPECT_FALSE(m_.wantsBadges());
}

TEST_F(Machine, VerifyingCollectsAWindowThenGrantsWhenEveryFrameMatches) {
  startVerifying(0ms);
  EXPECT_FALSE(m_.face({0.40, 1, 0}, at(100ms)));
  EXPECT_FALSE(m_.face({0.52, 1, 0}, at(200ms)));
  EXPECT_EQ(m_.state(), State::Verifying);
  const auto d = m_.face({0.45, 1, 0}, at(300ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::Granted);
  EXPECT_DOUBLE_EQ(*d->distance, 0.52) << "the largest distance decides";
  EXPECT_DOUBLE_EQ(*d->medianDistance, 0.45);
  EXPECT_EQ(d->framesUsed, 3);
  EXPECT_EQ(d->trackBreaks, 0);
  EXPECT_TRUE(d->reason.empty());
  EXPECT_EQ(d->badgeRef, 42U);
  EXPECT_EQ(d->latency, 300ms);
}

TEST_F(Machine, OneFrameAboveTheThresholdIsAMismatch) {
  startVerifying(0ms);
  m_.face({0.30, 1, 0}, at(100ms));
  m_.face({0.62, 1, 0}, at(200ms));
  const auto d = m_.face({0.31, 1, 0}, at(300ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::Mismatch);
  EXPECT_DOUBLE_EQ(*d->distance, 0.62);
  EXPECT_DOUBLE_EQ(*d->medianDistance, 0.31);
  EXPECT_EQ(d->reason, "1-of-3-frames-do-not-match");
}

TEST_F(Machine, AFrameThatIsNotANumberIsNotAMatch) {
  startVerifying(0ms);
  m_.face({0.30, 1, 0}, at(100ms));
  m_.face({std::numeric_limits<double>::quiet_NaN(), 1, 0}, at(200ms));
  const auto d = m_.face({0.31, 1, 0}, at(300ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::Mismatch);
}

TEST_F(Machine, ATrackBreakStartsTheWindowAgain) {
  startVerifying(0ms);
  EXPECT_FALSE(m_.face({0.40, 1, 0}, at(100ms)));
  EXPECT_FALSE(m_.face({0.40, 1, 0}, at(200ms)));
  m_.trackBroken(at(250ms));
  EXPECT_EQ(m_.state(), State::Verifying);
  EXPECT_FALSE(m_.face({0.41, 1, 0}, at(300ms))) << "the frames before the break do not count";
  EXPECT_FALSE(m_.face({0.42, 1, 0}, at(400ms)));
  const auto d = m_.face({0.43, 1, 1}, at(500ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::Granted);
  EXPECT_EQ(d->framesUsed, 3);
  EXPECT_EQ(d->trackBreaks, 1);
  EXPECT_EQ(d->maxSimilarFaces, 1);
}

TEST_F(Machine, AFrameThatDidNotMatchIsNotForgottenAfterATrackBreak) {
  // Someone's own face first, then the owner's photo in front of the camera: the photo's
  // frames all match, but the passage had a face that was not the badge holder's.
  startVerifying(0ms);
  EXPECT_FALSE(m_.face({0.80, 1, 0}, at(100ms)));
  m_.trackBroken(at(150ms));
  EXPECT_FALSE(m_.face({0.30, 1, 0}, at(200ms)));
  EXPECT_FALSE(m_.face({0.30, 1, 0}, at(300ms)));
  const auto d = m_.face({0.30, 1, 0}, at(400ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::Mismatch);
  EXPECT_DOUBLE_EQ(*d->distance, 0.80);
  EXPECT_EQ(d->reason, "1-of-4-frames-do-not-match");
}

TEST_F(Machine, ThresholdIsInclusive) {
  auto s = settings();
  s.frames = 1;
  m_ = PassageMachine(s);
  startVerifying(0ms);
  EXPECT_EQ(m_.face({0.58, 1, 0}, at(100ms))->outcome, Outcome::Granted);
}

TEST_F(Machine, WindowEndWithAPartWindowIsATimeoutAndTheBadgeCanBeShownAgain) {
  startVerifying(0ms);
  m_.face({0.41, 1, 0}, at(500ms));
  m_.face({0.45, 1, 2}, at(900ms));
  EXPECT_FALSE(m_.tick(at(3004ms)));  // window counts from the badge check (5 ms)
  const auto d = m_.tick(at(3005ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::Timeout) << "never decided on part of a window";
  EXPECT_EQ(d->reason, "too-few-frames");
  EXPECT_FALSE(d->distance);
  EXPECT_EQ(d->framesUsed, 2);
  EXPECT_EQ(d->maxSimilarFaces, 2);
  m_.tick(at(3010ms));
  m_.tick(at(4100ms));
  EXPECT_TRUE(m_.qrDecoded(kBadgeA, at(4200ms)));
}

TEST_F(Machine, WindowEndAfterAFrameThatDidNotMatchIsAMismatch) {
  startVerifying(0ms);
  m_.face({0.41, 1, 0}, at(500ms));
  m_.face({0.90, 1, 0}, at(600ms));
  m_.trackBroken(at(700ms));
  const auto d = m_.tick(at(3005ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::Mismatch);
  EXPECT_DOUBLE_EQ(*d->distance, 0.90);
  EXPECT_EQ(d->trackBreaks, 1);
}

TEST_F(Machine, WindowEndWithoutAFaceIsATimeout) {
  startVerifying(0ms);
  EXPECT_FALSE(m_.tick(at(1000ms)));
  const auto d = m_.tick(at(3005ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::Timeout);
  EXPECT_FALSE(d->distance);
  EXPECT_EQ(d->badgeRef, 42U);
}

TEST_F(Machine, VerifyingIgnoresOtherBadges) {
  startVerifying(0ms);
  EXPECT_FALSE(m_.qrDecoded(kBadgeB, at(100ms)));
  EXPECT_EQ(m_.state(), State::Verifying);
}

TEST_F(Machine, DecidedTicksIntoCooldownThenIdle) {
  m_.qrDecoded(kBadgeA, at(0ms));
  m_.badgeChecked({Kind::NonVolunteer, 8, ""}, at(10ms));
  EXPECT_EQ(m_.state(), State::Decided);
  m_.tick(at(40ms));
  EXPECT_EQ(m_.state(), State::Cooldown);
  EXPECT_FALSE(m_.qrDecoded(kBadgeB, at(500ms))) << "no new passage during cooldown";
  m_.tick(at(1009ms));
  EXPECT_EQ(m_.state(), State::Cooldown);
  m_.tick(at(1010ms));
  EXPECT_EQ(m_.state(), State::Idle);
  EXPECT_TRUE(m_.qrDecoded(kBadgeB, at(1020ms)));
}

TEST_F(Machine, SameBadgeWithinDebounceIsOnePassage) {
  m_.qrDecoded(kBadgeA, at(0ms));
  m_.badgeChecked({Kind::NonVolunteer, 8, ""}, at(10ms));
  m_.tick(at(20ms));
  m_.tick(at(1100ms));
  ASSERT_EQ(m_.state(), State::Idle);
  // Still held up to the camera: seen every few seconds, never a second passage...
  EXPECT_FALSE(m_.qrDecoded(kBadgeA, at(4000ms)));
  EXPECT_FALSE(m_.qrDecoded(kBadgeA, at(8500ms)));
  EXPECT_FALSE(m_.qrDecoded(kBadgeA, at(13000ms)));
  // ...until it has been out of sight for the whole debounce window.
  EXPECT_TRUE(m_.qrDecoded(kBadgeA, at(18001ms)));
}

TEST_F(Machine, TwoBadgesInViewAreOnePassageEach) {
  // A badge pinned near the camera and a pupil's badge: each is one passage, not an
  // alternating stream of them.
  m_.qrDecoded(kBadgeA, at(0ms));
  m_.badgeChecked({Kind::Rejected, std::nullopt, "bad-signature"}, at(10ms));
  m_.tick(at(20ms));
  m_.tick(at(1100ms));
  ASSERT_TRUE(m_.qrDecoded(kBadgeB, at(1200ms)));
  m_.badgeChecked({Kind::Rejected, std::nullopt, "bad-signature"}, at(1210ms));
  m_.tick(at(1220ms));
  m_.tick(at(2300ms));
  int passages = 0;
  for (auto t = 2400ms; t < 20000ms; t += 100ms) {
    passages += m_.qrDecoded(t.count() % 200 == 0 ? kBadgeA : kBadgeB, at(t)) ? 1 : 0;
    m_.tick(at(t));
  }
  EXPECT_EQ(passages, 0);
}

TEST_F(Machine, TimeoutLetsThePupilTryAgainAtOnce) {
  startVerifying(0ms);
  ASSERT_EQ(m_.tick(at(3005ms))->outcome, Outcome::Timeout);
  EXPECT_FALSE(m_.qrDecoded(kBadgeA, at(3100ms))) << "cooldown";
  m_.tick(at(3200ms));
  m_.tick(at(4100ms));
  EXPECT_TRUE(m_.qrDecoded(kBadgeA, at(4200ms))) << "no verdict was given: a new passage";
}

TEST_F(Machine, MismatchIsNotRetriedWhileTheBadgeStaysInView) {
  auto s = settings();
  s.frames = 1;
  m_ = PassageMachine(s);
  startVerifying(0ms);
  ASSERT_EQ(m_.face({0.9, 1, 0}, at(100ms))->outcome, Outcome::Mismatch);
  for (auto t = 200ms; t < 10000ms; t += 500ms) {
    m_.tick(at(t));
    EXPECT_FALSE(m_.qrDecoded(kBadgeA, at(t))) << t.count();
  }
}

TEST_F(Machine, AfterAnOutageEveryBadgeIsNew) {
  startVerifying(0ms);
  m_.cameraLost(at(500ms), "stalled");
  m_.cameraRestored(at(900ms));
  EXPECT_TRUE(m_.qrDecoded(kBadgeA, at(1000ms)));
}

TEST_F(Machine, OtherBadgeIsNotDebounced) {
  m_.qrDecoded(kBadgeA, at(0ms));
  m_.badgeChecked({Kind::NonVolunteer, 8, ""}, at(10ms));
  m_.tick(at(20ms));
  m_.tick(at(1100ms));
  EXPECT_TRUE(m_.qrDecoded(kBadgeB, at(1200ms)));
}

TEST_F(Machine, CameraLostMidPassageEndsItOutOfService) {
  startVerifying(0ms);
  m_.face({0.4, 1, 0}, at(100ms));
  const auto d = m_.cameraLost(at(2000ms), "no frame for 2000 ms");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::OutOfService);
  EXPECT_EQ(d->badgeRef, 42U);
  EXPECT_EQ(d->reason, "no frame for 2000 ms");
  EXPECT_EQ(m_.state(), State::OutOfService);
  EXPECT_FALSE(m_.wantsBadges());
  EXPECT_FALSE(m_.wantsFaces());
}

TEST_F(Machine, CameraLostWhenIdleAndTwice) {
  const auto d = m_.cameraLost(at(0ms), "stalled");
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->badgeRef);
  EXPECT_FALSE(m_.cameraLost(at(100ms), "still stalled")) << "one record per outage";
  EXPECT_FALSE(m_.qrDecoded(kBadgeA, at(200ms)));
  EXPECT_FALSE(m_.tick(at(10000ms)));
  EXPECT_EQ(m_.state(), State::OutOfService);
}

TEST_F(Machine, CameraRestoredReturnsToIdle) {
  m_.cameraLost(at(0ms), "stalled");
  m_.cameraRestored(at(5000ms));
  EXPECT_EQ(m_.state(), State::Idle);
  EXPECT_TRUE(m_.qrDecoded(kBadgeA, at(5100ms)));
  m_.cameraRestored(at(5200ms));  // not out of service: no effect
  EXPECT_EQ(m_.state(), State::BadgeRead);
}

TEST_F(Machine, BackInServiceOnlyWhenEveryFaultIsRepaired) {
  using Fault = PassageMachine::Fault;
  const auto d = m_.fault(Fault::Storage, at(0ms), "audit log cannot be written");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::OutOfService);
  EXPECT_FALSE(m_.cameraLost(at(100ms), "stalled")) << "already out of service";
  EXPECT_TRUE(m_.hasFault(Fault::Camera));
  EXPECT_TRUE(m_.hasFault(Fault::Storage));
  m_.cameraRestored(at(200ms));
  EXPECT_EQ(m_.state(), State::OutOfService) << "the audit log still cannot be written";
  EXPECT_FALSE(m_.qrDecoded(kBadgeA, at(300ms)));
  m_.repaired(Fault::Storage, at(400ms));
  EXPECT_EQ(m_.state(), State::Idle);
  EXPECT_FALSE(m_.hasFault(Fault::Storage));
  EXPECT_TRUE(m_.qrDecoded(kBadgeA, at(500ms)));
}

TEST_F(Machine, AStorageFaultAfterADecisionLeavesServiceAtOnce) {
  m_.qrDecoded(kBadgeA, at(0ms));
  ASSERT_TRUE(m_.badgeChecked({Kind::NonVolunteer, 8, ""}, at(10ms)));
  ASSERT_EQ(m_.state(), State::Decided);
  EXPECT_TRUE(m_.fault(PassageMachine::Fault::Storage, at(20ms), "audit log cannot be written"));
  EXPECT_EQ(m_.state(), State::OutOfService);
  EXPECT_FALSE(m_.tick(at(5000ms)));
  EXPECT_EQ(m_.state(), State::OutOfService) << "no cooldown back to idle while faulty";
}

TEST_F(Machine, StaleEventsAreIgnored) {
  EXPECT_FALSE(m_.badgeChecked({Kind::Volunteer, 1, ""}, at(0ms)));
  EXPECT_FALSE(m_.face({0.1, 1, 0}, at(0ms)));
  m_.trackBroken(at(0ms));
  EXPECT_FALSE(m_.tick(at(10ms)));
  EXPECT_EQ(m_.state(), State::Idle);
}

TEST_F(Machine, ReconfigureWaitsForTheEndOfThePassage) {
  startVerifying(0ms);
  auto stricter = settings();
  stricter.threshold = 0.3;
  stricter.frames = 1;
  m_.reconfigure(stricter);
  m_.face({0.45, 1, 0}, at(100ms));
  m_.face({0.45, 1, 0}, at(200ms));
  const auto d = m_.face({0.45, 1, 0}, at(300ms));
  ASSERT_TRUE(d) << "still 3 frames for the passage under way";
  EXPECT_EQ(d->outcome, Outcome::Granted) << "still the old threshold";
  m_.tick(at(310ms));
  m_.tick(at(1400ms));
  ASSERT_EQ(m_.state(), State::Idle);
  EXPECT_DOUBLE_EQ(m_.settings().threshold, 0.3);
  ASSERT_TRUE(m_.qrDecoded(kBadgeB, at(1500ms)));
  m_.badgeChecked({Kind::Volunteer, 43, ""}, at(1510ms));
  const auto next = m_.face({0.45, 1, 0}, at(1600ms));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->outcome, Outcome::Mismatch);
}

TEST(OutcomeNames, AreStable) {
  EXPECT_EQ(toString(Outcome::ManualCheck), "MANUAL_CHECK");
  EXPECT_EQ(patternName(Outcome::OutOfService), "out_of_service");
  EXPECT_EQ(toString(State::BadgeRead), "badge-read");
}

}  // namespace
}  // namespace facegate::gate

// ---- With the liveness check on ----

namespace facegate::gate {
namespace {

using namespace std::chrono_literals;

class LivenessMachine : public ::testing::Test {
 protected:
  static PassageMachine::Settings settings() {
    PassageMachine::Settings s;
    s.liveness = true;
    return s;
  }
  PassageMachine::TimePoint at(std::chrono::milliseconds ms) const { return t0_ + ms; }
  void startVerifying() {
    ASSERT_TRUE(m_.qrDecoded(BadgeFingerprint{1}, at(0ms)));
    ASSERT_FALSE(m_.badgeChecked({BadgeCheck::Kind::Volunteer, 42, ""}, at(5ms)));
  }
  const PassageMachine::TimePoint t0_ = PassageMachine::Clock::time_point{} + 1000h;
  PassageMachine m_{settings()};
};

TEST_F(LivenessMachine, AMatchWaitsForTheLivenessVerdict) {
  startVerifying();
  EXPECT_TRUE(m_.wantsLiveness());
  EXPECT_FALSE(m_.face({0.3, 1, 0}, at(50ms)));
  EXPECT_FALSE(m_.face({0.3, 1, 0}, at(100ms)));
  EXPECT_FALSE(m_.face({0.3, 1, 0}, at(150ms))) << "a complete window, no verdict yet";
  EXPECT_TRUE(m_.wantsFaces());
  EXPECT_FALSE(m_.face({0.9, 1, 0}, at(170ms))) << "frames past the window are not taken";
  const auto d = m_.livenessJudged({false, "", "frames=8 border=0.00"}, at(300ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::Granted);
  EXPECT_EQ(d->framesUsed, 3);
  EXPECT_EQ(d->liveness, "frames=8 border=0.00");
}

TEST_F(LivenessMachine, ALiveVerdictBeforeTheSamplesWaitsForThem) {
  startVerifying();
  EXPECT_FALSE(m_.livenessJudged({false, "", "x"}, at(100ms)));
  EXPECT_FALSE(m_.wantsLiveness());
  EXPECT_FALSE(m_.face({0.8, 1, 0}, at(150ms)));
  EXPECT_FALSE(m_.face({0.8, 1, 0}, at(200ms)));
  const auto d = m_.face({0.8, 1, 0}, at(250ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::Mismatch);
}

TEST_F(LivenessMachine, ASpoofVerdictDecidesAtOnceWhateverTheDistance) {
  startVerifying();
  EXPECT_FALSE(m_.face({0.2, 1, 0}, at(50ms)));
  const auto d = m_.livenessJudged({true, "device-border", "border=1.00"}, at(100ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::Spoof);
  EXPECT_EQ(d->reason, "device-border");
  EXPECT_FALSE(d->distance) << "a spoof is not a match verdict";
  EXPECT_FALSE(m_.livenessJudged({false, "", ""}, at(120ms))) << "one verdict per passage";
}

TEST_F(LivenessMachine, NoVerdictByTheEndOfTheWindowIsNotGranted) {
  startVerifying();
  EXPECT_FALSE(m_.face({0.2, 1, 0}, at(50ms)));
  EXPECT_FALSE(m_.face({0.2, 1, 0}, at(100ms)));
  EXPECT_FALSE(m_.face({0.2, 1, 0}, at(150ms)));
  const auto d = m_.tick(at(3100ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::Timeout);
  EXPECT_EQ(d->reason, "too-few-frames-for-liveness");
}

TEST_F(LivenessMachine, ATrackBreakDiscardsTheVerdictOnTheFaceBefore) {
  startVerifying();
  EXPECT_FALSE(m_.livenessJudged({false, "", "judged on the first face"}, at(100ms)));
  EXPECT_FALSE(m_.wantsLiveness());
  m_.trackBroken(at(120ms));
  EXPECT_TRUE(m_.wantsLiveness()) << "the new face must be judged";
  EXPECT_FALSE(m_.face({0.3, 1, 0}, at(150ms)));
  EXPECT_FALSE(m_.face({0.3, 1, 0}, at(200ms)));
  EXPECT_FALSE(m_.face({0.3, 1, 0}, at(250ms))) << "no verdict on this face yet";
  const auto d = m_.livenessJudged({false, "", "judged on the second face"}, at(300ms));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->outcome, Outcome::Granted);
  EXPECT_EQ(d->liveness, "judged on the second face");
}

TEST_F(LivenessMachine, TheVerdictOfOnePassageDoesNotCarryOver) {
  startVerifying();
  ASSERT_TRUE(m_.livenessJudged({true, "planar-motion", ""}, at(100ms)));
  m_.tick(at(200ms));
  m_.tick(at(1300ms));  // cooldown over
  ASSERT_EQ(m_.state(), State::Idle);
  ASSERT_TRUE(m_.qrDecoded(BadgeFingerprint{2}, at(1400ms)));
  ASSERT_FALSE(m_.badgeChecked({BadgeCheck::Kind::Volunteer, 43, ""}, at(1405ms)));
  EXPECT_TRUE(m_.wantsLiveness());
}

// --- Ignored events: said in the log, never silently ---------------------------------------

class IgnoredEvents : public Machine {
 protected:
  // The one line the last events logged: at debug, naming the event and the state, and
  // holding none of `secrets` (what the event carried).
  void expectLogged(const std::string& text, const std::vector<std::string>& secrets = {}) {
    const auto lines = log_.lines();
    ASSERT_EQ(lines.size(), 1U) << "expected one line with '" << text << "', got "
                                << ::testing::PrintToString(lines);
    EXPECT_EQ(lines[0].rfind("debug ", 0), 0U) << lines[0];
    EXPECT_NE(lines[0].find(text), std::string::npos) << lines[0];
    for (const auto& secret : secrets) {
      EXPECT_EQ(lines[0].find(secret), std::string::npos) << lines[0];
    }
    log_.clear();
  }

  test::LogCapture log_{"gate"};
};

TEST_F(IgnoredEvents, OutsideTheirStatesEachIsLoggedWithItsStateAndNothingItCarried) {
  EXPECT_FALSE(m_.badgeChecked({Kind::Volunteer, 4242, ""}, at(0ms)));
  expectLogged("event badge-checked ignored in state idle", {"4242"});
  EXPECT_FALSE(m_.face({0.123456, 1, 0}, at(0ms)));
  expectLogged("event face ignored in state idle", {"0.123", "0,12"});
  m_.trackBroken(at(0ms));
  expectLogged("event track-broken ignored in state idle");
  EXPECT_FALSE(m_.livenessJudged({true, "device-border", "border=0.987"}, at(0ms)));
  expectLogged("event liveness-judged ignored in state idle", {"0.987", "device-border"});
  m_.repaired(PassageMachine::Fault::Camera, at(0ms));
  expectLogged("event repaired(camera) ignored in state idle");
  EXPECT_EQ(m_.state(), State::Idle) << "ignored: nothing changed";

  startVerifying(10ms);
  log_.clear();
  EXPECT_FALSE(m_.qrDecoded(kBadgeB, at(50ms)));
  expectLogged("event qr-decoded ignored in state verifying: a passage is under way");
  EXPECT_FALSE(m_.badgeChecked({Kind::Rejected, 7, "revoked"}, at(60ms)));
  expectLogged("event badge-checked ignored in state verifying");
  EXPECT_FALSE(m_.livenessJudged({false, "", ""}, at(70ms)));
  expectLogged("event liveness-judged ignored in state verifying: the liveness check is off");
  EXPECT_EQ(m_.state(), State::Verifying);

  ASSERT_TRUE(m_.cameraLost(at(100ms), "camera unplugged"));
  log_.clear();
  EXPECT_FALSE(m_.cameraLost(at(200ms), "still unplugged"));
  expectLogged("event fault(camera) ignored in state out-of-service", {"unplugged"});
  EXPECT_FALSE(m_.qrDecoded(kBadgeA, at(300ms)));
  expectLogged("event qr-decoded ignored in state out-of-service");
  m_.repaired(PassageMachine::Fault::Storage, at(400ms));
  expectLogged("event repaired(storage) ignored in state out-of-service");
  EXPECT_EQ(m_.state(), State::OutOfService);
}

TEST_F(IgnoredEvents, ABadgeStillInViewIsLoggedInTheCooldownAndTheDebounce) {
  ASSERT_TRUE(m_.qrDecoded(kBadgeA, at(0ms)));
  ASSERT_TRUE(m_.badgeChecked({Kind::NonVolunteer, 8, ""}, at(10ms)));
  m_.tick(at(40ms));
  ASSERT_EQ(m_.state(), State::Cooldown);
  EXPECT_FALSE(m_.qrDecoded(kBadgeA, at(500ms)));
  expectLogged("event qr-decoded ignored in state cooldown: a passage has just ended");
  m_.tick(at(1100ms));
  ASSERT_EQ(m_.state(), State::Idle);
  EXPECT_FALSE(m_.qrDecoded(kBadgeA, at(1200ms)));
  expectLogged("event qr-decoded ignored in state idle: the same badge was seen within");
}

TEST_F(IgnoredEvents, AFullWindowWaitingForLivenessLogsTheFacesItDoesNotTake) {
  auto s = settings();
  s.liveness = true;
  m_.reconfigure(s);
  startVerifying(0ms);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(m_.face({0.3, 1, 0}, at(std::chrono::milliseconds(100 + 30 * i))));
  }
  EXPECT_TRUE(log_.lines().empty()) << ::testing::PrintToString(log_.lines());
  EXPECT_FALSE(m_.face({0.3, 1, 0}, at(200ms)));
  expectLogged("event face ignored in state verifying: the window is complete");
  EXPECT_TRUE(m_.livenessJudged({false, "", "border=0.1"}, at(210ms)));
  EXPECT_FALSE(m_.livenessJudged({false, "", "border=0.1"}, at(220ms)));
  expectLogged("event liveness-judged ignored in state");
}

// The events a state takes say nothing: the log holds ignored events only.
TEST_F(IgnoredEvents, APassageTakenEdgeByEdgeLogsNothing) {
  startVerifying(0ms);
  EXPECT_FALSE(m_.face({0.3, 1, 0}, at(100ms)));
  m_.trackBroken(at(120ms));
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(m_.face({0.3, 1, 0}, at(std::chrono::milliseconds(150 + 30 * i))));
  }
  ASSERT_TRUE(m_.face({0.3, 1, 0}, at(240ms)));
  m_.tick(at(250ms));
  m_.tick(at(1300ms));
  ASSERT_EQ(m_.state(), State::Idle);
  ASSERT_TRUE(m_.cameraLost(at(1400ms), "camera unplugged"));
  m_.cameraRestored(at(1500ms));
  EXPECT_EQ(m_.state(), State::Idle);
  EXPECT_TRUE(log_.lines().empty()) << ::testing::PrintToString(log_.lines());
}

}  // namespace
}  // namespace facegate::gate
