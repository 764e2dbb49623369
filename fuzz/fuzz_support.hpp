#pragma once

// Shared by the fuzz targets and the seed generator: a deterministic test school (keys made
// from fixed seeds, so that the committed seed corpora stay valid for every build) and the
// gate clock the targets use. These keys are test keys, published in this file; never use
// them for a real school.

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <sodium.h>
#include <unistd.h>

#include "facegate/badge/base45.hpp"
#include "facegate/badge/keys.hpp"
#include "facegate/badge/payload.hpp"
#include "facegate/core/secure_memory.hpp"
#include "facegate/enrolment/sealing.hpp"
#include "facegate/face/embedding.hpp"

namespace facegate::fuzz {

// The gate clock of every fuzz run: 2026-12-01 00:00:00 UTC. The seed badges are valid at
// this time (issued a day before, valid for a year).
inline constexpr std::int64_t kNow = 1'795'996'800;

// The sealed badge the fuzz_badge target has a template for.
inline constexpr std::uint64_t kEnrolledSerial = 0x0123'4567'89ab'cdefULL;

inline constexpr std::array<std::uint8_t, 32> seedBytes(std::uint8_t salt) {
  std::array<std::uint8_t, 32> out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(i * 7U + salt);
  }
  return out;
}

// Ed25519 seed of the school's signing key, the template key, and the secret of the
// enrolled sealed badge.
inline constexpr std::array<std::uint8_t, 32> kSigningSeed = seedBytes(1);
inline constexpr std::array<std::uint8_t, 32> kTemplateKeyBytes = seedBytes(2);
inline constexpr std::array<std::uint8_t, 32> kEnrolledSecret = seedBytes(3);

// The template enrolled for kEnrolledSerial: a fixed vector inside the on-badge
// quantisation range, so that the on-badge round trip is exact.
inline face::Embedding enrolledEmbedding() {
  face::Embedding e;
  for (std::size_t i = 0; i < face::kEmbeddingSize; ++i) {
    e.values()[i] = static_cast<float>(static_cast<int>(i % 61) - 30) / 256.0F;
  }
  return e;
}

struct TestSchool {
  badge::SigningKey signingKey;
  badge::PublicKey publicKey;
  badge::TemplateKey templateKey;
};

namespace detail {

inline std::string hexOf(std::span<const std::uint8_t> bytes) {
  std::string out;
  for (const auto b : bytes) {
    out += fmt::format("{:02x}", b);
  }
  return out;
}

// The key classes only load from files (that is how a school holds them): write the fixed
// keys to a private directory, load them, remove the directory.
inline TestSchool loadTestSchool() {
  ensureSodium();
  std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> sk{};
  crypto_sign_seed_keypair(pk.data(), sk.data(), kSigningSeed.data());

  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/facegate-fuzz-keys-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::abort();
  }
  const std::filesystem::path dir = pattern;
  const auto write = [&](const char* name, std::string_view header,
                         std::span<const std::uint8_t> bytes) {
    const auto path = dir / name;
    std::ofstream(path) << header << '\n' << hexOf(bytes) << '\n';
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return path;
  };
  auto signing = badge::SigningKey::load(write("school-signing.key", badge::kSigningKeyHeader, sk));
  auto templ =
      badge::TemplateKey::load(write("template.key", badge::kTemplateKeyHeader, kTemplateKeyBytes));
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  sodium_memzero(sk.data(), sk.size());
  if (!signing || !templ) {
    std::abort();
  }
  badge::PublicKey publicKey;
  std::copy(pk.begin(), pk.end(), publicKey.bytes.begin());
  if (!(signing->publicKey() == publicKey)) {
    std::abort();
  }
  return TestSchool{std::move(*signing), publicKey, std::move(*templ)};
}

}  // namespace detail

// Loaded once per process.
inline const TestSchool& testSchool() {
  static const TestSchool school = detail::loadTestSchool();
  return school;
}

inline badge::BadgeSecret enrolledSecret() {
  badge::BadgeSecret secret;
  std::copy(kEnrolledSecret.begin(), kEnrolledSecret.end(), secret->begin());
  return secret;
}

// The binary payload signed by the test school: `unsigned` is the payload without its
// signature (see payload.hpp); returns the base45 text of payload + signature, as a badge
// would carry it. Lets the fuzzer reach the checks that run after the signature.
inline std::string signAndEncode(std::span<const std::uint8_t> unsignedPayload) {
  std::vector<std::uint8_t> message(badge::kBadgeSignatureDomain.begin(),
                                    badge::kBadgeSignatureDomain.end());
  message.insert(message.end(), unsignedPayload.begin(), unsignedPayload.end());
  const badge::Signature signature = testSchool().signingKey.sign(message);
  std::vector<std::uint8_t> payload(unsignedPayload.begin(), unsignedPayload.end());
  payload.insert(payload.end(), signature.begin(), signature.end());
  return badge::base45Encode(payload);
}

// What a gate does with a badge text from a QR code: parse it against the school's key at
// kNow, and, for a badge that parses, open its template. Traps (a finding for libFuzzer) when
// an invariant breaks:
// - a rejection always has a reason with a stable name and a message;
// - a badge that parses is canonical: re-encoding it with the school's key (Ed25519 is
//   deterministic, base45 has one spelling per byte string) gives back the same text;
// - a sealed badge opens the stored template of kEnrolledSerial exactly when it is that
//   badge (serial and secret), and then gives back the enrolled embedding;
// - an on-badge template opens only if it was sealed under the school's template key for
//   that serial; the only ones (the seed corpus's) hold the enrolled embedding.
inline void exerciseBadgeText(std::string_view text) {
  const TestSchool& school = testSchool();
  auto parsed = badge::parseBadge(text, school.publicKey, kNow);
  if (!parsed) {
    if (parsed.error().message.empty() || badge::toString(parsed.error().reason) == "unknown") {
      __builtin_trap();
    }
    return;
  }
  const badge::Badge& b = *parsed;
  auto again = badge::encodeBadge(b, school.signingKey);
  if (!again || *again != text) {
    __builtin_trap();
  }
  const face::Embedding expected = enrolledEmbedding();
  switch (b.kind) {
    case badge::BadgeKind::Plain:
      if (b.secret || !b.onBadgeTemplate.empty()) {
        __builtin_trap();
      }
      break;
    case badge::BadgeKind::Sealed: {
      static const enrolment::SealedTemplate stored =
          enrolment::sealTemplate(expected, enrolledSecret(), kEnrolledSerial);
      if (!b.secret || !b.onBadgeTemplate.empty()) {
        __builtin_trap();
      }
      auto opened = enrolment::unsealTemplate(stored, *b.secret, b.serial);
      const bool genuine =
          b.serial == kEnrolledSerial &&
          std::equal(kEnrolledSecret.begin(), kEnrolledSecret.end(), (*b.secret)->begin());
      if (opened.has_value() != genuine || (opened && face::distance(*opened, expected) != 0.0)) {
        __builtin_trap();
      }
      break;
    }
    case badge::BadgeKind::OnBadge: {
      if (b.secret || b.onBadgeTemplate.size() != badge::kOnBadgeTemplateSize) {
        __builtin_trap();
      }
      auto opened = enrolment::unsealFromBadge(b.onBadgeTemplate, school.templateKey, b.serial);
      if (opened && face::distance(*opened, expected) != 0.0) {
        __builtin_trap();
      }
      break;
    }
  }
}

}  // namespace facegate::fuzz
