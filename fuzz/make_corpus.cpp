// Writes the seed corpora of the fuzz targets that need generated inputs: valid badges of
// every kind signed by the test school of fuzz_support.hpp (fuzz_badge), the same badges
// as QR frames (fuzz_qr), and audit tampering scripts (fuzz_audit). fuzz_config's seeds are
// plain TOML files, kept by hand.
//
//   make_corpus <corpus-dir>     writes <corpus-dir>/{badge,qr,audit}/seed-*
//
// Outputs are deterministic except the nonces of the on-badge templates. The seeds were
// generated once and committed; rerun only when an input format changes.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "facegate/badge/qr.hpp"
#include "fuzz_support.hpp"

namespace {

namespace fs = std::filesystem;
namespace badge = facegate::badge;
namespace fz = facegate::fuzz;

using Bytes = std::vector<std::uint8_t>;

void write(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

Bytes withMode(char mode, const std::string& text) {
  Bytes out{static_cast<std::uint8_t>(mode)};
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

struct SeedBadge {
  std::string name;
  std::string text;
};

std::vector<SeedBadge> makeBadges() {
  const auto& school = fz::testSchool();
  const auto make = [&](badge::BadgeKind kind, std::uint64_t serial, std::string pupil) {
    badge::Badge b;
    b.kind = kind;
    b.serial = serial;
    b.pupilId = std::move(pupil);
    b.issuedAt = fz::kNow - 86'400;
    b.expiresAt = fz::kNow + 365 * 86'400;
    if (kind == badge::BadgeKind::Sealed) {
      b.secret = fz::enrolledSecret();
    } else if (kind == badge::BadgeKind::OnBadge) {
      b.onBadgeTemplate =
          facegate::enrolment::sealForBadge(fz::enrolledEmbedding(), school.templateKey, serial);
    }
    auto text = badge::encodeBadge(b, school.signingKey);
    if (!text) {
      throw std::runtime_error(text.error().message);
    }
    return *text;
  };
  return {
      {"plain", make(badge::BadgeKind::Plain, 0x1111'2222'3333'4444ULL, "2026-4B-018")},
      {"sealed", make(badge::BadgeKind::Sealed, fz::kEnrolledSerial, "2026-4B-017")},
      {"sealed-other", make(badge::BadgeKind::Sealed, 0x0f0f'0f0f'0f0f'0f0fULL, "x")},
      {"on-badge",
       make(badge::BadgeKind::OnBadge, 0x5555'6666'7777'8888ULL, "2026-4B-019.id_with.all-CHARS")},
  };
}

void writeBadgeSeeds(const fs::path& dir, const std::vector<SeedBadge>& badges) {
  for (const auto& b : badges) {
    write(dir / ("seed-text-" + b.name), withMode('T', b.text));
    // The same payload for the signing mode: decoded, without its signature.
    auto bytes = badge::base45Decode(b.text);
    Bytes raw{'S'};
    raw.insert(raw.end(), bytes->begin(), bytes->end() - badge::kSignatureSize);
    write(dir / ("seed-signed-" + b.name), raw);
  }
  write(dir / "seed-text-not-base45", withMode('T', "hello, gate"));
}

// fuzz_qr's format: width, height (little-endian u16, mapped to 8 + v % 633), scale byte
// (1 + v % 4), pixels.
Bytes qrInput(const cv::Mat& image, int scale) {
  const auto u16 = [](int v) {
    const int raw = v - 8;
    return Bytes{static_cast<std::uint8_t>(raw & 0xff), static_cast<std::uint8_t>(raw >> 8)};
  };
  Bytes out = u16(image.cols);
  const Bytes h = u16(image.rows);
  out.insert(out.end(), h.begin(), h.end());
  out.push_back(static_cast<std::uint8_t>(scale - 1));
  for (int y = 0; y < image.rows; ++y) {
    out.insert(out.end(), image.ptr<std::uint8_t>(y), image.ptr<std::uint8_t>(y) + image.cols);
  }
  return out;
}

void writeQrSeeds(const fs::path& dir, const std::vector<SeedBadge>& badges) {
  badge::QrScanner scanner;
  for (const auto& b : badges) {
    // One pixel per module, enlarged 3 times by the target: small inputs, readable frames.
    auto qr = badge::renderQr(b.text, 1, 4);
    if (!qr) {
      throw std::runtime_error(qr.error().message);
    }
    cv::Mat scaled;
    cv::resize(*qr, scaled, cv::Size(), 3, 3, cv::INTER_NEAREST);
    const auto found = scanner.scan(scaled);
    std::printf("qr seed %s: %dx%d, zbar reads it at x3: %s\n", b.name.c_str(), qr->cols, qr->rows,
                found.size() == 1 && found[0] == b.text ? "yes" : "NO");
    write(dir / ("seed-" + b.name), qrInput(*qr, 3));
  }
  // A frame with no code: the target's common case with a camera.
  cv::Mat blank(48, 64, CV_8UC1, cv::Scalar(200));
  write(dir / "seed-no-code", qrInput(blank, 1));
}

// fuzz_audit's script format (see fuzz_audit.cpp): opcodes and operands.
enum Op : std::uint8_t {
  kSetEventColumn,
  kSetStateColumn,
  kDeleteEvent,
  kInsertEvent,
  kCopyEventColumn,
  kCopyIntoState,
  kCheckConstraints,
  kAppend,
  kPurge,
};
// Columns: seq 0, at 1, actor 2, action 3, subject 4, badge_ref 5, outcome 6, distance 7,
// detail 8, prev_hash 9, hash 10; state: id 0, anchor_seq 1, anchor_hash 2, head_seq 3,
// head_hash 4. Values: 0 NULL, 1 int64 (8 bytes big-endian), 2 interesting integer (index),
// 3 double (8 bytes), 4 text (length, bytes), 5 blob (length, bytes), 6 32-byte blob.

void u64(Bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(v >> shift));
  }
}
void text(Bytes& out, std::uint8_t kind, std::string_view s) {
  out.push_back(kind);
  out.push_back(static_cast<std::uint8_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}
void lengthText(Bytes& out, std::string_view s) {
  out.push_back(static_cast<std::uint8_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

void writeAuditSeeds(const fs::path& dir) {
  std::vector<std::pair<std::string, Bytes>> seeds;
  seeds.emplace_back("untouched", Bytes{});
  {
    Bytes s{kSetEventColumn, 2, 2};
    text(s, 4, "gate-2");
    seeds.emplace_back("edit-actor", s);
  }
  {
    Bytes s{kSetEventColumn, 3, 7, 3};
    const double d = 0.301;
    std::uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof d);
    u64(s, bits);
    seeds.emplace_back("edit-distance", s);
  }
  seeds.emplace_back("null-subject", Bytes{kSetEventColumn, 1, 4, 0});
  seeds.emplace_back("delete-middle", Bytes{kDeleteEvent, 2});
  // Truncation with the head moved back: undetectable by design (compare the head hash).
  seeds.emplace_back("truncate-move-head", Bytes{kDeleteEvent, 4, kCopyIntoState, 3, 1});
  // Move the anchor as a purge would, without deleting.
  seeds.emplace_back("move-anchor", Bytes{kCopyIntoState, 1, 0});
  seeds.emplace_back("swap-hashes", Bytes{kCopyEventColumn, 2, 3, 9, kCopyEventColumn, 1, 2, 9});
  seeds.emplace_back("head-seq-big", Bytes{kSetStateColumn, 3, 1, 0, 0, 0, 0, 0, 0, 0, 9});
  {
    Bytes s{kCheckConstraints, 1, kSetEventColumn, 2, 9, 5, 4, 1, 2, 3, 4};
    seeds.emplace_back("short-prev-hash", s);
  }
  {
    Bytes s{kInsertEvent};
    s.insert(s.end(), {2, 5});  // seq 5
    s.push_back(1);
    u64(s, 1'790'000'400);
    text(s, 4, "gate-1");
    text(s, 4, "passage");
    s.push_back(0);
    s.push_back(0);
    text(s, 4, "GRANTED");
    s.push_back(0);
    text(s, 4, "");
    s.push_back(6);
    s.insert(s.end(), 32, 0xab);
    s.push_back(6);
    s.insert(s.end(), 32, 0xcd);
    seeds.emplace_back("insert-forged", s);
  }
  {
    Bytes s{kAppend};
    u64(s, 1'790'000'500);
    lengthText(s, "gate-1");
    lengthText(s, "passage");
    s.push_back(2 | 4 | 8);
    u64(s, 77);
    lengthText(s, "MISMATCH");
    const double d = 0.7;
    std::uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof d);
    u64(s, bits);
    lengthText(s, "frames=4");
    seeds.emplace_back("append", s);
  }
  {
    Bytes s{kPurge};
    u64(s, 1'790'000'150);
    s.insert(s.end(), {kSetEventColumn, 3, 8});
    text(s, 4, "frames=9");
    seeds.emplace_back("purge-then-edit", s);
  }
  for (const auto& [name, bytes] : seeds) {
    write(dir / ("seed-" + name), bytes);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus <corpus-dir>\n");
    return 2;
  }
  try {
    const fs::path dir = argv[1];
    const auto badges = makeBadges();
    writeBadgeSeeds(dir / "fuzz_badge", badges);
    writeQrSeeds(dir / "fuzz_qr", badges);
    writeAuditSeeds(dir / "fuzz_audit");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
