#include "facegate/app/daemon.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "facegate/app/backends.hpp"
#include "facegate/app/lookup.hpp"
#include "facegate/app/settings.hpp"
#include "facegate/app/station.hpp"
#include "facegate/build_info.hpp"
#include "facegate/camera/backoff.hpp"
#include "facegate/core/logging.hpp"
#include "facegate/demo/demo.hpp"
#include "facegate/demo/narrator.hpp"
#include "facegate/gate/frame_loop.hpp"

namespace facegate::app {
namespace {

namespace fs = std::filesystem;

template <typename T>
T orThrow(Result<T> result, std::string_view context = {}) {
  if (!result) {
    throw std::runtime_error(context.empty()
                                 ? result.error().message
                                 : fmt::format("{}: {}", context, result.error().message));
  }
  return std::move(*result);
}

gate::LoopSettings daemonLoopSettings(const config::Config& c) {
  gate::LoopSettings s = loopSettingsFrom(c);
  if (isDemo(c)) {
    s.reconnectMin = std::chrono::milliseconds(100);  // the scenario's outage is simulated
    s.stopAtEnd = true;
  }
  return s;
}

// Where the gate stands: its keys, its database and its camera — the configured ones, or
// the demo's world (keys, a temporary database with its volunteers, a scripted camera).
struct Premises {
  std::unique_ptr<demo::DemoWorld> world;
  std::optional<store::Database> ownDatabase;
  std::optional<badge::TemplateKey> ownTemplateKey;
  badge::PublicKey publicKey{};
  std::optional<badge::BadgeKind> volunteerKind;  // the demo shows both kinds
  std::unique_ptr<camera::FrameSource> source;

  store::Database& database() { return world ? world->database() : *ownDatabase; }
  GateKeys keys() const {
    return {publicKey,
            world ? &world->templateKey() : (ownTemplateKey ? &*ownTemplateKey : nullptr),
            volunteerKind};
  }
};

Premises openPremises(const config::Config& c, face::FaceEngine& engine) {
  Premises p;
  if (isDemo(c)) {
    p.world = orThrow(demo::DemoWorld::create(engine, orThrow(demo::findDemoFaces())),
                      "building the demo");
    p.publicKey = p.world->publicKey();
    p.source = p.world->takeSource();
    return p;
  }
  p.publicKey = orThrow(badge::loadPublicKey(c.badge.publicKey));
  if (!c.badge.templateKey.empty()) {
    p.ownTemplateKey.emplace(orThrow(badge::TemplateKey::load(c.badge.templateKey)));
  }
  // The school's storage mode decides which volunteer badges this gate accepts.
  p.volunteerKind = c.storage.mode;
  p.ownDatabase.emplace(orThrow(store::Database::open(c.storage.database)));
  p.source = makeCamera(c.camera);
  return p;
}

// Opens the camera, retrying with back-off; until it opens the gate is out of service: the
// pattern plays and the status line says why. False when stopped first.
bool openCamera(camera::FrameSource& source, const config::Config& c, signal::Signaller& signaller,
                gate::ServiceNotifier& notifier, const std::atomic<bool>& stop) {
  auto log = logger("facegated");
  camera::Backoff backoff(std::chrono::milliseconds(c.camera.reconnectMinMs),
                          std::chrono::milliseconds(c.camera.reconnectMaxMs));
  bool waited = false;
  for (;;) {
    auto opened = source.open();
    if (opened) {
      break;
    }
    if (!waited) {
      waited = true;
      log->warn("camera {} not available: {}; out of service, retrying", source.describe(),
                opened.error().message);
      const auto found = c.gpio.patterns.find("out_of_service");
      if (found != c.gpio.patterns.end()) {
        (void)signaller.playRepeating({"out_of_service", found->second}, signal::Light::Red);
      }
    }
    notifier.status(fmt::format("out of service: camera {} not available: {}", source.describe(),
                                opened.error().message));
    const auto until = std::chrono::steady_clock::now() + backoff.next();
    while (std::chrono::steady_clock::now() < until && !stop.load()) {
      notifier.watchdog();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (stop.load()) {
      log->info("stopping before the camera opened");
      return false;
    }
  }
  if (waited) {
    signaller.silence();
    log->info("camera {} open", source.describe());
  }
  return true;
}

// Retention: once at start and then daily, audit records older than audit.retention_days
// are deleted (the chain stays verifiable from its new anchor).
class RetentionTimer {
 public:
  RetentionTimer(audit::AuditLog& log, gate::WallClock& wall) : log_(log), wall_(wall) {}

  void runIfDue(const config::Config& c) {
    const std::int64_t now = wall_.unixNow();
    if (now - lastPurge_ < kInterval) {
      return;
    }
    lastPurge_ = now;
    auto log = logger("facegated");
    auto purged = log_.purge(c.audit.retentionDays, now, c.gate.id);
    if (!purged) {
      log->error("audit retention purge failed: {}", purged.error().message);
      return;
    }
    if (purged->removed > 0) {
      log->info("audit retention: {} record(s) older than {} days removed{}", purged->removed,
                c.audit.retentionDays,
                purged->removedFutureDated > 0
                    ? fmt::format(" ({} of them dated in the future)", purged->removedFutureDated)
                    : std::string());
    }
    if (purged->remainingFutureDated.count > 0) {
      log->warn(
          "audit log: {} record(s) are dated in the future (the latest {}): the clock was "
          "wrong when they were written; check the time source (NTP) of this gate",
          purged->remainingFutureDated.count,
          audit::formatTime(purged->remainingFutureDated.latest));
    }
  }

 private:
  static constexpr std::int64_t kInterval = 86'400;
  audit::AuditLog& log_;
  gate::WallClock& wall_;
  std::int64_t lastPurge_ = 0;
};

void logWarnings(const config::Config& c) {
  for (const auto& warning : c.warnings) {
    logger("facegated")->warn("configuration: {}", warning);
  }
}

}  // namespace

int runDaemon(const DaemonStart& start, config::Config cfg, DaemonControls& controls) {
  configureLoggingFrom(cfg);
  auto log = logger("facegated");
  const bool demo = isDemo(cfg);
  log->info("facegated {} starting ({}){}", build::kVersion,
            start.configPath ? start.configPath->string() : std::string("embedded defaults"),
            demo ? ": demo scenario, no camera" : "");
  logWarnings(cfg);

  const fs::path modelDir = orThrow(modelDirFor(cfg, start.modelsDir));
  auto engine = orThrow(face::FaceEngine::load(modelDir, gateEngineOptionsFrom(cfg)));
  Premises premises = openPremises(cfg, *engine);
  // Everything this connection does runs in the frame loop (the badge check's reads, the
  // audit records, the daily purge): a lock another program holds must not stall it for
  // SQLite's default 5 s. (The gate's own records wait kRecordLockWait, or nothing while out
  // of service.)
  premises.database().setBusyTimeout(gate::kRecordLockWait);
  auto signaller = orThrow(makeSignaller(cfg.gpio));

  // Every committed head of the audit log goes to the journal, which the database's writer
  // cannot rewrite: `facegate audit verify` compares (audit/witness.hpp). Not for the demo,
  // whose database is a temporary file.
  audit::JournalWitness witness;
  gate::SystemWallClock wall;
  gate::SystemdNotifier notifier;
  Station station(premises.database(), premises.keys(), gateSettingsFrom(cfg), *engine, *signaller,
                  wall, notifier, demo ? nullptr : &witness);
  gate::Gate& gate = station.gate();
  std::optional<demo::Narrator> narrator;
  if (demo) {
    narrator.emplace(premises.world->passages());
    gate.onReport = [&](const gate::PassageReport& r) { narrator->passage(r); };
  }

  // READY only once the models are loaded and the camera is open.
  camera::FrameSource& source = *premises.source;
  if (!openCamera(source, cfg, *signaller, notifier, controls.stop)) {
    signaller->silence();
    notifier.stopping();
    return 0;
  }
  notifier.ready(fmt::format("ready: {}", source.describe()));
  log->info("ready: camera {}, gate {}", source.describe(), cfg.gate.id);

  gate::FrameLoop loop(source, gate, notifier, daemonLoopSettings(cfg));
  RetentionTimer retention(station.auditLog(), wall);
  const auto reload = [&] {
    if (!controls.reload.exchange(false)) {
      return;
    }
    notifier.reloading();
    auto fresh = readConfig(start.configPath);
    if (!fresh) {
      log->error("configuration reload refused, keeping the running one: {}",
                 fresh.error().message);
    } else {
      logWarnings(*fresh);
      gate.reconfigure(gateSettingsFrom(*fresh));
      loop.reconfigure(daemonLoopSettings(*fresh));
      configureLoggingFrom(*fresh);
      log->info("configuration reloaded (camera, storage and key changes need a restart)");
      cfg = std::move(*fresh);
    }
    notifier.status(gate.lastStatus().empty() ? "ready" : gate.lastStatus());
  };
  const auto result = loop.run(controls.stop, [&] {
    reload();
    retention.runIfDue(cfg);
  });
  signaller->silence();
  notifier.stopping();
  source.close();
  log->info("stopping: {} frames, {} passages, {} camera outages", result.frames, result.passages,
            result.outages);
  if (narrator) {
    return narrator->finish(result.frames) ? 0 : 1;
  }
  return 0;
}

}  // namespace facegate::app
