#include "facegate/gate/gate.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <sodium.h>
#include <opencv2/imgproc.hpp>

#include "facegate/core/logging.hpp"
#include "facegate/core/secure_memory.hpp"
#include "facegate/core/stopwatch.hpp"

namespace facegate::gate {
namespace {

// A face is "of similar size" to the candidate (a second person close behind: tailgating
// hint) when its area is at least this share of the candidate's.
constexpr double kSimilarFaceAreaRatio = 0.6;

BadgeFingerprint fingerprint(std::string_view text) {
  ensureSodium();
  BadgeFingerprint out{};
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(text.data()),
                     text.size(), nullptr, 0);
  return out;
}

std::string refText(const std::optional<std::uint64_t>& badgeRef) {
  return badgeRef ? fmt::format("{:016x}", *badgeRef) : std::string("-");
}

}  // namespace

Gate::Gate(const GateSettings& settings, face::FaceAnalyser& engine, BadgeChecker& badges,
           signal::Signaller& signaller, audit::AuditLog& audit, WallClock& wall,
           ServiceNotifier& notifier)
    : settings_(settings),
      engine_(engine),
      badges_(badges),
      signaller_(signaller),
      audit_(audit),
      wall_(wall),
      notifier_(notifier),
      machine_(settings.passage),
      liveness_(settings.liveness) {}

bool Gate::inPassage() const {
  return machine_.state() == State::BadgeRead || machine_.state() == State::Verifying;
}

void Gate::reconfigure(const GateSettings& settings) {
  machine_.reconfigure(settings.passage);
  if (inPassage()) {
    pendingSettings_ = settings;
    hasPending_ = true;
  } else {
    settings_ = settings;
    liveness_.reconfigure(settings.liveness);
  }
}

void Gate::pollAcknowledge() {
  if (signaller_.takeAcknowledge()) {
    signaller_.silence();
    logger("gate")->info("supervisor acknowledged the alarm");
    audit::AuditEvent ack{wall_.unixNow(), settings_.gateId, "acknowledge", std::nullopt,
                          std::nullopt,    std::nullopt,     std::nullopt,  ""};
    if (!record(ack)) {
      showStorageFault();
    }
  }
}

bool Gate::record(const audit::AuditEvent& event) {
  auto written = audit_.append(event, storageFault_ ? kRetryLockWait : kRecordLockWait);
  if (written) {
    return true;
  }
  if (!storageFault_) {
    // The outage began when this record was to be written (its own time), not when the
    // write gave up.
    storageFault_ = StorageFault{event.at, written.error().message, {}, lastSeen_};
    logger("gate")->error(
        "audit log cannot be written: {}; out of service, no passage is granted until it can "
        "(retrying every {} s)",
        written.error().message, kStorageRetryInterval.count() / 1000);
    (void)machine_.fault(PassageMachine::Fault::Storage, lastSeen_, "audit log cannot be written");
  } else {
    logger("gate")->debug("audit log still cannot be written: {}", written.error().message);
  }
  return false;
}

void Gate::showStorageFault() {
  const auto played =
      signaller_.playRepeating(patternFor(Outcome::OutOfService), signal::Light::Red);
  if (!played) {
    logger("gate")->error("signal failed: {}", played.error().message);
  }
  lastStatus_ = "out of service: the audit log cannot be written";
  notifier_.status(lastStatus_);
}

void Gate::retryStorage(PassageMachine::TimePoint now) {
  if (now - storageFault_->lastTry < kStorageRetryInterval) {
    return;
  }
  storageFault_->lastTry = now;
  const std::int64_t at = wall_.unixNow();
  std::string withheld;
  for (const Outcome o : storageFault_->withheld) {
    withheld += fmt::format("{}{}", withheld.empty() ? "" : ",", toString(o));
  }
  // The gap goes into the chain itself, so that an auditor sees it where it happened.
  audit::AuditEvent gap{at,
                        settings_.gateId,
                        "storage_fault",
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        fmt::format("from={} seconds={} withheld={} error={}", storageFault_->since,
                                    at - storageFault_->since, withheld.empty() ? "-" : withheld,
                                    storageFault_->error)};
  if (auto r = audit_.append(gap, kRetryLockWait); !r) {
    logger("gate")->debug("audit log still cannot be written: {}", r.error().message);
    return;
  }
  logger("gate")->info("audit log writable again after {} s ({} decision(s) withheld meanwhile)",
                       at - storageFault_->since, storageFault_->withheld.size());
  storageFault_.reset();
  machine_.repaired(PassageMachine::Fault::Storage, now);
  if (machine_.state() == State::Idle) {
    backInService();
  }
}

void Gate::backInService() {
  signaller_.silence();
  logger("gate")->info("in service");
  audit::AuditEvent back{wall_.unixNow(), settings_.gateId, "in_service", std::nullopt,
                         std::nullopt,    std::nullopt,     std::nullopt, ""};
  if (!record(back)) {
    showStorageFault();
    return;
  }
  lastStatus_ = "in service, waiting for a badge";
  notifier_.status(lastStatus_);
}

std::optional<Decision> Gate::onFrame(const camera::Frame& frame) {
  std::optional<Decision> decided;
  lastSeen_ = std::max(lastSeen_, frame.capturedAt);
  pollAcknowledge();
  if (storageFault_) {
    retryStorage(frame.capturedAt);
  }
  const State state = machine_.state();
  if (state == State::Idle || state == State::Cooldown) {
    scanForBadge(frame, decided);
    // The frame that shows the badge often shows the pupil's face too: it is the window's
    // first frame, one frame interval (33 ms at 30 fps) less to wait.
    if (!decided && machine_.wantsFaces()) {
      verifyFace(frame, decided);
    }
  } else if (machine_.wantsFaces()) {
    verifyFace(frame, decided);
  }
  if (!decided) {
    decided = machine_.tick(frame.capturedAt);
  } else {
    (void)machine_.tick(frame.capturedAt);  // Decided -> Cooldown
  }
  if (decided) {
    finish(*decided);
  }
  if (hasPending_ && !inPassage()) {
    settings_ = pendingSettings_;
    liveness_.reconfigure(settings_.liveness);
    hasPending_ = false;
  }
  return decided;
}

void Gate::scanForBadge(const camera::Frame& frame, std::optional<Decision>& decided) {
  cv::Mat grey;
  cv::cvtColor(frame.bgr, grey, cv::COLOR_BGR2GRAY);
  auto texts = scanner_.scan(grey);
  for (auto& text : texts) {
    if (machine_.qrDecoded(fingerprint(text), frame.capturedAt)) {
      liveness_.reset();
      track_.reset();
      CheckedBadge checked = badges_.check(text, wall_.unixNow());
      template_ = std::move(checked.templ);
      decided = machine_.badgeChecked(checked.check, frame.capturedAt);
      break;  // one passage at a time; other codes in the frame are ignored
    }
  }
  // Payloads hold badge secrets. (zbar's own copy of the text is freed by zbar unwiped;
  // core dumps and ptrace are disabled for the process.)
  for (auto& text : texts) {
    secureWipe(text.data(), text.size());
  }
}

void Gate::verifyFace(const camera::Frame& frame, std::optional<Decision>& decided) {
  if (!template_) {
    return;
  }
  ++faceEngineCalls_;
  face::StageTimings ms;
  auto detection = engine_.detect(frame.bgr, ms);
  if (!detection) {
    return;
  }
  std::vector<cv::Rect> usable;
  for (const auto& f : detection->faces) {
    if (std::min(f.rect.width, f.rect.height) >= settings_.minFacePx) {
      usable.push_back(f.rect);
    }
  }
  // Every frame of the window shows the same face: followed from frame to frame, and
  // compared with the template in every frame (below).
  const face::FaceTrack::Update followed =
      track_.update(usable, frame.capturedAt, frame.bgr.size());
  if (followed.step == face::FaceTrack::Step::Lost ||
      followed.step == face::FaceTrack::Step::Restarted) {
    logger("gate")->debug("verifying: the followed face was {}; the window starts again",
                          followed.why);
    machine_.trackBroken(frame.capturedAt);
    liveness_.reset();
  }
  if (!followed.index) {
    return;  // no usable face in this frame
  }
  const cv::Rect candidate = usable[*followed.index];
  int similar = 0;
  for (std::size_t i = 0; i < usable.size(); ++i) {
    if (i != *followed.index && usable[i].area() >= kSimilarFaceAreaRatio * candidate.area()) {
      ++similar;
    }
  }
  auto embedding = engine_.describe(frame.bgr, face::FaceBox{candidate, 0.0}, ms);
  if (!embedding) {
    // Not compared, so not part of the window either: the liveness check must judge the
    // frames that were compared, no others.
    logger("gate")->debug("verifying: the face could not be described: {}",
                          embedding.error().message);
    return;
  }
  const double distance = face::distance(*embedding, *template_);
  decided = machine_.face(FaceSample{distance, static_cast<int>(detection->faces.size()), similar},
                          frame.capturedAt);
  if (decided || !machine_.wantsLiveness()) {
    return;
  }
  const Stopwatch watch;
  cv::Mat grey;
  cv::cvtColor(frame.bgr, grey, cv::COLOR_BGR2GRAY);
  const auto judged = liveness_.add(grey, candidate);
  grey.setTo(0);
  livenessMs_ += watch.elapsedMs();
  ++livenessFrames_;
  if (judged) {
    const bool spoof = judged->verdict == liveness::Verdict::Spoof;
    decided = machine_.livenessJudged(
        LivenessVerdict{spoof, judged->cue, liveness::describe(judged->scores)}, frame.capturedAt);
  }
}

std::optional<Decision> Gate::onCameraLost(PassageMachine::TimePoint now, const std::string& what) {
  lastSeen_ = std::max(lastSeen_, now);
  auto decided = machine_.cameraLost(now, what);
  if (decided) {
    finish(*decided);
  }
  return decided;
}

void Gate::onCameraRestored(PassageMachine::TimePoint now) {
  if (machine_.state() != State::OutOfService) {
    return;
  }
  lastSeen_ = std::max(lastSeen_, now);
  machine_.cameraRestored(now);
  if (machine_.state() != State::Idle) {
    logger("gate")->info("camera back; still out of service: the audit log cannot be written");
    return;
  }
  logger("gate")->info("camera back");
  backInService();
}

signal::Pattern Gate::patternFor(Outcome outcome) const {
  const std::string name(patternName(outcome));
  const auto found = settings_.patterns.find(name);
  return signal::Pattern{name,
                         found == settings_.patterns.end() ? std::vector<int>{} : found->second};
}

void Gate::finish(const Decision& d) {
  template_.reset();  // wiped by its SecureBox
  liveness_.reset();  // its frames are zeroed
  track_.reset();
  const std::int64_t now = wall_.unixNow();

  // On record first, then signalled: a decision that cannot be recorded is withheld.
  audit::AuditEvent event;
  event.at = now;
  event.actor = settings_.gateId;
  event.action = "passage";
  event.badgeRef = d.badgeRef;
  event.outcome = std::string(toString(d.outcome));
  event.distance = d.distance;
  event.detail = fmt::format(
      "frames={}{}{} latency_ms={} similar_faces={}{}{}", d.framesUsed,
      d.medianDistance ? fmt::format(" median={:.3f}", *d.medianDistance) : std::string(),
      d.trackBreaks > 0 ? fmt::format(" track_breaks={}", d.trackBreaks) : std::string(),
      d.latency.count(), d.maxSimilarFaces, d.reason.empty() ? "" : " reason=" + d.reason,
      d.liveness.empty() ? "" : " liveness: " + d.liveness);
  Decision shown = d;
  std::optional<Outcome> withheld;
  if (!record(event)) {
    storageFault_->withheld.push_back(d.outcome);
    if (d.outcome != Outcome::OutOfService) {
      withheld = d.outcome;
      shown.outcome = Outcome::OutOfService;
      shown.reason = "audit log cannot be written";
    }
  }

  const signal::Light light = shown.outcome == Outcome::Granted       ? signal::Light::Green
                              : shown.outcome == Outcome::ManualCheck ? signal::Light::None
                                                                      : signal::Light::Red;
  const auto pattern = patternFor(shown.outcome);
  auto played = shown.outcome == Outcome::OutOfService ? signaller_.playRepeating(pattern, light)
                                                       : signaller_.play(pattern, light);
  if (!played) {
    logger("gate")->error("signal failed: {}", played.error().message);
  }

  logger("gate")->info(
      "passage badge_ref={} outcome={}{} distance={} frames={} latency={}ms{}{}{}",
      refText(d.badgeRef), toString(shown.outcome),
      withheld ? fmt::format(" withheld={} (not recorded, not signalled)", toString(*withheld))
               : std::string(),
      d.distance ? fmt::format("{:.3f}", *d.distance) : std::string("-"), d.framesUsed,
      d.latency.count(),
      d.maxSimilarFaces > 0 ? fmt::format(" similar_faces={} (tailgating?)", d.maxSimilarFaces)
                            : std::string(),
      shown.reason.empty() ? "" : " reason=" + shown.reason,
      d.liveness.empty() ? "" : " liveness: " + d.liveness);
  lastStatus_ =
      fmt::format("last passage: {}{}", toString(shown.outcome),
                  shown.outcome == Outcome::OutOfService ? " (" + shown.reason + ")" : "");
  notifier_.status(lastStatus_);
  if (onReport) {
    onReport(PassageReport{shown, now, withheld});
  }
}

}  // namespace facegate::gate
