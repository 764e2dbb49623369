#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "facegate/face/match.hpp"

namespace facegate::gate {

// How a passage ended. One audit record and one signal pattern per outcome.
enum class Outcome {
  Granted,       // the face matches the badge's template
  Mismatch,      // a face, but not the badge holder's: alarm, the supervisor steps in
  ManualCheck,   // valid badge of a pupil who did not volunteer: paper pass, no face processing
  RejectBadge,   // forged, another school's, revoked, expired, unknown, or unreadable badge
  Timeout,       // no usable face within the window
  Spoof,         // presentation attack suspected: a photo or a screen held up to the camera
  OutOfService,  // the camera is down: pupils are checked by hand
};
std::string_view toString(Outcome outcome);     // GRANTED, MISMATCH, ...
std::string_view patternName(Outcome outcome);  // granted, mismatch, ... (config keys)

enum class State { Idle, BadgeRead, Verifying, Decided, Cooldown, OutOfService };
std::string_view toString(State state);

// Identifies a badge's QR text without keeping it (the text holds the badge secret).
using BadgeFingerprint = std::array<std::uint8_t, 16>;

// What the frame loop learnt about the badge it read.
struct BadgeCheck {
  enum class Kind { Volunteer, NonVolunteer, Rejected } kind = Kind::Rejected;
  // The badge's name in the audit log and the journal (audit/badge_ref.hpp), when it is
  // registered to a pupil; never the serial printed in the badge.
  std::optional<std::uint64_t> badgeRef;
  std::string reason;  // for Rejected: e.g. "revoked", "bad-signature"
};

// One frame of the followed face during verification (face/track.hpp): every frame of the
// decision window is embedded and compared.
struct FaceSample {
  double distance = 0.0;  // to the badge's template
  int faceCount = 1;      // faces in the frame
  int similarFaces = 0;   // other faces of similar size (tailgating hint)
};

// The liveness check's verdict on the presentation (liveness/liveness.hpp).
struct LivenessVerdict {
  bool spoof = false;
  std::string cue;     // what flagged it ("device-border", "planar-motion"); empty if live
  std::string detail;  // the cue scores, for the audit record: numbers only
};

struct Decision {
  Outcome outcome = Outcome::Timeout;
  std::optional<std::uint64_t> badgeRef;  // BadgeCheck::badgeRef
  // GRANTED / MISMATCH: the largest distance of all the frames compared during the passage
  // (what decided: every one must be at most the threshold), and their median.
  std::optional<double> distance;
  std::optional<double> medianDistance;
  int framesUsed = 0;                    // frames of the followed face in the last window
  int trackBreaks = 0;                   // times the followed face was lost or replaced
  int maxSimilarFaces = 0;               // the largest tailgating hint seen
  std::chrono::milliseconds latency{0};  // from the first frame with the QR to the decision
  std::string reason;    // RejectBadge: why; OutOfService: what happened; Spoof: the cue
  std::string liveness;  // the liveness scores, when the check ran
};

// The decision logic of one gate, as a pure state machine: no I/O (but a debug line for each
// ignored event), time passed in.
//
// A volunteer's passage is decided on a *window*: `frames` consecutive frames of one face,
// followed from frame to frame (face/track.hpp), every one of them embedded and compared with
// the badge's template, and — with the liveness check on — the same face judged live over the
// first liveness.frames of them. GRANTED needs every frame of the window to match, and no
// frame compared earlier in the passage to have failed: the face that is verified is the face
// that is judged live, from the first frame to the last, and a face that did not match the
// badge is never forgotten by showing another one (a photo of the owner) afterwards.
// When the followed face is lost or replaced (trackBroken), the window starts again: frames
// of two faces are never merged into one window.
//
// clang-format off
//  state         event                                        next          emits
//  ------------  -------------------------------------------  ------------  ----------------
//  Idle          qrDecoded, badge not seen within debounce    BadgeRead     -
//  Idle          qrDecoded, badge seen within debounce        Idle          - (same passage)
//  BadgeRead     badgeChecked Rejected                        Decided       REJECT_BADGE
//  BadgeRead     badgeChecked NonVolunteer                    Decided       MANUAL_CHECK
//  BadgeRead     badgeChecked Volunteer                       Verifying     -
//  Verifying     face, window not complete                    Verifying     -
//  Verifying     face completes the window, liveness passed   Decided       GRANTED if every
//                or off                                                     frame compared
//                                                                           matched, else
//                                                                           MISMATCH
//  Verifying     face completes the window, liveness not      Verifying     - (waits)
//                judged yet
//  Verifying     livenessJudged spoof                         Decided       SPOOF
//  Verifying     livenessJudged live, window complete         Decided       GRANTED/MISMATCH
//                                                                           (as above)
//  Verifying     livenessJudged live, window not complete     Verifying     -
//  Verifying     trackBroken                                  Verifying     - (the window and
//                                                                             its liveness
//                                                                             verdict start
//                                                                             again; failed
//                                                                             matches are kept)
//  Verifying     tick at window_ms, a frame did not match     Decided       MISMATCH
//  Verifying     tick at window_ms, frames but no complete    Decided       TIMEOUT (fail
//                window                                                     closed)
//  Verifying     tick at window_ms, no frame                  Decided       TIMEOUT
//  Verifying     qrDecoded (any badge)                        Verifying     - (one at a time)
//  Decided       tick                                         Cooldown      -
//  Cooldown      tick after `cooldown`                        Idle          - (pending
//                                                                             settings apply)
//  Cooldown      qrDecoded                                    Cooldown      - (ignored; a
//                                                                             known badge's
//                                                                             sighting counts)
//  any but OOS   fault (camera lost, audit unwritable)        OutOfService  OUT_OF_SERVICE
//                                                                           (ends a passage
//                                                                           under way)
//  OutOfService  fault (another cause)                        OutOfService  - (both must be
//                                                                             repaired)
//  OutOfService  repaired, no fault left                      Idle          - (pending
//                                                                             settings apply)
//  OutOfService  repaired, another fault left                 OutOfService  -
//  OutOfService  any other event                              OutOfService  -
//  any           an event its rows above do not take          unchanged     - (logged, below)
// clang-format on
//
// Ignored events: an event a state does not take (a badge check with no badge being read, a
// face outside verification, a QR code during a passage or the cooldown, a sighting within
// the debounce, a liveness verdict not asked for, a fault already known, a repair of a fault
// not known) changes nothing, and the machine says so in the gate's log at debug level, as
// "event qr-decoded ignored in state cooldown: a passage has just ended": the event's name,
// the state, why — never what the event carried (distances, liveness scores, badges). Debug,
// not warning: most arrive by design at the frame rate (a badge still in view is decoded on
// every frame of the cooldown and the debounce), ignoring them is the safe answer (nothing
// ignored can grant a passage), and none is a fault a technician could act on; at warning
// they would bury the one line per decision. tick() is time passing, not an event: never
// logged.
//
// Debounce: every badge seen is remembered with the time it was last seen; a badge seen
// again within `debounce` of its last sighting is the same passage and starts nothing,
// however long it stays in view, and however many other badges are in view too. A passage
// that ended without a verdict on the pupil (TIMEOUT, OUT_OF_SERVICE) forgets its badge, so
// the pupil can try again at once.
// Not thread-safe: owned by the frame loop.
class PassageMachine {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  struct Settings {
    double threshold =
        face::kDefaultMatchThreshold;        // a frame matches when its distance is at most this
    std::chrono::milliseconds window{3000};  // time for a complete window after the badge
    int frames = 3;  // frames of one face per decision window, every one compared (>= 1)
    std::chrono::milliseconds debounce{5000};
    std::chrono::milliseconds cooldown{1000};  // after a decision, before the next passage
    bool liveness = false;  // a liveness verdict is needed before GRANTED/MISMATCH
  };

  explicit PassageMachine(const Settings& settings) : settings_(settings) {}

  State state() const { return state_; }
  const Settings& settings() const { return settings_; }

  // New settings take effect from the next passage (a reload never changes a passage
  // half-way).
  void reconfigure(const Settings& settings);

  // A QR code was decoded in a frame captured at `now`. True if it starts a passage: the
  // caller then checks the badge and reports with badgeChecked().
  bool qrDecoded(const BadgeFingerprint& badge, TimePoint now);

  std::optional<Decision> badgeChecked(const BadgeCheck& check, TimePoint now);
  // One frame of the followed face, compared with the template.
  std::optional<Decision> face(const FaceSample& sample, TimePoint now);
  // The followed face was lost or replaced by another: the window starts again.
  void trackBroken(TimePoint now);
  // The liveness check's verdict on the current window's face.
  std::optional<Decision> livenessJudged(const LivenessVerdict& verdict, TimePoint now);
  std::optional<Decision> tick(TimePoint now);

  // Out of service: the camera stopped delivering frames, or the audit log cannot be
  // written (no passage may be decided that cannot be recorded). Each cause is repaired
  // separately; the gate is back in service only when none is left.
  enum class Fault : unsigned { Camera = 1U, Storage = 2U };
  std::optional<Decision> fault(Fault fault, TimePoint now, std::string what);
  void repaired(Fault fault, TimePoint now);
  bool hasFault(Fault fault) const { return (faults_ & static_cast<unsigned>(fault)) != 0; }

  std::optional<Decision> cameraLost(TimePoint now, std::string what) {
    return fault(Fault::Camera, now, std::move(what));
  }
  void cameraRestored(TimePoint now) { repaired(Fault::Camera, now); }

  // True while the frame loop should look for faces and compare every one with the template
  // (and only then: a non-volunteer's passage never reaches the face engine).
  bool wantsFaces() const { return state_ == State::Verifying; }
  // While verifying: the current window's face still needs its liveness verdict.
  bool wantsLiveness() const {
    return state_ == State::Verifying && settings_.liveness && !liveness_;
  }
  // True while the frame loop should look for badges.
  bool wantsBadges() const { return state_ == State::Idle; }

 private:
  Decision decide(Outcome outcome, TimePoint now);
  // Logs that `event` changed nothing in the current state, and `why`.
  void ignored(std::string_view event, std::string_view why) const;
  void forgetCurrentBadge();
  bool windowComplete() const;
  std::optional<Decision> verdictOnIdentity(TimePoint now);

  Settings settings_;
  Settings pending_;
  bool hasPending_ = false;
  State state_ = State::Idle;
  unsigned faults_ = 0;  // Fault bits
  TimePoint passageStart_{};
  TimePoint verifyStart_{};
  TimePoint decidedAt_{};
  std::optional<std::uint64_t> badgeRef_;
  std::vector<FaceSample> window_;  // the current window's frames
  std::vector<double> compared_;    // every distance compared during the passage
  bool anyMismatch_ = false;        // a compared frame was above the threshold
  int trackBreaks_ = 0;
  std::optional<LivenessVerdict> liveness_;  // on the current window's face
  // Recently seen badges and when; entries older than `debounce` are dropped.
  std::map<BadgeFingerprint, TimePoint> recentBadges_;
  std::optional<BadgeFingerprint> currentBadge_;
};

}  // namespace facegate::gate
