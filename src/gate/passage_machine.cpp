#include "facegate/gate/passage_machine.hpp"

#include <algorithm>

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
  if (state_ != State::Idle || recentlySeen) {
    return false;
  }
  currentBadge_ = badge;
  passageStart_ = now;
  serial_.reset();
  samples_.clear();
  liveness_.reset();
  state_ = State::BadgeRead;
  return true;
}

std::optional<Decision> PassageMachine::badgeChecked(const BadgeCheck& check, TimePoint now) {
  if (state_ != State::BadgeRead) {
    return std::nullopt;
  }
  serial_ = check.serial;
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

std::optional<Decision> PassageMachine::face(const FaceSample& sample, TimePoint now) {
  if (state_ != State::Verifying) {
    return std::nullopt;
  }
  if (static_cast<int>(samples_.size()) >= settings_.frames) {
    return std::nullopt;  // enough samples; still waiting for the liveness verdict
  }
  samples_.push_back(sample);
  if (static_cast<int>(samples_.size()) >= settings_.frames && (!settings_.liveness || liveness_)) {
    return fuse(now);
  }
  return std::nullopt;
}

std::optional<Decision> PassageMachine::livenessJudged(const LivenessVerdict& verdict,
                                                       TimePoint now) {
  if (state_ != State::Verifying || !settings_.liveness || liveness_) {
    return std::nullopt;
  }
  liveness_ = verdict;
  if (verdict.spoof) {
    Decision d = decide(Outcome::Spoof, now);
    d.reason = verdict.cue;
    return d;
  }
  if (static_cast<int>(samples_.size()) >= settings_.frames) {
    return fuse(now);
  }
  return std::nullopt;
}

std::optional<Decision> PassageMachine::tick(TimePoint now) {
  switch (state_) {
    case State::Verifying:
      if (now - verifyStart_ >= settings_.window) {
        if (samples_.empty()) {
          forgetCurrentBadge();  // no verdict on the pupil: let them try again at once
          return decide(Outcome::Timeout, now);
        }
        if (settings_.liveness && !liveness_) {
          // Fail closed: a face that was never checked for liveness is not granted.
          forgetCurrentBadge();
          Decision d = decide(Outcome::Timeout, now);
          d.reason = "too-few-frames-for-liveness";
          return d;
        }
        return fuse(now);
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
  faults_ |= static_cast<unsigned>(fault);
  if (state_ == State::OutOfService) {
    return std::nullopt;  // already out of service; leaving it now takes both repairs
  }
  const bool inPassage = state_ == State::BadgeRead || state_ == State::Verifying;
  recentBadges_.clear();  // after an outage every badge is a new passage
  Decision d = decide(Outcome::OutOfService, now);
  if (!inPassage) {
    d.serial.reset();
    d.latency = std::chrono::milliseconds(0);
  }
  d.reason = std::move(what);
  state_ = State::OutOfService;
  return d;
}

void PassageMachine::repaired(Fault fault, TimePoint now) {
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
  d.serial = serial_;
  d.framesUsed = static_cast<int>(samples_.size());
  for (const auto& s : samples_) {
    d.maxSimilarFaces = std::max(d.maxSimilarFaces, s.similarFaces);
  }
  d.latency = std::chrono::duration_cast<std::chrono::milliseconds>(now - passageStart_);
  if (liveness_) {
    d.liveness = liveness_->detail;
  }
  state_ = State::Decided;
  decidedAt_ = now;
  samples_.clear();
  return d;
}

std::optional<Decision> PassageMachine::fuse(TimePoint now) {
  std::vector<double> distances;
  distances.reserve(samples_.size());
  for (const auto& s : samples_) {
    distances.push_back(s.distance);
  }
  std::sort(distances.begin(), distances.end());
  double fused = distances.front();  // best
  if (settings_.fusion == Fusion::Median) {
    const std::size_t n = distances.size();
    fused = n % 2 == 1 ? distances[n / 2] : (distances[n / 2 - 1] + distances[n / 2]) / 2.0;
  }
  const Outcome outcome = fused <= settings_.threshold ? Outcome::Granted : Outcome::Mismatch;
  Decision d = decide(outcome, now);
  d.distance = fused;
  return d;
}

}  // namespace facegate::gate
