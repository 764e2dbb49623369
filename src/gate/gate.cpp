#include "facegate/gate/gate.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <sodium.h>
#include <opencv2/imgproc.hpp>

#include "facegate/core/logging.hpp"
#include "facegate/core/secure_memory.hpp"

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

// The candidate is the largest face, weighted towards the centre of the frame: the pupil
// at the gate stands in front of the camera, someone passing by is off to the side.
std::size_t pickCandidate(const std::vector<face::FaceBox>& faces, const cv::Size& frame) {
  std::size_t best = 0;
  double bestScore = -1.0;
  const cv::Point2d centre(frame.width / 2.0, frame.height / 2.0);
  const double halfDiagonal = std::hypot(frame.width / 2.0, frame.height / 2.0);
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const cv::Rect& r = faces[i].rect;
    const cv::Point2d c(r.x + r.width / 2.0, r.y + r.height / 2.0);
    const double offCentre = std::hypot(c.x - centre.x, c.y - centre.y) / halfDiagonal;
    const double score = static_cast<double>(r.area()) * (1.0 - 0.5 * offCentre);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}

std::string serialText(const std::optional<std::uint64_t>& serial) {
  return serial ? fmt::format("{:016x}", *serial) : std::string("-");
}

}  // namespace

Gate::Gate(const GateSettings& settings, face::FaceEngine& engine, BadgeChecker& badges,
           signal::Signaller& signaller, audit::AuditLog& audit, WallClock& wall,
           ServiceNotifier& notifier)
    : settings_(settings),
      engine_(engine),
      badges_(badges),
      signaller_(signaller),
      audit_(audit),
      wall_(wall),
      notifier_(notifier),
      machine_(settings.passage) {}

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
  }
}

void Gate::pollAcknowledge() {
  if (signaller_.takeAcknowledge()) {
    signaller_.silence();
    logger("gate")->info("supervisor acknowledged the alarm");
    audit::AuditEvent ack{wall_.unixNow(), settings_.gateId, "acknowledge", std::nullopt,
                          std::nullopt,    std::nullopt,     std::nullopt,  ""};
    if (auto r = audit_.append(ack); !r) {
      logger("gate")->error("audit record not written: {}", r.error().message);
    }
  }
}

std::optional<Decision> Gate::onFrame(const camera::Frame& frame) {
  std::optional<Decision> decided;
  pollAcknowledge();
  const State state = machine_.state();
  if (state == State::Idle || state == State::Cooldown) {
    scanForBadge(frame, decided);
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
  ++faceEngineCalls_;
  face::StageTimings ms;
  auto detection = engine_.detect(frame.bgr, ms);
  if (!detection || detection->faces.empty() || !template_) {
    return;
  }
  std::vector<face::FaceBox> usable;
  for (const auto& f : detection->faces) {
    if (std::min(f.rect.width, f.rect.height) >= settings_.minFacePx) {
      usable.push_back(f);
    }
  }
  if (usable.empty()) {
    return;
  }
  const std::size_t pick = pickCandidate(usable, frame.bgr.size());
  const face::FaceBox candidate = usable[pick];
  int similar = 0;
  for (std::size_t i = 0; i < usable.size(); ++i) {
    if (i != pick && usable[i].rect.area() >= kSimilarFaceAreaRatio * candidate.rect.area()) {
      ++similar;
    }
  }
  auto embedding = engine_.describe(frame.bgr, candidate, ms);
  if (!embedding) {
    return;
  }
  const double distance = face::distance(*embedding, *template_);
  decided = machine_.face(FaceSample{distance, static_cast<int>(detection->faces.size()), similar},
                          frame.capturedAt);
}

std::optional<Decision> Gate::onCameraLost(PassageMachine::TimePoint now, const std::string& what) {
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
  machine_.cameraRestored(now);
  signaller_.silence();
  logger("gate")->info("camera back: in service");
  audit::AuditEvent back{wall_.unixNow(), settings_.gateId, "in_service", std::nullopt,
                         std::nullopt,    std::nullopt,     std::nullopt, ""};
  if (auto r = audit_.append(back); !r) {
    logger("gate")->error("audit record not written: {}", r.error().message);
  }
  lastStatus_ = "in service, waiting for a badge";
  notifier_.status(lastStatus_);
}

signal::Pattern Gate::patternFor(Outcome outcome) const {
  const std::string name(patternName(outcome));
  const auto found = settings_.patterns.find(name);
  return signal::Pattern{name,
                         found == settings_.patterns.end() ? std::vector<int>{} : found->second};
}

void Gate::finish(const Decision& d) {
  template_.reset();  // wiped by its SecureBox
  const std::int64_t now = wall_.unixNow();
  const signal::Light light = d.outcome == Outcome::Granted       ? signal::Light::Green
                              : d.outcome == Outcome::ManualCheck ? signal::Light::None
                                                                  : signal::Light::Red;
  const auto pattern = patternFor(d.outcome);
  auto played = d.outcome == Outcome::OutOfService ? signaller_.playRepeating(pattern, light)
                                                   : signaller_.play(pattern, light);
  if (!played) {
    logger("gate")->error("signal failed: {}", played.error().message);
  }

  audit::AuditEvent event;
  event.at = now;
  event.actor = settings_.gateId;
  event.action = "passage";
  event.badgeSerial = d.serial;
  event.outcome = std::string(toString(d.outcome));
  event.distance = d.distance;
  event.detail =
      fmt::format("frames={} latency_ms={} similar_faces={}{}", d.framesUsed, d.latency.count(),
                  d.maxSimilarFaces, d.reason.empty() ? "" : " reason=" + d.reason);
  if (auto r = audit_.append(event); !r) {
    logger("gate")->error("audit record not written: {}", r.error().message);
  }

  logger("gate")->info(
      "passage badge={} outcome={} distance={} frames={} latency={}ms{}{}", serialText(d.serial),
      toString(d.outcome), d.distance ? fmt::format("{:.3f}", *d.distance) : std::string("-"),
      d.framesUsed, d.latency.count(),
      d.maxSimilarFaces > 0 ? fmt::format(" similar_faces={} (tailgating?)", d.maxSimilarFaces)
                            : std::string(),
      d.reason.empty() ? "" : " reason=" + d.reason);
  lastStatus_ = fmt::format("last passage: {}{}", toString(d.outcome),
                            d.outcome == Outcome::OutOfService ? " (" + d.reason + ")" : "");
  notifier_.status(lastStatus_);
  if (onReport) {
    onReport(PassageReport{d, now});
  }
}

}  // namespace facegate::gate
