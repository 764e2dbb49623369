#include "facegate/app/station.hpp"

namespace facegate::app {

Station::Station(store::Database& database, const GateKeys& keys,
                 const gate::GateSettings& settings, face::FaceEngine& engine,
                 signal::Signaller& signaller, gate::WallClock& wall,
                 gate::ServiceNotifier& notifier, audit::HeadWitness* witness)
    : registry_(database, settings.gateId, witness),
      checker_(registry_, keys.publicKey, keys.templateKey, keys.volunteerKind),
      auditLog_(database, witness),
      gate_(settings, engine, checker_, signaller, auditLog_, wall, notifier) {}

}  // namespace facegate::app
