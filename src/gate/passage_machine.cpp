#include "facegate/gate/passage_machine.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "facegate/core/logging.hpp"

namespace facegate::gate {

std::string_view toString(Outcome outcome) {
  switch (outcome) {
    case Outcome::Granted: return "GRANTED";
    case Outcome::Mismatch: return "MISMATCH";
    case Outcome::ManualCheck: return "MANUAL_CHECK";
    case Outcome::RejectBadge: return "REJECT_BADGE";
    case Outcome::Timeout: return "TIMEOUT";
    case Outcome::Spoof: return "SPOOF";
    case Outcome::OutOfService: return "OUT_OF_SERVICE";
  }
  return "UNKNOWN";
}

std::string_view patternName(Outcome outcome) {
  switch (outcome) {
    case Outcome::Granted: return "granted";
    case Outcome::Mismatch: return "mismatch";
    case Outcome::ManualCheck: return "manual_check";
    case Outcome::RejectBadge: return "reject_badge";
    case Outcome::Timeout: return "timeout";
    case Outcome::Spoof: return "spoof";
    case Outcome::OutOfService: return "out_of_service";
  }
  return "unknown";
}

std::string_view toString(State state) {
  switch (state) {
    case State::Idle: return "idle";
    case State::BadgeRead: return "badge-read";
    case State::Verifying: return "verifying";
    case State::Decided: return "decided";
    case State::Cooldown: return "cooldown";
    case State::OutOfService: return "out-of-service";
  }
  return "unknown";
}

namespace {

std::string_view toString(PassageMachine::Fault fault) {
  switch (fault) {
    case PassageMachine::Fault::Camera: return "camera";
    case PassageMachine::Fault::Storage: return "storage";
  }
  return "unknown";
}

}  // namespace

void PassageMachine::ignored(std::string_view event, std::string_view why) const {
  // Debug, not warning: see the header. Only the event's name and the state: never what the
  // event carried (distances, liveness scores, badge fingerprints).
  logger("gate")->debug("event {} ignored in state {}{}{}", event, toString(state_),
                        why.empty() ? "" : ": ", why);
}

void PassageMachine::reconfigure(const Settings& settings) {
  if (state_ == State::Idle || state_ == State::OutOfService) {
    settings_ = settings;
    hasPending_ = false;
  } else {
    pending_ = settings;
    hasPending_ = true;
  }
}

bool PassageMachine::qrDecoded(const BadgeFingerprint& badge, TimePoint now) {
  std::erase_if(recentBadges_,
                [&](const auto& entry) { return now - entry.second >= settings_.debounce; });
  const bool recentlySeen = recentBadges_.contains(badge);
  if (state_ == State::Idle || state_ == State::Cooldown) {
    // A badge kept in view stays one passage: every sighting extends its window. (During a
    // passage other badges are not remembered: they were never looked at.)
    if (recentlySeen || state_ == State::Idle) {
      recentBadges_[badge] = now;
    }
  }
  if (state_ != State::Idle) {
    ignored("qr-decoded", state_ == State::OutOfService ? "out of service"
                          : state_ == State::BadgeRead || state_ == State::Verifying
                              ? "a passage is under way (one at a time)"
                              : "a passage has just ended");
    return false;
  }
  if (recentlySeen) {
    ignored("qr-decoded", "the same badge was seen within the debounce (the same passage)");
    return false;
  }
  currentBadge_ = badge;
  passageStart_ = now;
  badgeRef_.reset();
  window_.clear();
  compared_.clear();
  anyMismatch_ = false;
  trackBreaks_ = 0;
  liveness_.reset();
  state_ = State::BadgeRead;
  return true;
}

std::optional<Decision> PassageMachine::badgeChecked(const BadgeCheck& check, TimePoint now) {
  if (state_ != State::BadgeRead) {
    ignored("badge-checked", "no badge was being read");
    return std::nullopt;
  }
  badgeRef_ = check.badgeRef;
  switch (check.kind) {
    case BadgeCheck::Kind::Rejected: {
      Decision d = decide(Outcome::RejectBadge, now);
      d.reason = check.reason;
      return d;
    }
    case BadgeCheck::Kind::NonVolunteer: return decide(Outcome::ManualCheck, now);
    case BadgeCheck::Kind::Volunteer:
      state_ = State::Verifying;
      verifyStart_ = now;
      return std::nullopt;
  }
  return std::nullopt;
}

bool PassageMachine::windowComplete() const {
  return static_cast<int>(window_.size()) >= std::max(1, settings_.frames);
}

std::optional<Decision> PassageMachine::face(const FaceSample& sample, TimePoint now) {
  if (state_ != State::Verifying) {
    ignored("face", "no face is being verified");
    return std::nullopt;
  }
  if (windowComplete()) {
    ignored("face", "the window is complete, waiting for the liveness verdict");
    return std::nullopt;
  }
  window_.push_back(sample);
  compared_.push_back(sample.distance);
  // NaN compares false: a distance that is not a number is not a match.
  anyMismatch_ = anyMismatch_ || !(sample.distance <= settings_.threshold);
  if (windowComplete() && (!settings_.liveness || liveness_)) {
    return verdictOnIdentity(now);
  }
  return std::nullopt;
}

void PassageMachine::trackBroken(TimePoint /*now*/) {
  if (state_ != State::Verifying) {
    ignored("track-broken", "no face is being verified");
    return;
  }
  // The frames so far showed another face, or a face that went away: they never count
  // towards the next window, nor does a liveness verdict on them. Failed matches are kept
  // (anyMismatch_): showing the owner's photo after one's own face does not undo it.
  window_.clear();
  liveness_.reset();
  ++trackBreaks_;
}

std::optional<Decision> PassageMachine::livenessJudged(const LivenessVerdict& verdict,
                                                       TimePoint now) {
  if (state_ != State::Verifying || !settings_.liveness || liveness_) {
    ignored("liveness-judged", state_ != State::Verifying ? "no face is being verified"
                               : !settings_.liveness      ? "the liveness check is off"
                                                          : "this window's face is already judged");
    return std::nullopt;
  }
  liveness_ = verdict;
  if (verdict.spoof) {
    Decision d = decide(Outcome::Spoof, now);
    d.reason = verdict.cue;
    return d;
  }
  if (windowComplete()) {
    return verdictOnIdentity(now);
  }
  return std::nullopt;
}

std::optional<Decision> PassageMachine::tick(TimePoint now) {
  switch (state_) {
    case State::Verifying:
      if (now - verifyStart_ >= settings_.window) {
        if (anyMismatch_) {
          // A face that is not the badge holder's was seen: the supervisor must know, even
          // if no complete window followed.
          return verdictOnIdentity(now);
        }
        if (compared_.empty()) {
          forgetCurrentBadge();  // no verdict on the pupil: let them try again at once
          return decide(Outcome::Timeout, now);
        }
        // Fail closed: never decide on part of a window, nor on a face never judged live.
        forgetCurrentBadge();
        Decision d = decide(Outcome::Timeout, now);
        d.reason = settings_.liveness ? "too-few-frames-for-liveness" : "too-few-frames";
        return d;
      }
      return std::nullopt;
    case State::Decided: state_ = State::Cooldown; return std::nullopt;
    case State::Cooldown:
      if (now - decidedAt_ >= settings_.cooldown) {
        state_ = State::Idle;
        if (hasPending_) {
          settings_ = pending_;
          hasPending_ = false;
        }
      }
      return std::nullopt;
    default: return std::nullopt;
  }
}

std::optional<Decision> PassageMachine::fault(Fault fault, TimePoint now, std::string what) {
  if (state_ == State::OutOfService && hasFault(fault)) {
    ignored(fmt::format("fault({})", toString(fault)), "that fault is already known");
    return std::nullopt;
  }
  faults_ |= static_cast<unsigned>(fault);
  if (state_ == State::OutOfService) {
    return std::nullopt;  // already out of service; leaving it now takes both repairs
  }
  const bool inPassage = state_ == State::BadgeRead || state_ == State::Verifying;
  recentBadges_.clear();  // after an outage every badge is a new passage
  Decision d = decide(Outcome::OutOfService, now);
  if (!inPassage) {
    d.badgeRef.reset();
    d.latency = std::chrono::milliseconds(0);
  }
  d.reason = std::move(what);
  state_ = State::OutOfService;
  return d;
}

void PassageMachine::repaired(Fault fault, TimePoint now) {
  if (!hasFault(fault)) {
    ignored(fmt::format("repaired({})", toString(fault)), "that fault was not known");
    return;
  }
  faults_ &= ~static_cast<unsigned>(fault);
  if (state_ != State::OutOfService || faults_ != 0) {
    return;
  }
  state_ = State::Idle;
  decidedAt_ = now;
  if (hasPending_) {
    settings_ = pending_;
    hasPending_ = false;
  }
}

void PassageMachine::forgetCurrentBadge() {
  if (currentBadge_) {
    recentBadges_.erase(*currentBadge_);
  }
}

Decision PassageMachine::decide(Outcome outcome, TimePoint now) {
  Decision d;
  d.outcome = outcome;
  d.badgeRef = badgeRef_;
  d.framesUsed = static_cast<int>(window_.size());
  d.trackBreaks = trackBreaks_;
  for (const auto& s : window_) {
    d.maxSimilarFaces = std::max(d.maxSimilarFaces, s.similarFaces);
  }
  d.latency = std::chrono::duration_cast<std::chrono::milliseconds>(now - passageStart_);
  if (liveness_) {
    d.liveness = liveness_->detail;
  }
  state_ = State::Decided;
  decidedAt_ = now;
  window_.clear();
  compared_.clear();
  return d;
}

std::optional<Decision> PassageMachine::verdictOnIdentity(TimePoint now) {
  // Every frame compared must match: the largest distance decides. (A median or the best
  // frame would let a few frames of the owner's photo carry frames of another face.)
  std::vector<double> distances = compared_;
  std::sort(distances.begin(), distances.end(), [](double a, double b) {
    return a < b || (!std::isnan(a) && std::isnan(b));  // NaN last: the worst
  });
  const std::size_t n = distances.size();
  const double median =
      n % 2 == 1 ? distances[n / 2] : (distances[n / 2 - 1] + distances[n / 2]) / 2.0;
  Decision d = decide(anyMismatch_ ? Outcome::Mismatch : Outcome::Granted, now);
  d.distance = distances.back();
  d.medianDistance = median;
  if (anyMismatch_) {
    const auto above = std::count_if(distances.begin(), distances.end(),
                                     [&](double v) { return !(v <= settings_.threshold); });
    d.reason = fmt::format("{}-of-{}-frames-do-not-match", above, n);
  }
  return d;
}

}  // namespace facegate::gate
