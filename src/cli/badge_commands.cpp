// Keys and badges: keygen, badge issue / render / inspect.
#include <iostream>
#include <iterator>
#include <optional>

#include <fmt/format.h>

#include "commands.hpp"
#include "common.hpp"
#include "facegate/badge/keys.hpp"
#include "facegate/badge/payload.hpp"
#include "facegate/badge/qr.hpp"
#include "facegate/core/output_file.hpp"
#include "facegate/core/secure_memory.hpp"
#include "facegate/core/terminal_text.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/face/image_file.hpp"

namespace facegate::cli {
namespace fs = std::filesystem;

int runKeygen(std::span<const std::string_view> argv) {
  const std::string_view cmd = "keygen";
  constexpr std::string_view kUsage =
      "usage: facegate keygen --out-dir DIR [--with-template-key]\n"
      "  Makes the school's badge-signing key pair in DIR:\n"
      "    school-signing.key  Ed25519 private key (0600): stays on the enrolment machine\n"
      "    school.pub          public key: copy it to every gate (badge.public_key)\n"
      "    template.key        with --with-template-key (0600): the key that encrypts templates\n"
      "                        carried in badges (storage.mode = \"on-badge\"); enrolment machine\n"
      "                        and gates (badge.template_key)\n"
      "  Keys are never overwritten: if any of these files (or a link) is already there,\n"
      "  nothing at all is written.\n";
  Arguments args;
  if (auto exit = parseOrUsage(
          cmd, argv, {.flags = {"--with-template-key"}, .valued = {"--out-dir"}}, kUsage, args)) {
    return *exit;
  }
  auto dirText = required(args, "--out-dir");
  if (!dirText) {
    return reportError(cmd, dirText.error());
  }
  const fs::path dir = *dirText;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return reportError(cmd, fmt::format("{} is not a directory", dir.string()));
  }
  // All the files or none: a signing key alone would sign badges that no gate's public key
  // accepts.
  const badge::SchoolKeyPaths paths{dir / "school-signing.key", dir / "school.pub",
                                    dir / "template.key"};
  const auto key = badge::SigningKey::generate();
  std::optional<badge::TemplateKey> templateKey;
  if (args.has("--with-template-key")) {
    templateKey.emplace(badge::TemplateKey::generate());
  }
  if (auto r = badge::saveSchoolKeys(key, templateKey ? &*templateKey : nullptr, paths); !r) {
    return reportError(cmd,
                       outputFileError(r.error(),
                                       "keys are never overwritten: move the old keys away or give "
                                       "another --out-dir; nothing was written"));
  }
  fmt::print("wrote {} (private, keep on the enrolment machine) and {} (public, for the gates)\n",
             paths.signingKey.string(), paths.publicKey.string());
  if (templateKey) {
    fmt::print("wrote {} (secret, for the enrolment machine and the gates)\n",
               paths.templateKey->string());
  }
  return kExitOk;
}

namespace {

int runBadgeIssue(std::span<const std::string_view> argv) {
  const std::string_view cmd = "badge issue";
  constexpr std::string_view kUsage =
      "usage: facegate badge issue --db FILE --pupil ID --key SIGNING_KEY --badge-out BADGE.png\n"
      "                            [--adult] [--valid-days N]\n"
      "  A badge for a pupil who did NOT volunteer for face checks: the gate reads it and asks\n"
      "  the supervisor to check the paper pass, with no face processing at all.\n";
  Arguments args;
  if (auto exit =
          parseOrUsage(cmd, argv,
                       {.flags = {"--adult"},
                        .valued = {"--db", "--pupil", "--key", "--badge-out", "--valid-days"}},
                       kUsage, args)) {
    return *exit;
  }
  for (const auto* option : {"--pupil", "--key", "--badge-out"}) {
    if (auto v = required(args, option); !v) {
      return reportError(cmd, v.error());
    }
  }
  std::int64_t days = 365;
  if (const auto text = args.value("--valid-days")) {
    auto value = parseWholeNumber("--valid-days", *text, 1, 3660);
    if (!value) {
      return reportError(cmd, value.error());
    }
    days = *value;
  }
  const fs::path out = *args.value("--badge-out");
  if (auto png = badge::checkPngName(out); !png) {
    return reportError(cmd, png.error());
  }
  auto key = badge::SigningKey::load(*args.value("--key"));
  if (!key) {
    return reportError(cmd, key.error());
  }
  // Taken before the database is touched; removed again unless the badge is issued.
  auto badgeFile = OutputFile::reserve(out);
  if (!badgeFile) {
    return reportError(cmd, outputFileError(badgeFile.error(), kBadgeNeverOverwritten));
  }
  auto db = openDatabase(args, true);
  if (!db) {
    return reportError(cmd, db.error());
  }
  // Written inside the issuing transaction: a badge that cannot be written is not issued
  // (and the pupil's previous badge is not revoked).
  bool badgeWriteFailed = false;
  const auto writeBadge = [&](const badge::Badge& b) -> Result<void> {
    auto payload = badge::encodeBadge(b, *key);
    if (!payload) {
      return tl::unexpected(payload.error());
    }
    auto written = writeBadgePng(*payload, *badgeFile);
    badgeWriteFailed = !written;
    return written;
  };
  audit::JournalWitness witness;
  enrolment::Registry registry(*db, deskActor(), &witness);
  auto issued = registry.issuePlainBadge(*args.value("--pupil"), !args.has("--adult"), unixNow(),
                                         days, writeBadge);
  if (!issued) {
    if (badgeWriteFailed) {
      return reportError(cmd, fmt::format("{}, so no badge was issued: fix that and issue it again",
                                          issued.error().message));
    }
    return reportError(cmd, issued.error());
  }
  if (auto published = badgeFile->publish(); !published) {
    return reportError(cmd, published.error());
  }
  fmt::print("badge {} for {} (no face check) valid until {}, written to {}\n",
             formatSerial(issued->serial), issued->pupilId, formatDate(issued->expiresAt),
             out.string());
  return kExitOk;
}

int runBadgeRender(std::span<const std::string_view> argv) {
  const std::string_view cmd = "badge render";
  constexpr std::string_view kUsage =
      "usage: facegate badge render --out BADGE.png [--module-px N] [--force] < payload.txt\n"
      "  Writes a badge payload (read from standard input, never from the command line where\n"
      "  other users could see it) as a PNG QR code (mode 0600), and prints the payload back.\n"
      "  An existing file is replaced only with --force (by a new file: never written through\n"
      "  a symbolic link).\n";
  Arguments args;
  if (auto exit = parseOrUsage(
          cmd, argv, {.flags = {"--force"}, .valued = {"--out", "--module-px"}}, kUsage, args)) {
    return *exit;
  }
  const Overwrite overwrite = args.has("--force") ? Overwrite::Replace : Overwrite::Refuse;
  auto out = required(args, "--out");
  if (!out) {
    return reportError(cmd, out.error());
  }
  int modulePx = 8;
  if (const auto text = args.value("--module-px")) {
    auto value = parseWholeNumber("--module-px", *text, 1, 64);
    if (!value) {
      return reportError(cmd, value.error());
    }
    modulePx = static_cast<int>(*value);
  }
  std::string payload;
  std::getline(std::cin, payload);
  while (!payload.empty() && (payload.back() == '\r' || payload.back() == ' ')) {
    payload.pop_back();
  }
  if (payload.empty()) {
    return reportError(cmd, "no payload on standard input");
  }
  if (payload.size() > badge::kMaxPayloadTextLength) {
    return reportError(cmd,
                       fmt::format("the payload is {} characters, more than a badge holds ({})",
                                   payload.size(), badge::kMaxPayloadTextLength));
  }
  if (auto r = badge::writeQrPng(payload, *out, modulePx, 4, overwrite); !r) {
    secureWipe(payload.data(), payload.size());
    return reportError(cmd, outputFileError(r.error(), kForceReplaces));
  }
  fmt::print("{}\n", payload);
  secureWipe(payload.data(), payload.size());
  return kExitOk;
}

int runBadgeInspect(std::span<const std::string_view> argv) {
  const std::string_view cmd = "badge inspect";
  constexpr std::string_view kUsage =
      "usage: facegate badge inspect --public-key FILE [--image BADGE.png] [--db FILE]\n"
      "  Reads a badge (a photo or PNG of its QR code, or the payload on standard input),\n"
      "  checks its signature and validity, and with --db its registration. Prints its\n"
      "  fields, never its secret or template. Exit 0: valid; 1: rejected.\n";
  Arguments args;
  if (auto exit =
          parseOrUsage(cmd, argv, {.valued = {"--public-key", "--image", "--db"}}, kUsage, args)) {
    return *exit;
  }
  auto keyPath = required(args, "--public-key");
  if (!keyPath) {
    return reportError(cmd, keyPath.error());
  }
  auto key = badge::loadPublicKey(*keyPath);
  if (!key) {
    return reportError(cmd, key.error());
  }
  std::string payload;
  if (const auto image = args.value("--image")) {
    auto frame = face::loadImage(*image);
    if (!frame) {
      return reportError(cmd, frame.error());
    }
    badge::QrScanner scanner;
    const auto found = scanner.scanBgr(*frame);
    if (found.empty()) {
      return reportError(cmd, fmt::format("no QR code was found in {}", *image));
    }
    payload = found.front();
  } else {
    std::getline(std::cin, payload);
  }
  const std::int64_t now = unixNow();
  auto parsed = badge::parseBadge(payload, *key, now);
  secureWipe(payload.data(), payload.size());
  if (!parsed) {
    fmt::print("REJECTED ({}): {}\n", badge::toString(parsed.error().reason),
               terminalSafe(parsed.error().message));
    return kExitNegative;
  }
  const char* kind = parsed->kind == badge::BadgeKind::Plain ? "plain (no face check)"
                     : parsed->kind == badge::BadgeKind::Sealed
                         ? "sealed (template on the gate)"
                         : "on-badge (template in the badge)";
  fmt::print("badge {}  pupil {}  kind {}  issued {}  expires {}  signature ok\n",
             formatSerial(parsed->serial), terminalSafe(parsed->pupilId), kind,
             formatDate(parsed->issuedAt), formatDate(parsed->expiresAt));
  if (args.value("--db")) {
    auto db = openDatabase(args, false);
    if (!db) {
      return reportError(cmd, db.error());
    }
    enrolment::Registry registry(*db, deskActor());  // reads only
    auto record = registry.findBadge(parsed->serial);
    if (!record) {
      return reportError(cmd, record.error());
    }
    if (!*record) {
      fmt::print("REJECTED (unknown): the badge is not registered in this database\n");
      return kExitNegative;
    }
    if ((*record)->revokedAt) {
      fmt::print("REJECTED (revoked): the badge was revoked on {}\n",
                 formatDate(*(*record)->revokedAt));
      return kExitNegative;
    }
    fmt::print("registered and not revoked; named {} in the audit log\n",
               (*record)->auditRef ? formatSerial(*(*record)->auditRef) : std::string("-"));
  }
  return kExitOk;
}

}  // namespace

int runBadge(std::span<const std::string_view> argv) {
  constexpr std::string_view kUsage =
      "usage: facegate badge issue|render|inspect [options]   (--help after each for details)\n";
  if (!argv.empty()) {
    const auto rest = argv.subspan(1);
    if (argv[0] == "issue") {
      return runBadgeIssue(rest);
    }
    if (argv[0] == "render") {
      return runBadgeRender(rest);
    }
    if (argv[0] == "inspect") {
      return runBadgeInspect(rest);
    }
    if (argv[0] == "--help") {
      fmt::print("{}", kUsage);
      return kExitOk;
    }
  }
  reportError("badge", "expected issue, render or inspect");
  fmt::print(stderr, "{}", kUsage);
  return kExitUndecided;
}

}  // namespace facegate::cli
