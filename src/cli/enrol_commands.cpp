// The enrolment desk's commands: enroll, list, revoke, erase, purge, audit.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "commands.hpp"
#include "common.hpp"
#include "facegate/audit/audit_log.hpp"
#include "facegate/badge/keys.hpp"
#include "facegate/badge/payload.hpp"
#include "facegate/badge/qr.hpp"
#include "facegate/config/config.hpp"
#include "facegate/core/output_file.hpp"
#include "facegate/core/secure_memory.hpp"
#include "facegate/core/terminal_text.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/enrolment/template_builder.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/face/models.hpp"

namespace facegate::cli {
namespace {

constexpr std::string_view kEnrollUsage =
    "usage: facegate enroll --db FILE --pupil ID --photo FILE [--photo FILE...]\n"
    "                       --consent REF [--guardian-consent REF]\n"
    "                       [--adult | --date-of-birth YYYY-MM-DD] [--name NAME]\n"
    "                       --key SIGNING_KEY --badge-out BADGE.png\n"
    "                       [--mode sealed|on-badge] [--template-key FILE]\n"
    "                       [--valid-days N] [--replace] [--models DIR] [--print-payload]\n"
    "                       [--config GATE.toml]\n"
    "  Enrols a volunteer: one template from the photos (each must show exactly one sharp,\n"
    "  opaque face, at least 100 px wide and not enlarged, and all of them the same person),\n"
    "  consent recorded, a signed badge written as a PNG QR code.\n"
    "  Pupils are minors unless --adult or a date of birth says otherwise; a minor needs\n"
    "  --guardian-consent. Photos are read in memory only, never copied or stored.\n"
    "  The badge PNG (mode 0600) holds the secret that opens the template: print it, hand it\n"
    "  to the pupil, then delete the file.\n"
    "  The photos must agree with each other more closely than the gate's threshold requires\n"
    "  (face.threshold of --config, else the default 0.58).\n";

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

}  // namespace

int runEnroll(std::span<const std::string_view> argv) {
  const std::string_view cmd = "enroll";
  Arguments args;
  const Arguments::Spec spec{
      .flags = {"--adult", "--replace", "--print-payload"},
      .valued = {"--db", "--pupil", "--consent", "--guardian-consent", "--date-of-birth", "--name",
                 "--key", "--badge-out", "--mode", "--template-key", "--valid-days", "--models",
                 "--config"},
      .repeatable = {"--photo"},
      .minPositional = 0,
      .maxPositional = 0};
  if (auto exit = parseOrUsage(cmd, argv, spec, kEnrollUsage, args)) {
    return *exit;
  }
  const std::int64_t now = unixNow();
  enrolment::EnrolmentRequest request;
  request.now = now;
  for (const auto* option : {"--pupil", "--consent", "--key", "--badge-out"}) {
    if (auto v = required(args, option); !v) {
      return reportError(cmd, v.error());
    }
  }
  request.pupilId = *args.value("--pupil");
  request.consentRef = *args.value("--consent");
  request.guardianConsentRef = args.value("--guardian-consent");
  request.displayName = args.value("--name");
  request.replace = args.has("--replace");
  if (args.has("--adult") && args.value("--date-of-birth")) {
    return reportError(cmd, "give either --adult or --date-of-birth, not both");
  }
  request.minor = !args.has("--adult");
  if (const auto dob = args.value("--date-of-birth")) {
    auto minor = minorFromBirthDate(*dob, now);
    if (!minor) {
      return reportError(cmd, minor.error());
    }
    request.minor = *minor;
  }
  if (const auto mode = args.value("--mode")) {
    const auto parsed = badge::parseBadgeKind(*mode);
    if (!parsed || !badge::isVolunteerKind(*parsed)) {
      return reportError(cmd, fmt::format("--mode must be sealed or on-badge, got '{}'", *mode));
    }
    request.mode = *parsed;
  }
  if (const auto days = args.value("--valid-days")) {
    auto value = parseWholeNumber("--valid-days", *days, 1, 3660);
    if (!value) {
      return reportError(cmd, value.error());
    }
    request.validDays = *value;
  }
  const auto photos = args.values("--photo");
  if (photos.empty()) {
    return reportError(cmd, "at least one --photo is required");
  }
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
    auto path = required(args, "--template-key");
    if (!path) {
      return reportError(cmd,
                         "on-badge mode needs --template-key (made by facegate keygen "
                         "--with-template-key)");
    }
    auto key = badge::TemplateKey::load(*path);
    if (!key) {
      return reportError(cmd, key.error());
    }
    templateKey.emplace(std::move(*key));
  }
  auto signingKey = badge::SigningKey::load(*args.value("--key"));
  if (!signingKey) {
    return reportError(cmd, signingKey.error());
  }
  const std::filesystem::path badgeOut = *args.value("--badge-out");
  if (auto png = badge::checkPngName(badgeOut); !png) {
    return reportError(cmd, png.error());
  }
  // The badge file is taken now, before the photos are processed: nobody can put a file or
  // a link there meanwhile, and any failure from here on removes it again.
  auto badgeFile = OutputFile::reserve(badgeOut);
  if (!badgeFile) {
    return reportError(cmd, outputFileError(badgeFile.error(), kBadgeNeverOverwritten));
  }
  auto db = openDatabase(args, true);
  if (!db) {
    return reportError(cmd, db.error());
  }

  std::optional<std::filesystem::path> modelFlag;
  if (auto dir = args.value("--models")) {
    modelFlag = *dir;
  }
  auto modelDir = face::findModelDir(modelFlag);
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
  if (const auto path = args.value("--config")) {
    auto config = config::loadConfig(*path);
    if (!config) {
      return reportError(cmd, config.error());
    }
    settings.gateThreshold = config->face.threshold;
  }
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
  if (args.has("--print-payload")) {
    fmt::print("{}\n", payload);
  }
  secureWipe(payload.data(), payload.size());
  return kExitOk;
}

int runList(std::span<const std::string_view> argv) {
  const std::string_view cmd = "list";
  constexpr std::string_view kUsage =
      "usage: facegate list --db FILE\n"
      "  Pupils, whether they volunteered (consent on record, storage mode) and their badges.\n";
  Arguments args;
  if (auto exit = parseOrUsage(cmd, argv, {.valued = {"--db"}}, kUsage, args)) {
    return *exit;
  }
  auto db = openDatabase(args, false);
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

int runRevoke(std::span<const std::string_view> argv) {
  const std::string_view cmd = "revoke";
  constexpr std::string_view kUsage =
      "usage: facegate revoke --db FILE --badge SERIAL\n"
      "  A lost or stolen badge: the gate rejects it from now on and its sealed template is\n"
      "  deleted. Enrol the pupil again (--replace) to give them a new badge.\n";
  Arguments args;
  if (auto exit = parseOrUsage(cmd, argv, {.valued = {"--db", "--badge"}}, kUsage, args)) {
    return *exit;
  }
  auto text = required(args, "--badge");
  if (!text) {
    return reportError(cmd, text.error());
  }
  auto serial = parseSerial(*text);
  if (!serial) {
    return reportError(cmd, serial.error());
  }
  auto db = openDatabase(args, false);
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

int runErase(std::span<const std::string_view> argv) {
  const std::string_view cmd = "erase";
  constexpr std::string_view kUsage =
      "usage: facegate erase --db FILE --pupil ID\n"
      "  Withdrawal of consent: the pupil's record, consent, badges and templates are deleted\n"
      "  at once (overwritten on disk). The audit log keeps an anonymous tombstone.\n";
  Arguments args;
  if (auto exit = parseOrUsage(cmd, argv, {.valued = {"--db", "--pupil"}}, kUsage, args)) {
    return *exit;
  }
  auto pupil = required(args, "--pupil");
  if (!pupil) {
    return reportError(cmd, pupil.error());
  }
  // Not echoed: it may hold control characters meant for the terminal.
  if (!enrolment::isValidPupilId(*pupil)) {
    return reportError(cmd, "--pupil is not 1 to 32 of A-Z a-z 0-9 . _ -");
  }
  auto db = openDatabase(args, false);
  if (!db) {
    return reportError(cmd, db.error());
  }
  audit::JournalWitness witness;
  enrolment::Registry registry(*db, deskActor(), &witness);
  if (auto r = registry.erasePupil(*pupil, unixNow()); !r) {
    return reportError(cmd, r.error());
  }
  fmt::print("pupil {} erased\n", *pupil);
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
                        const std::optional<std::string_view>& journalDir) {
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

int runPurge(std::span<const std::string_view> argv) {
  const std::string_view cmd = "purge";
  constexpr std::string_view kUsage =
      "usage: facegate purge --db FILE (--config FILE | --retention-days N)\n"
      "  Deletes audit records older than the retention (audit.retention_days in the config).\n";
  Arguments args;
  if (auto exit = parseOrUsage(cmd, argv, {.valued = {"--db", "--config", "--retention-days"}},
                               kUsage, args)) {
    return *exit;
  }
  std::int64_t days = 0;
  if (const auto text = args.value("--retention-days")) {
    if (args.value("--config")) {
      return reportError(cmd, "give either --config or --retention-days, not both");
    }
    auto value = parseWholeNumber("--retention-days", *text, 1, 3650);
    if (!value) {
      return reportError(cmd, value.error());
    }
    days = *value;
  } else if (const auto path = args.value("--config")) {
    auto config = config::loadConfig(*path);
    if (!config) {
      return reportError(cmd, config.error());
    }
    days = config->audit.retentionDays;
  } else {
    return reportError(cmd, "--config or --retention-days is required");
  }
  auto db = openDatabase(args, false);
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

int runAudit(std::span<const std::string_view> argv) {
  const std::string_view cmd = "audit";
  constexpr std::string_view kUsage =
      "usage: facegate audit verify --db FILE [--journal DIR]\n"
      "       facegate audit show --db FILE [--last N]\n"
      "  verify: checks the hash chain and that every record removed was removed by a\n"
      "          retention purge, then compares the log with the heads the gate and the desk\n"
      "          wrote to the systemd journal (or to the journal files in DIR, a copy), which\n"
      "          catches a log cut at its end or rewritten as a whole. Exit 1 if anything is\n"
      "          wrong, with the first problem found.\n"
      "  show:   prints the last N records (default 20).\n";
  if (argv.empty() || (argv[0] != "verify" && argv[0] != "show")) {
    if (!argv.empty() && argv[0] == "--help") {
      fmt::print("{}", kUsage);
      return kExitOk;
    }
    reportError(cmd, "expected 'verify' or 'show'");
    fmt::print(stderr, "{}", kUsage);
    return kExitUndecided;
  }
  const bool show = argv[0] == "show";
  Arguments args;
  if (auto exit = parseOrUsage(cmd, argv.subspan(1), {.valued = {"--db", "--last", "--journal"}},
                               kUsage, args)) {
    return *exit;
  }
  if (show && args.value("--journal")) {
    return reportError(cmd, "--journal is an option of 'audit verify'");
  }
  auto db = openDatabase(args, false);
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
    return checkAgainstJournal(cmd, log, *db, args.value("--journal"));
  }
  std::int64_t last = 20;
  if (const auto text = args.value("--last")) {
    auto value = parseWholeNumber("--last", *text, 1, 1'000'000);
    if (!value) {
      return reportError(cmd, value.error());
    }
    last = *value;
  }
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

}  // namespace facegate::cli
