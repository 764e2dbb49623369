// The enrolment desk's commands: enroll, list, revoke, erase, purge, audit.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "commands.hpp"
#include "common.hpp"
#include "facegate/audit/audit_log.hpp"
#include "facegate/badge/keys.hpp"
#include "facegate/badge/payload.hpp"
#include "facegate/badge/qr.hpp"
#include "facegate/config/config.hpp"
#include "facegate/core/secure_memory.hpp"
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
    auto parsed = enrolment::storageModeFromString(*mode);
    if (!parsed) {
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
  if (request.mode == enrolment::StorageMode::OnBadge) {
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
  std::error_code ec;
  if (std::filesystem::exists(badgeOut, ec)) {
    return reportError(
        cmd, fmt::format("{} already exists; badges are never overwritten", badgeOut.string()));
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

  enrolment::Registry registry(*db, deskActor());
  auto issued = registry.enrol(request, *templ, templateKey ? &*templateKey : nullptr);
  if (!issued) {
    return reportError(cmd, issued.error());
  }
  auto payload = badge::encodeBadge(*issued, *signingKey);
  if (!payload) {
    return reportError(cmd, payload.error());
  }
  if (auto written = badge::writeQrPng(*payload, badgeOut); !written) {
    // The enrolment is recorded but its badge is lost: revoke it so it cannot linger.
    (void)registry.revokeBadge(issued->serial, unixNow());
    return reportError(cmd, fmt::format("{} (the new badge {} was revoked; enrol again with "
                                        "--replace)",
                                        written.error().message, formatSerial(issued->serial)));
  }
  fmt::print("enrolled {} ({}, {}{}): badge {} valid until {}, written to {}\n", request.pupilId,
             enrolment::toString(request.mode), request.minor ? "minor" : "adult",
             photos.size() > 1 ? fmt::format(", template from {} photos", photos.size()) : "",
             formatSerial(issued->serial), formatDate(issued->expiresAt), badgeOut.string());
  if (args.has("--print-payload")) {
    fmt::print("{}\n", *payload);
  }
  secureWipe(payload->data(), payload->size());
  return kExitOk;
}

int runList(std::span<const std::string_view> argv) {
  const std::string_view cmd = "list";
  constexpr std::string_view usage =
      "usage: facegate list --db FILE\n"
      "  Pupils, whether they volunteered (consent on record, storage mode) and their badges.\n";
  Arguments args;
  if (auto exit = parseOrUsage(cmd, argv, {.valued = {"--db"}}, usage, args)) {
    return *exit;
  }
  auto db = openDatabase(args, false);
  if (!db) {
    return reportError(cmd, db.error());
  }
  enrolment::Registry registry(*db, deskActor());
  auto pupils = registry.list();
  if (!pupils) {
    return reportError(cmd, pupils.error());
  }
  const std::int64_t now = unixNow();
  fmt::print("{:<16} {:<6} {:<22} {:<16} {:<9} {:<10} {}\n", "PUPIL", "MINOR", "FACE CHECK",
             "BADGE", "KIND", "EXPIRES", "STATE");
  for (const auto& p : *pupils) {
    const std::string faceCheck =
        p.enrolled ? fmt::format("yes ({}, {})", *p.storageMode, formatDate(*p.consentedAt))
                   : "no (paper pass)";
    if (p.badges.empty()) {
      fmt::print("{:<16} {:<6} {:<22} -\n", p.pupilId, p.minor ? "yes" : "no", faceCheck);
    }
    for (const auto& b : p.badges) {
      const std::string state = b.revokedAt          ? "revoked " + formatDate(*b.revokedAt)
                                : b.expiresAt <= now ? std::string("expired")
                                                     : std::string("valid");
      fmt::print("{:<16} {:<6} {:<22} {:<16} {:<9} {:<10} {}\n", p.pupilId, p.minor ? "yes" : "no",
                 faceCheck, formatSerial(b.serial), b.kind, formatDate(b.expiresAt), state);
    }
  }
  fmt::print("{} pupil(s)\n", pupils->size());
  return kExitOk;
}

int runRevoke(std::span<const std::string_view> argv) {
  const std::string_view cmd = "revoke";
  constexpr std::string_view usage =
      "usage: facegate revoke --db FILE --badge SERIAL\n"
      "  A lost or stolen badge: the gate rejects it from now on and its sealed template is\n"
      "  deleted. Enrol the pupil again (--replace) to give them a new badge.\n";
  Arguments args;
  if (auto exit = parseOrUsage(cmd, argv, {.valued = {"--db", "--badge"}}, usage, args)) {
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
  enrolment::Registry registry(*db, deskActor());
  if (auto r = registry.revokeBadge(*serial, unixNow()); !r) {
    return reportError(cmd, r.error());
  }
  fmt::print("badge {} revoked\n", formatSerial(*serial));
  return kExitOk;
}

int runErase(std::span<const std::string_view> argv) {
  const std::string_view cmd = "erase";
  constexpr std::string_view usage =
      "usage: facegate erase --db FILE --pupil ID\n"
      "  Withdrawal of consent: the pupil's record, consent, badges and templates are deleted\n"
      "  at once (overwritten on disk). The audit log keeps an anonymous tombstone.\n";
  Arguments args;
  if (auto exit = parseOrUsage(cmd, argv, {.valued = {"--db", "--pupil"}}, usage, args)) {
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
  enrolment::Registry registry(*db, deskActor());
  if (auto r = registry.erasePupil(*pupil, unixNow()); !r) {
    return reportError(cmd, r.error());
  }
  fmt::print("pupil {} erased\n", *pupil);
  return kExitOk;
}

int runPurge(std::span<const std::string_view> argv) {
  const std::string_view cmd = "purge";
  constexpr std::string_view usage =
      "usage: facegate purge --db FILE (--config FILE | --retention-days N)\n"
      "  Deletes audit records older than the retention (audit.retention_days in the config).\n";
  Arguments args;
  if (auto exit = parseOrUsage(cmd, argv, {.valued = {"--db", "--config", "--retention-days"}},
                               usage, args)) {
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
  audit::AuditLog log(*db);
  const std::int64_t now = unixNow();
  auto removed = log.purgeBefore(now - days * 86'400, now, deskActor());
  if (!removed) {
    return reportError(cmd, removed.error());
  }
  (void)db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  fmt::print("{} audit record(s) older than {} days removed\n", *removed, days);
  return kExitOk;
}

int runAudit(std::span<const std::string_view> argv) {
  const std::string_view cmd = "audit";
  constexpr std::string_view usage =
      "usage: facegate audit verify --db FILE\n"
      "       facegate audit show --db FILE [--last N]\n"
      "  verify: checks the hash chain and reports the first broken link (exit 1 if broken).\n"
      "          Note the head hash it prints somewhere else: it lets you prove later that\n"
      "          the log was not rewritten as a whole.\n"
      "  show:   prints the last N records (default 20).\n";
  if (argv.empty() || (argv[0] != "verify" && argv[0] != "show")) {
    if (!argv.empty() && argv[0] == "--help") {
      fmt::print("{}", usage);
      return kExitOk;
    }
    reportError(cmd, "expected 'verify' or 'show'");
    fmt::print(stderr, "{}", usage);
    return kExitUndecided;
  }
  const bool show = argv[0] == "show";
  Arguments args;
  if (auto exit = parseOrUsage(cmd, argv.subspan(1), {.valued = {"--db", "--last"}}, usage, args)) {
    return *exit;
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
      fmt::print("audit log BROKEN at record {}: {}\n", report->firstBadSeq, report->problem);
      return kExitNegative;
    }
    fmt::print(
        "audit log intact: {} record(s) checked (records 1-{} purged by retention); head "
        "record {} hash {}\n",
        report->records, report->anchorSeq, report->headSeq, audit::toHex(report->headHash));
    return kExitOk;
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
    fmt::print("{:>6} {} {:<14} {:<12} {:<26} {:<16} {:<13} {} {}\n", r.seq, formatDate(e.at),
               e.actor, e.action, e.subject.value_or("-"),
               e.badgeSerial ? formatSerial(*e.badgeSerial) : "-", e.outcome.value_or("-"),
               e.distance ? fmt::format("d={:.3f}", *e.distance) : "", e.detail);
  }
  return kExitOk;
}

}  // namespace facegate::cli
