// facegated: the gate daemon. Camera -> badge -> face -> decision -> buzzer + audit.
//
//   facegated [--config FILE] [--check-config] [--models DIR]
//
// Without --config it reads /etc/facegate/facegate.toml if present, else runs on its
// embedded defaults, whose camera source is the demo scenario (no camera needed).
#include <sys/stat.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <opencv2/core/utils/logger.hpp>

#include "facegate/audit/audit_log.hpp"
#include "facegate/build_info.hpp"
#include "facegate/camera/backoff.hpp"
#include "facegate/camera/image_sequence_source.hpp"
#include "facegate/camera/opencv_source.hpp"
#include "facegate/config/config.hpp"
#include "facegate/core/logging.hpp"
#include "facegate/core/process.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/face/models.hpp"
#include "facegate/gate/demo.hpp"
#include "facegate/gate/frame_loop.hpp"
#include "facegate/gate/settings.hpp"
#include "facegate/signal/gpiod_signaller.hpp"
#include "facegate/signal/logging_signaller.hpp"
#include "facegate/store/database.hpp"
#include "options.hpp"

namespace {

namespace fs = std::filesystem;
using namespace facegate;

constexpr std::string_view kDefaultConfig = build::kDefaultConfigFile;
std::atomic<bool> gStop{false};
std::atomic<bool> gReload{false};

extern "C" void onSignal(int sig) {
  if (sig == SIGHUP) {
    gReload.store(true);
  } else {
    gStop.store(true);
  }
}

void installSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  for (const int sig : {SIGTERM, SIGINT, SIGHUP}) {
    sigaction(sig, &action, nullptr);
  }
}

spdlog::level::level_enum toSpdlog(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::Trace: return spdlog::level::trace;
    case config::LogLevel::Debug: return spdlog::level::debug;
    case config::LogLevel::Info: return spdlog::level::info;
    case config::LogLevel::Warn: return spdlog::level::warn;
    case config::LogLevel::Error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

LogDestination toDestination(config::LogTarget target) {
  switch (target) {
    case config::LogTarget::Journal: return LogDestination::Journal;
    case config::LogTarget::Stderr: return LogDestination::Stderr;
    case config::LogTarget::Auto: return LogDestination::Auto;
  }
  return LogDestination::Auto;
}

gate::LoopSettings loopSettings(const config::Config& c, bool demo) {
  gate::LoopSettings s = gate::loopSettingsFrom(c);
  if (demo) {
    s.reconnectMin = std::chrono::milliseconds(100);  // the scenario's outage is simulated
    s.stopAtEnd = true;
  }
  return s;
}

bool isDemo(const config::Config& c) {
  return c.camera.source == "demo";
}

// The models directory: --models, else face.models_dir, else the default search.
Result<fs::path> modelDirFor(const config::Config& c, const std::optional<fs::path>& modelFlag) {
  return face::findModelDir(modelFlag                  ? modelFlag
                            : c.face.modelsDir.empty() ? std::nullopt
                                                       : std::optional<fs::path>(c.face.modelsDir));
}

// Everything --check-config checks: the config itself, then the files it names, as the
// daemon would find them (the same model lookup, --models included).
std::vector<std::string> checkFiles(const config::Config& c,
                                    const std::optional<fs::path>& modelFlag) {
  std::vector<std::string> problems;
  if (!isDemo(c)) {
    if (auto key = badge::loadPublicKey(c.badge.publicKey); !key) {
      problems.push_back(key.error().message);
    }
    if (!c.badge.templateKey.empty()) {
      if (auto key = badge::TemplateKey::load(c.badge.templateKey); !key) {
        problems.push_back(key.error().message);
      }
    }
    const fs::path dbDir = c.storage.database.parent_path();
    std::error_code ec;
    if (!dbDir.empty() && !fs::is_directory(dbDir, ec)) {
      problems.push_back(
          fmt::format("storage.database: directory {} does not exist", dbDir.string()));
    }
    const fs::file_status db = fs::symlink_status(c.storage.database, ec);
    if (fs::is_directory(db)) {
      problems.push_back(fmt::format("storage.database: {} is a directory, not a database file",
                                     c.storage.database.string()));
    } else if (auto files = store::Database::checkFiles(c.storage.database); !files) {
      // Whose file it is, its mode, its -wal/-shm/-journal: as the daemon will open it.
      problems.push_back(fmt::format("storage.database: {}", files.error().message));
    }
  }
  auto modelDir = modelDirFor(c, modelFlag);
  if (!modelDir) {
    problems.push_back(modelDir.error().message);
  } else {
    for (const auto file : {face::kRecognitionModel, face::kLandmarkModel}) {
      if (auto ok = face::verifiedModelPath(*modelDir, file); !ok) {
        problems.push_back(ok.error().message);
      }
    }
  }
  return problems;
}

Result<config::Config> readConfig(const std::optional<fs::path>& path) {
  if (path) {
    return config::loadConfig(*path);
  }
  std::error_code ec;
  if (fs::exists(kDefaultConfig, ec)) {
    return config::loadConfig(fs::path(kDefaultConfig));
  }
  return config::defaults();
}

int runDaemon(const std::optional<fs::path>& configPath, config::Config cfg,
              const std::optional<fs::path>& modelFlag) {
  configureLogging(toDestination(cfg.logging.target), toSpdlog(cfg.logging.level));
  auto log = logger("facegated");
  const bool demo = isDemo(cfg);
  log->info("facegated {} starting ({}){}", build::kVersion,
            configPath ? configPath->string() : std::string("embedded defaults"),
            demo ? ": demo scenario, no camera" : "");

  for (const auto& warning : cfg.warnings) {
    log->warn("configuration: {}", warning);
  }
  auto modelDir = modelDirFor(cfg, modelFlag);
  if (!modelDir) {
    throw std::runtime_error(modelDir.error().message);
  }
  face::EngineOptions engineOptions;
  engineOptions.detectMaxSide = cfg.face.detectMaxSide;
  engineOptions.upsampleWhenNoFace = false;  // at the gate a face too small is too far away
  auto engine = face::FaceEngine::load(*modelDir, engineOptions);
  if (!engine) {
    throw std::runtime_error(engine.error().message);
  }

  std::unique_ptr<gate::DemoWorld> world;
  std::optional<store::Database> ownDatabase;
  badge::PublicKey publicKey{};
  std::optional<badge::TemplateKey> templateKey;
  std::unique_ptr<camera::FrameSource> source;
  if (demo) {
    auto faces = gate::findDemoFaces();
    if (!faces) {
      throw std::runtime_error(faces.error().message);
    }
    auto built = gate::DemoWorld::create(**engine, *faces);
    if (!built) {
      throw std::runtime_error("building the demo: " + built.error().message);
    }
    world = std::move(*built);
    publicKey = world->publicKey();
    source = world->takeSource();
  } else {
    auto key = badge::loadPublicKey(cfg.badge.publicKey);
    if (!key) {
      throw std::runtime_error(key.error().message);
    }
    publicKey = *key;
    if (!cfg.badge.templateKey.empty()) {
      auto tk = badge::TemplateKey::load(cfg.badge.templateKey);
      if (!tk) {
        throw std::runtime_error(tk.error().message);
      }
      templateKey.emplace(std::move(*tk));
    }
    auto db = store::Database::open(cfg.storage.database);
    if (!db) {
      throw std::runtime_error(db.error().message);
    }
    ownDatabase.emplace(std::move(*db));
    constexpr std::string_view kImages = "images:";
    if (std::string_view(cfg.camera.source).starts_with(kImages)) {
      camera::ImageSequenceSettings images;
      images.directory = cfg.camera.source.substr(kImages.size());
      images.fps = cfg.camera.fps;
      images.loop = true;
      source = std::make_unique<camera::ImageSequenceSource>(images);
    } else {
      camera::CaptureSettings capture;
      capture.source = cfg.camera.source;
      capture.width = cfg.camera.width;
      capture.height = cfg.camera.height;
      capture.fps = cfg.camera.fps;
      capture.readTimeout = std::chrono::milliseconds(cfg.camera.stallTimeoutMs);
      source = std::make_unique<camera::OpenCvSource>(capture);
    }
  }
  store::Database& database = demo ? world->database() : *ownDatabase;
  // Everything this connection does runs in the frame loop (the badge check's reads, the
  // audit records, the daily purge): a lock another program holds must not stall it for
  // SQLite's default 5 s. (The gate's own records wait kRecordLockWait, or nothing while out
  // of service.)
  database.setBusyTimeout(gate::kRecordLockWait);

  std::unique_ptr<signal::Signaller> signaller;
  if (cfg.gpio.backend == config::GpioBackend::Gpiod) {
    signal::GpioSettings gpio;
    gpio.chip = cfg.gpio.chip;
    gpio.buzzerLine = cfg.gpio.buzzerLine;
    gpio.greenLine = cfg.gpio.greenLine;
    gpio.redLine = cfg.gpio.redLine;
    gpio.ackButtonLine = cfg.gpio.ackButtonLine;
    gpio.activeLow = cfg.gpio.activeLow;
    auto opened = signal::GpiodSignaller::open(gpio);
    if (!opened) {
      throw std::runtime_error(opened.error().message);
    }
    signaller = std::move(*opened);
  } else {
    signaller = std::make_unique<signal::LoggingSignaller>([](const signal::SignalEvent& e) {
      if (e.kind == signal::SignalEvent::Kind::Silence) {
        return;
      }
      logger("signal")->info(
          "{} {} {}", e.kind == signal::SignalEvent::Kind::PlayRepeating ? "repeating" : "pattern",
          e.pattern, fmt::join(e.onOffMs, "/"));
    });
  }

  // Every committed head of the audit log goes to the journal, which the database's writer
  // cannot rewrite: `facegate audit verify` compares (audit/witness.hpp). Not for the demo,
  // whose database is a temporary file.
  audit::JournalWitness witness;
  audit::HeadWitness* const headWitness = demo ? nullptr : &witness;
  enrolment::Registry registry(database, cfg.gate.id, headWitness);
  // The school's storage mode decides which volunteer badges this gate accepts (the demo
  // shows both).
  std::optional<badge::BadgeKind> volunteerKind;
  if (!demo) {
    volunteerKind.emplace(cfg.storage.mode == config::StorageMode::OnBadge
                              ? badge::BadgeKind::OnBadge
                              : badge::BadgeKind::Sealed);
  }
  gate::BadgeChecker checker(registry, publicKey,
                             demo ? &world->templateKey() : (templateKey ? &*templateKey : nullptr),
                             volunteerKind);
  audit::AuditLog auditLog(database, headWitness);
  gate::SystemWallClock wall;
  gate::SystemdNotifier notifier;
  gate::Gate gate(gate::gateSettingsFrom(cfg), **engine, checker, *signaller, auditLog, wall,
                  notifier);

  std::size_t reported = 0;
  std::size_t asExpected = 0;
  if (demo) {
    gate.onReport = [&](const gate::PassageReport& r) {
      const auto& passages = world->passages();
      const bool known = reported < passages.size();
      const bool ok = known && passages[reported].expected == r.decision.outcome;
      asExpected += ok ? 1 : 0;
      fmt::print("passage {}: {:<14}{:<18} {}{}\n", reported + 1,
                 gate::toString(r.decision.outcome),
                 r.decision.distance ? fmt::format(" distance {:.3f}", *r.decision.distance)
                                     : std::string(),
                 known ? passages[reported].who : std::string("(unscripted)"),
                 ok ? ""
                    : fmt::format("  <-- expected {}",
                                  known ? gate::toString(passages[reported].expected) : "nothing"));
      (void)std::fflush(stdout);
      ++reported;
    };
  }

  // READY only once the models are loaded and the camera is open. Until the camera opens
  // the gate is out of service: the pattern plays and the status line says why.
  camera::Backoff openBackoff(std::chrono::milliseconds(cfg.camera.reconnectMinMs),
                              std::chrono::milliseconds(cfg.camera.reconnectMaxMs));
  bool waited = false;
  for (;;) {
    auto opened = source->open();
    if (opened) {
      break;
    }
    if (!waited) {
      waited = true;
      log->warn("camera {} not available: {}; out of service, retrying", source->describe(),
                opened.error().message);
      const auto found = cfg.gpio.patterns.find("out_of_service");
      if (found != cfg.gpio.patterns.end()) {
        (void)signaller->playRepeating({"out_of_service", found->second.onOffMs},
                                       signal::Light::Red);
      }
    }
    notifier.status(fmt::format("out of service: camera {} not available: {}", source->describe(),
                                opened.error().message));
    const auto until = std::chrono::steady_clock::now() + openBackoff.next();
    while (std::chrono::steady_clock::now() < until && !gStop.load()) {
      notifier.watchdog();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (gStop.load()) {
      signaller->silence();
      notifier.stopping();
      log->info("stopping before the camera opened");
      return 0;
    }
  }
  if (waited) {
    signaller->silence();
    log->info("camera {} open", source->describe());
  }
  notifier.ready(fmt::format("ready: {}", source->describe()));
  log->info("ready: camera {}, gate {}", source->describe(), cfg.gate.id);

  gate::FrameLoop loop(*source, gate, notifier, loopSettings(cfg, demo));
  // Retention: once at start and then daily, audit records older than audit.retention_days
  // are deleted (the chain stays verifiable from its new anchor).
  std::int64_t lastPurge = 0;
  const auto purgeIfDue = [&] {
    const std::int64_t now = wall.unixNow();
    if (now - lastPurge < 86'400) {
      return;
    }
    lastPurge = now;
    auto purged = auditLog.purge(cfg.audit.retentionDays, now, cfg.gate.id);
    if (!purged) {
      log->error("audit retention purge failed: {}", purged.error().message);
      return;
    }
    if (purged->removed > 0) {
      log->info("audit retention: {} record(s) older than {} days removed{}", purged->removed,
                cfg.audit.retentionDays,
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
  };
  const auto reload = [&] {
    if (!gReload.exchange(false)) {
      return;
    }
    notifier.reloading();
    auto fresh = readConfig(configPath);
    if (!fresh) {
      log->error("configuration reload refused, keeping the running one: {}",
                 fresh.error().message);
    } else {
      for (const auto& warning : fresh->warnings) {
        log->warn("configuration: {}", warning);
      }
      gate.reconfigure(gate::gateSettingsFrom(*fresh));
      loop.reconfigure(loopSettings(*fresh, demo));
      configureLogging(toDestination(fresh->logging.target), toSpdlog(fresh->logging.level));
      log->info("configuration reloaded (camera, storage and key changes need a restart)");
      cfg = std::move(*fresh);
    }
    notifier.status(gate.lastStatus().empty() ? "ready" : gate.lastStatus());
  };
  const auto result = loop.run(gStop, [&] {
    reload();
    purgeIfDue();
  });
  signaller->silence();
  notifier.stopping();
  source->close();
  log->info("stopping: {} frames, {} passages, {} camera outages", result.frames, result.passages,
            result.outages);
  if (demo) {
    const std::size_t expected = world->passages().size();
    const bool allAsExpected = reported == expected && asExpected == expected;
    fmt::print("demo: {} of {} passages decided as expected, from {} frames{}\n", asExpected,
               expected, result.frames, allAsExpected ? "" : " -- FAILED");
    return allAsExpected ? 0 : 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (!facegate::hardenProcess()) {
    (void)std::fprintf(stderr, "facegated: warning: could not disable core dumps\n");
  }
  umask(077);
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
  const auto commandLine = facegate::daemon::parseDaemonCommandLine(argc, argv);
  if (commandLine.exitNow) {
    return *commandLine.exitNow;
  }
  const std::optional<fs::path>& configPath = commandLine.options.configPath;
  const std::optional<fs::path>& modelFlag = commandLine.options.modelDir;
  const bool checkOnly = commandLine.options.checkOnly;
  auto cfg = readConfig(configPath);
  if (!cfg) {
    fmt::print(stderr, "facegated: configuration refused:\n{}\n", cfg.error().message);
    return 1;
  }
  if (checkOnly) {
    for (const auto& w : cfg->warnings) {
      fmt::print(stderr, "facegated: warning: {}\n", w);
    }
    const auto problems = checkFiles(*cfg, modelFlag);
    for (const auto& p : problems) {
      fmt::print(stderr, "facegated: {}\n", p);
    }
    if (problems.empty()) {
      fmt::print("facegated: configuration {} is usable\n",
                 configPath ? configPath->string() : std::string("(embedded defaults)"));
    }
    return problems.empty() ? 0 : 1;
  }
  installSignalHandlers();
  try {
    return runDaemon(configPath, std::move(*cfg), modelFlag);
  } catch (const std::exception& e) {
    fmt::print(stderr, "facegated: cannot start: {}.\n", e.what());
    facegate::logger("facegated")->critical("cannot start: {}", e.what());
    return 1;
  }
}
