// The enrolment desk's commands: enroll, list, revoke, erase, purge, audit.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "common.hpp"
#include "facegate/app/lookup.hpp"
#include "facegate/audit/audit_log.hpp"
#include "facegate/badge/keys.hpp"
#include "facegate/badge/payload.hpp"
#include "facegate/badge/qr.hpp"
#include "facegate/cli/command_line.hpp"
#include "facegate/config/config.hpp"
#include "facegate/core/output_file.hpp"
#include "facegate/core/secure_memory.hpp"
#include "facegate/core/terminal_text.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/enrolment/template_builder.hpp"
#include "facegate/face/engine.hpp"

namespace facegate::cli {
namespace {

struct EnrollOptions {
  std::string db;
  std::string pupil;
  std::vector<std::string> photos;
  std::string consent;
  std::optional<std::string> guardianConsent;
  bool adult = false;
  std::optional<std::string> dateOfBirth;
  std::optional<std::string> name;
  std::string key;
  std::string badgeOut;
  std::string mode = "sealed";
  std::optional<std::string> templateKey;
  std::int64_t validDays = 365;
  bool replace = false;
  std::optional<std::filesystem::path> modelDir;
  bool printPayload = false;
  std::optional<std::string> configFile;
};

// Minor status from a date of birth, without keeping the date.
Result<bool> minorFromBirthDate(std::string_view text, std::int64_t now) {
  int y = 0;
  int m = 0;
  int d = 0;
  char extra = 0;
  const std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || y < 1900 || m < 1 ||
      m > 12 || d < 1 || d > 31) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("--date-of-birth expects YYYY-MM-DD, got '{}'", text));
  }
  const std::time_t t = now;
  std::tm today{};
  gmtime_r(&t, &today);
  int age = today.tm_year + 1900 - y;
  if (today.tm_mon + 1 < m || (today.tm_mon + 1 == m && today.tm_mday < d)) {
    --age;
  }
  if (age < 0) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("--date-of-birth {} is in the future", text));
  }
  return age < 18;
}

int runEnroll(const EnrollOptions& options) {
  const std::string_view cmd = "enroll";
  const std::int64_t now = unixNow();
  enrolment::EnrolmentRequest request;
  request.now = now;
  request.pupilId = options.pupil;
  request.consentRef = options.consent;
  request.guardianConsentRef = options.guardianConsent;
  request.displayName = options.name;
  request.replace = options.replace;
  request.minor = !options.adult;
  if (const auto& dob = options.dateOfBirth) {
    auto minor = minorFromBirthDate(*dob, now);
    if (!minor) {
      return reportError(cmd, minor.error());
    }
    request.minor = *minor;
  }
  // sealed or on-badge: the parser checked
  request.mode = badge::parseBadgeKind(options.mode).value_or(request.mode);
  request.validDays = options.validDays;
  const std::vector<std::string>& photos = options.photos;
  if (photos.size() > 10) {
    return reportError(cmd, "at most 10 photos can make one template");
  }
  // Refuse early what the registry would refuse, before any photo is processed.
  if (!enrolment::isValidPupilId(request.pupilId)) {
    // Not echoed: it may hold control characters meant for the terminal.
    return reportError(cmd, "--pupil is not 1 to 32 of A-Z a-z 0-9 . _ -");
  }
  if (request.minor && !request.guardianConsentRef) {
    return reportError(cmd, fmt::format("pupil {} is a minor: --guardian-consent is required "
                                        "(or --adult / --date-of-birth if they are not)",
                                        request.pupilId));
  }
  std::optional<badge::TemplateKey> templateKey;
  if (request.mode == badge::BadgeKind::OnBadge) {
    if (!options.templateKey) {
      return reportError(cmd,
                         "on-badge mode needs --template-key (made by facegate keygen "
                         "--with-template-key)");
    }
    auto key = badge::TemplateKey::load(*options.templateKey);
    if (!key) {
      return reportError(cmd, key.error());
    }
    templateKey.emplace(std::move(*key));
  }
  auto signingKey = badge::SigningKey::load(options.key);
  if (!signingKey) {
    return reportError(cmd, signingKey.error());
  }
  const std::filesystem::path badgeOut = options.badgeOut;
  if (auto png = badge::checkPngName(badgeOut); !png) {
    return reportError(cmd, png.error());
  }
  // The badge file is taken now, before the photos are processed: nobody can put a file or
  // a link there meanwhile, and any failure from here on removes it again.
  auto badgeFile = OutputFile::reserve(badgeOut);
  if (!badgeFile) {
    return reportError(cmd, outputFileError(badgeFile.error(), kBadgeNeverOverwritten));
  }
  auto db = openDatabase(options.db, true);
  if (!db) {
    return reportError(cmd, db.error());
  }

  // The gate's configuration, when given, names the threshold the photos must agree to and
  // where the models are (face.models_dir, after --models): the daemon's own lookup.
  config::Config gateConfig = config::defaults();
  if (const auto& path = options.configFile) {
    auto loaded = config::loadConfig(*path);
    if (!loaded) {
      return reportError(cmd, loaded.error());
    }
    gateConfig = std::move(*loaded);
  }
  auto modelDir = app::modelDirFor(gateConfig, options.modelDir);
  if (!modelDir) {
    return reportError(cmd, modelDir.error());
  }
  auto engine = face::FaceEngine::load(*modelDir);
  if (!engine) {
    return reportError(cmd, engine.error());
  }
  // One template builder for every template facegate makes: each photo checked, then the
  // photos against each other (bounds derived from the gate's threshold), then their mean.
  enrolment::TemplateSettings settings;
  settings.gateThreshold = gateConfig.face.threshold;
  auto builder = enrolment::TemplateBuilder::create(**engine, settings);
  if (!builder) {
    return reportError(cmd, builder.error());
  }
  for (const auto& photo : photos) {
    builder->addFile(photo);
  }
  auto templ = builder->build();
  if (!templ) {
    const int exit = reportError(cmd, templ.error());
    for (const auto& report : builder->photos()) {  // the other photos to retake
      if (report.problem != enrolment::PhotoProblem::None &&
          report.reason != templ.error().message) {
        fmt::print(stderr, "facegate {}: also: {}.\n", cmd, report.reason);
      }
    }
    return exit;
  }

  // The badge is written inside the enrolment's transaction: if it cannot be, nothing is
  // recorded; if the commit fails after it was written, badgeFile removes it.
  std::string payload;
  bool badgeWriteFailed = false;
  const auto writeBadge = [&](const badge::Badge& issued) -> Result<void> {
    auto encoded = badge::encodeBadge(issued, *signingKey);
    if (!encoded) {
      return tl::unexpected(encoded.error());
    }
    payload = std::move(*encoded);
    auto written = writeBadgePng(payload, *badgeFile);
    badgeWriteFailed = !written;
    return written;
  };
  audit::JournalWitness witness;
  enrolment::Registry registry(*db, deskActor(), &witness);
  auto issued = registry.enrol(request, *templ, templateKey ? &*templateKey : nullptr, writeBadge);
  if (!issued) {
    secureWipe(payload.data(), payload.size());
    if (badgeWriteFailed) {
      return reportError(cmd, fmt::format("{}, so nothing was enrolled: fix that and enrol again",
                                          issued.error().message));
    }
    return reportError(cmd, issued.error());
  }
  if (auto published = badgeFile->publish(); !published) {
    return reportError(cmd, published.error());
  }
  fmt::print("enrolled {} ({}, {}{}): badge {} valid until {}, written to {}\n", request.pupilId,
             badge::toString(request.mode), request.minor ? "minor" : "adult",
             photos.size() > 1 ? fmt::format(", template from {} photos", photos.size()) : "",
             formatSerial(issued->serial), formatDate(issued->expiresAt), badgeOut.string());
  if (options.printPayload) {
    fmt::print("{}\n", payload);
  }
  secureWipe(payload.data(), payload.size());
  return kExitOk;
}

int runList(const std::string& dbPath) {
  const std::string_view cmd = "list";
  auto db = openDatabase(dbPath, false);
  if (!db) {
    return reportError(cmd, db.error());
  }
  audit::JournalWitness witness;
  enrolment::Registry registry(*db, deskActor(), &witness);
  auto pupils = registry.list();
  if (!pupils) {
    return reportError(cmd, pupils.error());
  }
  const std::int64_t now = unixNow();
  fmt::print("{:<16} {:<6} {:<22} {:<16} {:<9} {:<10} {}\n", "PUPIL", "MINOR", "FACE CHECK",
             "BADGE", "KIND", "EXPIRES", "STATE");
  // Every text read from the database is printed through terminalSafe(): a row written by
  // something other than facegate must not drive the terminal.
  for (const auto& p : *pupils) {
    const std::string pupil = terminalSafe(p.pupilId);
    const std::string faceCheck =
        p.enrolled
            ? fmt::format("yes ({}, {})", p.storageMode ? badge::toString(*p.storageMode) : "?",
                          formatDate(p.consentedAt.value_or(0)))
            : "no (paper pass)";
    if (p.badges.empty()) {
      fmt::print("{:<16} {:<6} {:<22} -\n", pupil, p.minor ? "yes" : "no", faceCheck);
    }
    for (const auto& b : p.badges) {
      const std::string state = b.revokedAt          ? "revoked " + formatDate(*b.revokedAt)
                                : b.expiresAt <= now ? std::string("expired")
                                                     : std::string("valid");
      fmt::print("{:<16} {:<6} {:<22} {:<16} {:<9} {:<10} {}\n", pupil, p.minor ? "yes" : "no",
                 faceCheck, formatSerial(b.serial), badge::toString(b.kind),
                 formatDate(b.expiresAt), state);
    }
  }
  fmt::print("{} pupil(s)\n", pupils->size());
  return kExitOk;
}

struct RevokeOptions {
  std::string db;
  std::string badge;
};

int runRevoke(const RevokeOptions& options) {
  const std::string_view cmd = "revoke";
  auto serial = parseSerial(options.badge);
  if (!serial) {
    return reportError(cmd, serial.error());
  }
  auto db = openDatabase(options.db, false);
  if (!db) {
    return reportError(cmd, db.error());
  }
  audit::JournalWitness witness;
  enrolment::Registry registry(*db, deskActor(), &witness);
  if (auto r = registry.revokeBadge(*serial, unixNow()); !r) {
    return reportError(cmd, r.error());
  }
  fmt::print("badge {} revoked\n", formatSerial(*serial));
  return kExitOk;
}

struct EraseOptions {
  std::string db;
  std::string pupil;
};

int runErase(const EraseOptions& options) {
  const std::string_view cmd = "erase";
  // Not echoed: it may hold control characters meant for the terminal.
  if (!enrolment::isValidPupilId(options.pupil)) {
    return reportError(cmd, "--pupil is not 1 to 32 of A-Z a-z 0-9 . _ -");
  }
  auto db = openDatabase(options.db, false);
  if (!db) {
    return reportError(cmd, db.error());
  }
  audit::JournalWitness witness;
  enrolment::Registry registry(*db, deskActor(), &witness);
  if (auto r = registry.erasePupil(options.pupil, unixNow()); !r) {
    return reportError(cmd, r.error());
  }
  fmt::print("pupil {} erased\n", options.pupil);
  return kExitOk;
}

// Records dated in the future: the school must hear about its clock.
void printFutureDated(const audit::FutureDated& future) {
  if (future.count > 0) {
    fmt::print(
        "warning: {} audit record(s) are dated in the future (the latest {}): the clock "
        "was wrong when they were written; check the gate's time source (NTP)\n",
        future.count, audit::formatTime(future.latest));
  }
}

// The second half of `audit verify`: the log against the heads the journal saw.
int checkAgainstJournal(std::string_view cmd, audit::AuditLog& log, const store::Database& db,
                        const std::optional<std::string>& journalDir) {
  auto id = log.logId();
  if (!id) {
    return reportError(cmd, id.error());
  }
  // The database's owner is the only one who writes to it, so its heads come from that uid.
  struct stat st {};
  if (::stat(db.path().c_str(), &st) != 0) {
    return reportError(cmd, fmt::format("cannot read the owner of {}: {}",
                                        terminalSafe(db.path().string()), std::strerror(errno)));
  }
  auto seen = audit::readJournalHeads(
      *id, db.path().string(), st.st_uid,
      journalDir ? std::optional<std::filesystem::path>(*journalDir) : std::nullopt);
  if (!seen) {
    return reportError(cmd, seen.error());
  }
  auto report = log.checkWitnessed(seen->heads, seen->others);
  if (!report) {
    return reportError(cmd, report.error());
  }
  if (!report->consistent) {
    fmt::print("audit log BROKEN: {}\n", report->problem);
    return kExitNegative;
  }
  if (seen->foreign > 0) {
    fmt::print(
        "warning: the journal holds {} entr{} for this log or this database sent by "
        "another user (uid {}), not by its owner: ignored; someone on this machine tried "
        "to forge the log's heads\n",
        seen->foreign, seen->foreign == 1 ? "y" : "ies",
        seen->foreignUid ? std::to_string(*seen->foreignUid) : std::string("unknown"));
  }
  if (report->otherLogs > 0) {
    fmt::print(
        "warning: the journal also holds the heads of another audit log written to {} "
        "(the latest on {}): this database file was replaced since; if nobody at the "
        "school did that, treat it as tampering\n",
        terminalSafe(db.path().string()), audit::formatTime(report->otherLatestAt));
  }
  if (report->latestSeq == 0) {
    fmt::print(
        "journal: no head of this log found{}: the end of the log could not be checked "
        "against it\n",
        !seen->access.empty() ? " (" + seen->access + ")"
        : journalDir          ? " in " + terminalSafe(*journalDir)
                              : " (no journald on this machine, or another machine's "
                                "database)");
    return kExitOk;
  }
  fmt::print(
      "journal: {} head(s) of this log checked ({} older than the retention), the latest "
      "record {} seen on {}\n",
      report->checked + report->purged, report->purged, report->latestSeq,
      audit::formatTime(report->latestSeenAt));
  return kExitOk;
}

struct PurgeOptions {
  std::string db;
  std::optional<std::string> configFile;
  std::optional<std::int64_t> retentionDays;
};

int runPurge(const PurgeOptions& options) {
  const std::string_view cmd = "purge";
  std::int64_t days = 0;
  if (options.retentionDays) {
    days = *options.retentionDays;
  } else if (const auto& path = options.configFile) {
    auto config = config::loadConfig(*path);
    if (!config) {
      return reportError(cmd, config.error());
    }
    days = config->audit.retentionDays;
  } else {
    return reportError(cmd, "--config or --retention-days is required");
  }
  auto db = openDatabase(options.db, false);
  if (!db) {
    return reportError(cmd, db.error());
  }
  audit::JournalWitness witness;
  audit::AuditLog log(*db, &witness);
  const std::int64_t now = unixNow();
  auto purged = log.purge(static_cast<int>(days), now, deskActor());
  if (!purged) {
    return reportError(cmd, purged.error());
  }
  (void)db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  fmt::print("{} audit record(s) older than {} days removed{}\n", purged->removed, days,
             purged->removedFutureDated > 0
                 ? fmt::format(" ({} of them dated in the future)", purged->removedFutureDated)
                 : std::string());
  printFutureDated(purged->remainingFutureDated);
  return kExitOk;
}

struct AuditOptions {
  std::string db;
  std::optional<std::string> journalDir;  // verify
  std::int64_t last = 20;                 // show
};

int runAudit(const AuditOptions& options, bool show) {
  const std::string_view cmd = show ? "audit show" : "audit verify";
  auto db = openDatabase(options.db, false);
  if (!db) {
    return reportError(cmd, db.error());
  }
  audit::AuditLog log(*db);
  if (!show) {
    auto report = log.verify();
    if (!report) {
      return reportError(cmd, report.error());
    }
    if (!report->intact) {
      fmt::print("audit log BROKEN at record {}: {}\n", report->firstBadSeq,
                 terminalSafe(report->problem));
      return kExitNegative;
    }
    fmt::print("audit log intact: {} record(s) checked{}; head record {} hash {}\n",
               report->records,
               report->anchorSeq > 0
                   ? fmt::format(" (records up to {} removed by retention: purge record {}, "
                                 "retention {} days)",
                                 report->anchorSeq, report->anchorSetBy, report->retentionDays)
                   : std::string(),
               report->headSeq, audit::toHex(report->headHash));
    if (auto future = log.futureDated(unixNow()); future) {
      printFutureDated(*future);
    }
    return checkAgainstJournal(cmd, log, *db, options.journalDir);
  }
  const std::int64_t last = options.last;
  auto report = log.verify();
  if (!report) {
    return reportError(cmd, report.error());
  }
  auto records = log.records(std::max<std::int64_t>(0, report->headSeq - last), last);
  if (!records) {
    return reportError(cmd, records.error());
  }
  for (const auto& r : *records) {
    const auto& e = r.event;
    // Every field through terminalSafe(): a record can never drive the terminal.
    fmt::print("{:>6} {} {:<14} {:<12} {:<26} {:<16} {:<13} {} {}\n", r.seq, formatDate(e.at),
               terminalSafe(e.actor), terminalSafe(e.action), terminalSafe(e.subject.value_or("-")),
               e.badgeRef ? formatSerial(*e.badgeRef) : "-", terminalSafe(e.outcome.value_or("-")),
               e.distance ? fmt::format("d={:.3f}", *e.distance) : "", terminalSafe(e.detail));
  }
  return kExitOk;
}

}  // namespace

void addEnroll(CLI::App& app, Commands& commands) {
  auto options = std::make_shared<EnrollOptions>();
  CLI::App& command = addCommand(
      app, "enroll", "enrol a volunteer and write their badge",
      "Enrols a volunteer: one template from the photos (each must show exactly one sharp,\n"
      "opaque face, at least 100 px wide and not enlarged, and all of them the same person),\n"
      "consent recorded, a signed badge written as a PNG QR code.\n"
      "Pupils are minors unless --adult or a date of birth says otherwise; a minor needs\n"
      "--guardian-consent. Photos are read in memory only, never copied or stored.\n"
      "The badge PNG (mode 0600) holds the secret that opens the template: print it, hand it\n"
      "to the pupil, then delete the file.\n"
      "The photos must agree with each other more closely than the gate's threshold requires\n"
      "(face.threshold of --config, else the default 0.44).");
  command.group(kDeskGroup);
  command.add_option("--db", options->db, "the enrolment database (created if absent)")
      ->type_name("FILE")
      ->required()
      ->check(nonEmpty());
  command.add_option("--pupil", options->pupil, "the pupil's id: 1 to 32 of A-Z a-z 0-9 . _ -")
      ->type_name("ID")
      ->required()
      ->check(nonEmpty());
  command.add_option("--photo", options->photos, "a photo of the pupil (repeatable, up to 10)")
      ->type_name("FILE")
      ->required()
      ->allow_extra_args(false);
  command.add_option("--consent", options->consent, "the reference of the signed consent form")
      ->type_name("REF")
      ->required()
      ->check(nonEmpty());
  command
      .add_option("--guardian-consent", options->guardianConsent,
                  "the reference of a guardian's consent (required for a minor)")
      ->type_name("REF");
  CLI::Option* adult = command.add_flag("--adult", options->adult, "the pupil is not a minor");
  command
      .add_option("--date-of-birth", options->dateOfBirth,
                  "tells whether the pupil is a minor (the date itself is not kept)")
      ->type_name("YYYY-MM-DD")
      ->excludes(adult);
  command.add_option("--name", options->name, "a display name for the list")->type_name("NAME");
  command.add_option("--key", options->key, "the school's private signing key")
      ->type_name("SIGNING_KEY")
      ->required()
      ->check(nonEmpty());
  command.add_option("--badge-out", options->badgeOut, "the badge's PNG, a new file (0600)")
      ->type_name("BADGE.png")
      ->required()
      ->check(nonEmpty());
  command.add_option("--mode", options->mode, "where the template is kept")
      ->type_name("MODE")
      ->check(oneOf({"sealed", "on-badge"}))
      ->capture_default_str();
  command
      .add_option("--template-key", options->templateKey,
                  "the key of templates carried in badges (needed for --mode on-badge)")
      ->type_name("FILE")
      ->check(nonEmpty());
  checkWholeNumber(
      command.add_option("--valid-days", options->validDays, "days the badge is valid")
          ->type_name("N"),
      1, 3660);
  command.add_flag("--replace", options->replace,
                   "replace the pupil's enrolment (their old badge is revoked)");
  command
      .add_option("--models", options->modelDir,
                  "directory holding the dlib models (default: installed, then models/)")
      ->type_name("DIR");
  command.add_flag("--print-payload", options->printPayload,
                   "also print the badge's payload (it holds the badge's secret)");
  command
      .add_option("--config", options->configFile,
                  "the gate's configuration, whose face.threshold the photos must agree to")
      ->type_name("GATE.toml");
  commands.push_back({&command, [options] { return runEnroll(*options); }});
}

void addList(CLI::App& app, Commands& commands) {
  auto db = std::make_shared<std::string>();
  CLI::App& command =
      addCommand(app, "list", "pupils, consent and badges",
                 "Pupils, whether they volunteered (consent on record, storage mode) and their "
                 "badges.");
  command.group(kDeskGroup);
  command.add_option("--db", *db, "the enrolment database")
      ->type_name("FILE")
      ->required()
      ->check(nonEmpty());
  commands.push_back({&command, [db] { return runList(*db); }});
}

void addRevoke(CLI::App& app, Commands& commands) {
  auto options = std::make_shared<RevokeOptions>();
  CLI::App& command = addCommand(
      app, "revoke", "revoke a lost badge",
      "A lost or stolen badge: the gate rejects it from now on and its sealed template is\n"
      "deleted. Enrol the pupil again (--replace) to give them a new badge.");
  command.group(kDeskGroup);
  command.add_option("--db", options->db, "the enrolment database")
      ->type_name("FILE")
      ->required()
      ->check(nonEmpty());
  command
      .add_option("--badge", options->badge,
                  "the badge's serial, 16 hex digits as `facegate list` shows")
      ->type_name("SERIAL")
      ->required();
  commands.push_back({&command, [options] { return runRevoke(*options); }});
}

void addErase(CLI::App& app, Commands& commands) {
  auto options = std::make_shared<EraseOptions>();
  CLI::App& command = addCommand(
      app, "erase", "erase a pupil (withdrawal of consent)",
      "Withdrawal of consent: the pupil's record, consent, badges and templates are deleted\n"
      "at once (overwritten on disk). The audit log keeps an anonymous tombstone.");
  command.group(kDeskGroup);
  command.add_option("--db", options->db, "the enrolment database")
      ->type_name("FILE")
      ->required()
      ->check(nonEmpty());
  command.add_option("--pupil", options->pupil, "the pupil's id")
      ->type_name("ID")
      ->required()
      ->check(nonEmpty());
  commands.push_back({&command, [options] { return runErase(*options); }});
}

void addPurge(CLI::App& app, Commands& commands) {
  auto options = std::make_shared<PurgeOptions>();
  CLI::App& command = addCommand(
      app, "purge", "delete audit records past the retention",
      "Deletes audit records older than the retention: audit.retention_days of --config, or\n"
      "--retention-days (one of the two is required).");
  command.group(kDeskGroup);
  command.add_option("--db", options->db, "the enrolment database")
      ->type_name("FILE")
      ->required()
      ->check(nonEmpty());
  CLI::Option* config =
      command.add_option("--config", options->configFile, "the gate's configuration")
          ->type_name("FILE");
  checkWholeNumber(
      command.add_option("--retention-days", options->retentionDays, "the retention, in days")
          ->type_name("N"),
      1, 3650)
      ->excludes(config);
  commands.push_back({&command, [options] { return runPurge(*options); }});
}

void addAudit(CLI::App& app, Commands& commands) {
  CLI::App& audit = addCommand(app, "audit", "check or show the hash-chained audit log");
  audit.group(kDeskGroup);

  auto verify = std::make_shared<AuditOptions>();
  CLI::App& verifyCommand = addCommand(
      audit, "verify", "check the audit log's hash chain and the journal's record of it",
      "Checks the hash chain and that every record removed was removed by a retention purge,\n"
      "then compares the log with the heads the gate and the desk wrote to the systemd\n"
      "journal (or to the journal files in DIR, a copy), which catches a log cut at its end or\n"
      "rewritten as a whole. Exit 1 if anything is wrong, with the first problem found.");
  verifyCommand.add_option("--db", verify->db, "the enrolment or gate database")
      ->type_name("FILE")
      ->required()
      ->check(nonEmpty());
  verifyCommand
      .add_option("--journal", verify->journalDir,
                  "read the journal files in DIR instead of the system's journal")
      ->type_name("DIR");
  commands.push_back({&verifyCommand, [verify] { return runAudit(*verify, false); }});

  auto show = std::make_shared<AuditOptions>();
  CLI::App& showCommand = addCommand(audit, "show", "print the last records of the audit log");
  showCommand.add_option("--db", show->db, "the enrolment or gate database")
      ->type_name("FILE")
      ->required()
      ->check(nonEmpty());
  checkWholeNumber(showCommand.add_option("--last", show->last, "how many records")->type_name("N"),
                   1, 1'000'000);
  commands.push_back({&showCommand, [show] { return runAudit(*show, true); }});
}

}  // namespace facegate::cli
