// Keys and badges: keygen, badge issue / render / inspect.
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "commands.hpp"
#include "common.hpp"
#include "facegate/badge/keys.hpp"
#include "facegate/badge/payload.hpp"
#include "facegate/badge/qr.hpp"
#include "facegate/cli/command_line.hpp"
#include "facegate/core/output_file.hpp"
#include "facegate/core/secure_memory.hpp"
#include "facegate/core/terminal_text.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/face/image_file.hpp"

namespace facegate::cli {
namespace {

namespace fs = std::filesystem;

struct KeygenOptions {
  std::string outDir;
  bool withTemplateKey = false;
};

int runKeygen(const KeygenOptions& options) {
  const std::string_view cmd = "keygen";
  const fs::path dir = options.outDir;
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
  if (options.withTemplateKey) {
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

struct BadgeIssueOptions {
  std::string db;
  std::string pupil;
  std::string key;
  std::string badgeOut;
  bool adult = false;
  std::int64_t validDays = 365;
};

int runBadgeIssue(const BadgeIssueOptions& options) {
  const std::string_view cmd = "badge issue";
  const std::int64_t days = options.validDays;
  const fs::path out = options.badgeOut;
  if (auto png = badge::checkPngName(out); !png) {
    return reportError(cmd, png.error());
  }
  auto key = badge::SigningKey::load(options.key);
  if (!key) {
    return reportError(cmd, key.error());
  }
  // Taken before the database is touched; removed again unless the badge is issued.
  auto badgeFile = OutputFile::reserve(out);
  if (!badgeFile) {
    return reportError(cmd, outputFileError(badgeFile.error(), kBadgeNeverOverwritten));
  }
  auto db = openDatabase(options.db, true);
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
  auto issued =
      registry.issuePlainBadge(options.pupil, !options.adult, unixNow(), days, writeBadge);
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

struct BadgeRenderOptions {
  std::string out;
  int modulePx = 8;
  bool force = false;
};

int runBadgeRender(const BadgeRenderOptions& options) {
  const std::string_view cmd = "badge render";
  const Overwrite overwrite = options.force ? Overwrite::Replace : Overwrite::Refuse;
  const std::string& out = options.out;
  const int modulePx = options.modulePx;
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
  if (auto r = badge::writeQrPng(payload, out, modulePx, 4, overwrite); !r) {
    secureWipe(payload.data(), payload.size());
    return reportError(cmd, outputFileError(r.error(), kForceReplaces));
  }
  fmt::print("{}\n", payload);
  secureWipe(payload.data(), payload.size());
  return kExitOk;
}

struct BadgeInspectOptions {
  std::string publicKey;
  std::optional<std::string> image;
  std::optional<std::string> db;
};

int runBadgeInspect(const BadgeInspectOptions& options) {
  const std::string_view cmd = "badge inspect";
  auto key = badge::loadPublicKey(options.publicKey);
  if (!key) {
    return reportError(cmd, key.error());
  }
  std::string payload;
  if (const auto& image = options.image) {
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
  if (options.db) {
    auto db = openDatabase(*options.db, false);
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

void addKeygen(CLI::App& app, Commands& commands) {
  auto options = std::make_shared<KeygenOptions>();
  CLI::App& command = addCommand(
      app, "keygen", "make the school's badge-signing keys",
      "Makes the school's badge-signing key pair in DIR:\n"
      "  school-signing.key  Ed25519 private key (0600): stays on the enrolment machine\n"
      "  school.pub          public key: copy it to every gate (badge.public_key)\n"
      "  template.key        with --with-template-key (0600): the key that encrypts templates\n"
      "                      carried in badges (storage.mode = \"on-badge\"); enrolment machine\n"
      "                      and gates (badge.template_key)\n"
      "Keys are never overwritten: if any of these files (or a link) is already there,\n"
      "nothing at all is written.");
  command.group(kDeskGroup);
  command.add_option("--out-dir", options->outDir, "the directory the keys are written to")
      ->type_name("DIR")
      ->required()
      ->check(nonEmpty());
  command.add_flag("--with-template-key", options->withTemplateKey,
                   "also make template.key, for storage.mode = \"on-badge\"");
  commands.push_back({&command, [options] { return runKeygen(*options); }});
}

void addBadge(CLI::App& app, Commands& commands) {
  CLI::App& badge = addCommand(app, "badge", "write, render or check a badge");
  badge.group(kDeskGroup);

  auto issue = std::make_shared<BadgeIssueOptions>();
  CLI::App& issueCommand = addCommand(
      badge, "issue", "write a badge for a pupil who did not volunteer",
      "A badge for a pupil who did NOT volunteer for face checks: the gate reads it and asks\n"
      "the supervisor to check the paper pass, with no face processing at all.");
  issueCommand.add_option("--db", issue->db, "the enrolment database (created if absent)")
      ->type_name("FILE")
      ->required()
      ->check(nonEmpty());
  issueCommand.add_option("--pupil", issue->pupil, "the pupil's id")
      ->type_name("ID")
      ->required()
      ->check(nonEmpty());
  issueCommand.add_option("--key", issue->key, "the school's private signing key")
      ->type_name("SIGNING_KEY")
      ->required()
      ->check(nonEmpty());
  issueCommand.add_option("--badge-out", issue->badgeOut, "the badge's PNG, a new file (0600)")
      ->type_name("BADGE.png")
      ->required()
      ->check(nonEmpty());
  issueCommand.add_flag("--adult", issue->adult, "the pupil is not a minor");
  checkWholeNumber(
      issueCommand.add_option("--valid-days", issue->validDays, "days the badge is valid")
          ->type_name("N"),
      1, 3660);
  commands.push_back({&issueCommand, [issue] { return runBadgeIssue(*issue); }});

  auto render = std::make_shared<BadgeRenderOptions>();
  CLI::App& renderCommand = addCommand(
      badge, "render", "write a badge payload as a QR code PNG",
      "Writes a badge payload (read from standard input, never from the command line where\n"
      "other users could see it) as a PNG QR code (mode 0600), and prints the payload back.\n"
      "An existing file is replaced only with --force (by a new file: never written through\n"
      "a symbolic link).\n"
      "  facegate badge render --out BADGE.png < payload.txt");
  renderCommand.add_option("--out", render->out, "the PNG to write")
      ->type_name("BADGE.png")
      ->required()
      ->check(nonEmpty());
  checkWholeNumber(
      renderCommand.add_option("--module-px", render->modulePx, "pixels per QR module")
          ->type_name("N"),
      1, 64);
  renderCommand.add_flag("--force", render->force, "replace the file if it exists");
  commands.push_back({&renderCommand, [render] { return runBadgeRender(*render); }});

  auto inspect = std::make_shared<BadgeInspectOptions>();
  CLI::App& inspectCommand = addCommand(
      badge, "inspect", "check a badge: signature, validity, registration",
      "Reads a badge (a photo or PNG of its QR code, or the payload on standard input),\n"
      "checks its signature and validity, and with --db its registration. Prints its\n"
      "fields, never its secret or template. Exit 0: valid; 1: rejected.");
  inspectCommand.add_option("--public-key", inspect->publicKey, "the school's public key")
      ->type_name("FILE")
      ->required()
      ->check(nonEmpty());
  inspectCommand
      .add_option("--image", inspect->image,
                  "a photo or PNG of the badge (default: the payload on standard input)")
      ->type_name("BADGE.png");
  inspectCommand.add_option("--db", inspect->db, "also check the badge's registration here")
      ->type_name("FILE")
      ->check(nonEmpty());
  commands.push_back({&inspectCommand, [inspect] { return runBadgeInspect(*inspect); }});
}

}  // namespace facegate::cli
