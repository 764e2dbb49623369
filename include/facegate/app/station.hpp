#pragma once

#include <optional>

#include "facegate/audit/audit_log.hpp"
#include "facegate/audit/witness.hpp"
#include "facegate/badge/keys.hpp"
#include "facegate/badge/payload.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/gate/badge_checker.hpp"
#include "facegate/gate/gate.hpp"
#include "facegate/gate/services.hpp"
#include "facegate/signal/signaller.hpp"
#include "facegate/store/database.hpp"

namespace facegate::app {

// The keys a gate checks badges with.
struct GateKeys {
  badge::PublicKey publicKey{};                     // the school's: badges are signed with it
  const badge::TemplateKey* templateKey = nullptr;  // nullptr: no on-badge templates here
  // storage.mode: the only kind of volunteer badge this gate accepts; nullopt accepts both
  // (the demo shows both).
  std::optional<badge::BadgeKind> volunteerKind;
};

// One gate assembled over one database: the enrolment records it reads badges against, the
// badge checker, the audit log it writes and the Gate itself. The daemon, the scenario and
// liveness tests and the gate benchmark all build their gate here, so that they run the same
// wiring. The engine, the signaller, the clock, the notifier and the database are borrowed
// and must outlive the station (the keys' template key too). The Gate's actor in the
// records is settings.gateId.
class Station {
 public:
  Station(store::Database& database, const GateKeys& keys, const gate::GateSettings& settings,
          face::FaceEngine& engine, signal::Signaller& signaller, gate::WallClock& wall,
          gate::ServiceNotifier& notifier, audit::HeadWitness* witness = nullptr);
  Station(const Station&) = delete;
  Station& operator=(const Station&) = delete;

  gate::Gate& gate() { return gate_; }
  audit::AuditLog& auditLog() { return auditLog_; }

 private:
  enrolment::Registry registry_;
  gate::BadgeChecker checker_;
  audit::AuditLog auditLog_;
  gate::Gate gate_;
};

}  // namespace facegate::app
