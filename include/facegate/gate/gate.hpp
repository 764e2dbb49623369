#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "facegate/audit/audit_log.hpp"
#include "facegate/badge/qr.hpp"
#include "facegate/camera/frame_source.hpp"
#include "facegate/face/face_analyser.hpp"
#include "facegate/face/track.hpp"
#include "facegate/gate/badge_checker.hpp"
#include "facegate/gate/passage_machine.hpp"
#include "facegate/gate/services.hpp"
#include "facegate/liveness/liveness.hpp"
#include "facegate/signal/signaller.hpp"

namespace facegate::gate {

struct GateSettings {
  std::string gateId = "gate-1";
  PassageMachine::Settings passage;
  int minFacePx = 80;                                // smaller faces are too far away to verify
  liveness::Settings liveness;                       // thresholds; on/off is passage.liveness
  std::map<std::string, std::vector<int>> patterns;  // by patternName(outcome)
};

// One passage's record as it goes to the audit log, the journal and the status line.
struct PassageReport {
  Decision decision;
  std::int64_t at = 0;  // unix seconds
  // Set when the decision could not be recorded in the audit log: what the gate had decided.
  // `decision` is then OUT_OF_SERVICE: nothing is granted that is not on record.
  std::optional<Outcome> withheld;
};

// How often the gate retries the audit log while it cannot be written.
inline constexpr std::chrono::milliseconds kStorageRetryInterval{2000};

// How long an audit write may wait for another connection's write lock before the log counts
// as unwritable. In service, long enough for a desk command's transaction (an enrolment
// commits in milliseconds, a purge or an erasure with secure_delete on a slow card in a few
// hundred), short enough that a lock held for good costs the frame loop half a second once —
// not SQLite's busy timeout on every write (5 s: the watchdog, the out-of-service signal and
// the pupil all waited). Out of service the gate does not wait at all (kRetryLockWait): a
// retry that finds the lock taken fails at once and is tried again kStorageRetryInterval
// later.
inline constexpr std::chrono::milliseconds kRecordLockWait{500};
inline constexpr std::chrono::milliseconds kRetryLockWait{0};

// The gate's frame processing: QR codes while idle, faces while verifying, and for every
// decision the audit record, the signal, one journal line and the service status.
//
// Fail closed on storage: a decision is signalled only after its audit record is written.
// When the audit log cannot be written (disk full, fsync or write failure, or another
// connection holding the write lock beyond kRecordLockWait), the decision is withheld — the
// pupil gets the out-of-service signal and is checked by hand — and the gate stays out of
// service, retrying every kStorageRetryInterval without waiting for a lock. When a write
// succeeds again it records the gap (since the first record that could not be written, for
// how long, why, which decisions were withheld) and returns to service.
// The face engine is any FaceAnalyser: the dlib engine in service, a double in tests that
// have no models. Each collaborator is borrowed and must outlive the Gate. Not thread-safe:
// the frame loop owns it.
class Gate {
 public:
  Gate(const GateSettings& settings, face::FaceAnalyser& engine, BadgeChecker& badges,
       signal::Signaller& signaller, audit::AuditLog& audit, WallClock& wall,
       ServiceNotifier& notifier);

  // Processes one frame; returns the decision when a passage ended on it.
  std::optional<Decision> onFrame(const camera::Frame& frame);

  // The camera stopped delivering: out of service (once per outage).
  std::optional<Decision> onCameraLost(PassageMachine::TimePoint now, const std::string& what);
  void onCameraRestored(PassageMachine::TimePoint now);

  // Checks the supervisor's acknowledge button: a press silences the alarm and is audited.
  // Called for every frame, and by the frame loop while the camera is down.
  void pollAcknowledge();

  // New settings apply from the next passage.
  void reconfigure(const GateSettings& settings);

  State state() const { return machine_.state(); }
  bool storageFaulted() const { return storageFault_.has_value(); }
  bool inPassage() const;
  std::uint64_t faceEngineCalls() const { return faceEngineCalls_; }
  // Milliseconds spent in the liveness check, summed, and the frames it looked at.
  double livenessMs() const { return livenessMs_; }
  std::uint64_t livenessFrames() const { return livenessFrames_; }
  const std::string& lastStatus() const { return lastStatus_; }

  // Called after each decision has been signalled and recorded (the demo prints it).
  std::function<void(const PassageReport&)> onReport;

 private:
  void scanForBadge(const camera::Frame& frame, std::optional<Decision>& decided);
  void verifyFace(const camera::Frame& frame, std::optional<Decision>& decided);
  void finish(const Decision& decision);
  signal::Pattern patternFor(Outcome outcome) const;
  // Appends to the audit log; on failure the gate goes out of service (storage fault).
  bool record(const audit::AuditEvent& event);
  void showStorageFault();
  void retryStorage(PassageMachine::TimePoint now);
  void backInService();

  struct StorageFault {
    std::int64_t since = 0;  // unix seconds: when the first record that failed was to be written
    std::string error;
    std::vector<Outcome> withheld;  // decisions taken but neither recorded nor signalled
    PassageMachine::TimePoint lastTry{};
  };

  GateSettings settings_;
  GateSettings pendingSettings_;
  bool hasPending_ = false;
  face::FaceAnalyser& engine_;
  BadgeChecker& badges_;
  signal::Signaller& signaller_;
  audit::AuditLog& audit_;
  WallClock& wall_;
  ServiceNotifier& notifier_;
  PassageMachine machine_;
  badge::QrScanner scanner_;
  liveness::LivenessCheck liveness_;
  face::FaceTrack track_;                    // the face being verified, frame to frame
  std::optional<face::Embedding> template_;  // the badge holder's, during verification only
  std::uint64_t faceEngineCalls_ = 0;
  double livenessMs_ = 0.0;
  std::uint64_t livenessFrames_ = 0;
  std::string lastStatus_;
  std::optional<StorageFault> storageFault_;
  PassageMachine::TimePoint lastSeen_{};  // the latest time the gate was told
};

}  // namespace facegate::gate
