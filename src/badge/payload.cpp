#include "facegate/badge/payload.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <limits>
#include <span>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sodium.h>

#include "facegate/badge/base45.hpp"

namespace facegate::badge {

namespace {

// Offsets of the fixed header (see the table in payload.hpp).
constexpr std::size_t kVersionAt = 0;
constexpr std::size_t kKindAt = 1;
constexpr std::size_t kKeyIdAt = 2;
constexpr std::size_t kSerialAt = 6;
constexpr std::size_t kIssuedAt = 14;
constexpr std::size_t kExpiresAt = 18;
constexpr std::size_t kPupilIdLengthAt = 22;
constexpr std::size_t kPupilIdAt = 23;

// Enough to read the fixed header and a signature; the pupil id length is only checked
// against 1..32 once the signature is known to be the school's.
constexpr std::size_t kMinPayloadSize = kPupilIdAt + kSignatureSize;
constexpr std::size_t kMaxPayloadSize =
    kPupilIdAt + kMaxPupilIdLength + kOnBadgeTemplateSize + kSignatureSize;

constexpr std::size_t base45Length(std::size_t bytes) {
  return bytes / 2 * 3 + bytes % 2 * 2;
}
static_assert(base45Length(kMaxPayloadSize) <= kMaxPayloadTextLength,
              "every valid badge must fit the text length cap");

std::size_t bodySize(BadgeKind kind) {
  switch (kind) {
    case BadgeKind::Plain: return 0;
    case BadgeKind::Sealed: return kBadgeSecretSize;
    case BadgeKind::OnBadge: return kOnBadgeTemplateSize;
  }
  return 0;
}

// A byte buffer that is wiped when it goes out of scope, whatever the path taken: the
// decoded payload of a sealed badge holds its secret.
struct WipedBytes {
  std::vector<std::uint8_t> bytes;

  WipedBytes() = default;
  explicit WipedBytes(std::vector<std::uint8_t> b) : bytes(std::move(b)) {}
  ~WipedBytes() { secureWipe(bytes.data(), bytes.size()); }
  WipedBytes(const WipedBytes&) = delete;
  WipedBytes& operator=(const WipedBytes&) = delete;
};

void putBigEndian(std::vector<std::uint8_t>& out, std::uint64_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(value >> shift));
  }
}

std::uint64_t getBigEndian(std::span<const std::uint8_t> in, std::size_t at, std::size_t bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < bytes; ++i) {
    value = (value << 8) | in[at + i];
  }
  return value;
}

bool isPupilIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// What is wrong with a pupil id, or nothing. Never quotes the id: it may hold control
// characters from a hostile QR code.
std::optional<std::string> pupilIdProblem(std::string_view id) {
  if (id.empty()) {
    return "the pupil id is empty";
  }
  if (id.size() > kMaxPupilIdLength) {
    return fmt::format("the pupil id is {} characters long, more than {}", id.size(),
                       kMaxPupilIdLength);
  }
  const auto bad = std::find_if_not(id.begin(), id.end(), isPupilIdChar);
  if (bad != id.end()) {
    return fmt::format("the pupil id has a character outside [A-Za-z0-9._-] at position {}",
                       bad - id.begin());
  }
  return std::nullopt;
}

// Problems shared by encoding and parsing: serial and validity window.
std::optional<std::string> serialAndTimeProblem(std::uint64_t serial, std::int64_t issuedAt,
                                                std::int64_t expiresAt) {
  if (serial == 0) {
    return "the badge serial is 0";
  }
  if (expiresAt <= issuedAt) {
    return fmt::format("the badge expires ({}) no later than it is issued ({})", expiresAt,
                       issuedAt);
  }
  return std::nullopt;
}

bool fitsU32(std::int64_t t) {
  return t >= 0 && t <= std::int64_t{std::numeric_limits<std::uint32_t>::max()};
}

// Unix seconds as "2024-09-02 07:55:00 UTC" (or the raw number outside 1970..9999, where
// gmtime would fail).
std::string formatTime(std::int64_t t) {
  if (t < 0 || t > 253'402'300'799) {
    return fmt::format("{} s", t);
  }
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC", fmt::gmtime(static_cast<std::time_t>(t)));
}

std::string hex(std::span<const std::uint8_t> bytes) {
  std::string out;
  for (const auto b : bytes) {
    out += fmt::format("{:02x}", b);
  }
  return out;
}

tl::unexpected<BadgeError> reject(BadgeRejection reason, std::string message) {
  return tl::unexpected<BadgeError>(BadgeError{reason, std::move(message)});
}

}  // namespace

std::string_view toString(BadgeRejection reason) noexcept {
  switch (reason) {
    case BadgeRejection::Empty: return "empty";
    case BadgeRejection::TooLong: return "too-long";
    case BadgeRejection::NotBase45: return "not-base45";
    case BadgeRejection::Truncated: return "truncated";
    case BadgeRejection::Oversized: return "oversized";
    case BadgeRejection::UnknownVersion: return "unknown-version";
    case BadgeRejection::UnknownKind: return "unknown-kind";
    case BadgeRejection::OtherSchool: return "other-school";
    case BadgeRejection::BadSignature: return "bad-signature";
    case BadgeRejection::BadField: return "bad-field";
    case BadgeRejection::NotYetValid: return "not-yet-valid";
    case BadgeRejection::Expired: return "expired";
  }
  return "unknown";
}

std::uint64_t newBadgeSerial() {
  ensureSodium();
  std::uint64_t serial = 0;
  while (serial == 0) {
    randombytes_buf(&serial, sizeof serial);
  }
  return serial;
}

BadgeSecret newBadgeSecret() {
  BadgeSecret secret;
  randombytes_buf(secret->data(), secret->size());
  return secret;
}

Result<std::string> encodeBadge(const Badge& badge, const SigningKey& key) {
  const auto invalid = [](std::string message) {
    return fail(ErrorCode::InvalidArgument, "cannot encode the badge: " + std::move(message));
  };
  if (auto problem = pupilIdProblem(badge.pupilId)) {
    return invalid(std::move(*problem));
  }
  if (!fitsU32(badge.issuedAt) || !fitsU32(badge.expiresAt)) {
    return invalid(
        fmt::format("its times ({}, {}) do not fit the payload's unsigned 32-bit unix seconds",
                    badge.issuedAt, badge.expiresAt));
  }
  if (auto problem = serialAndTimeProblem(badge.serial, badge.issuedAt, badge.expiresAt)) {
    return invalid(std::move(*problem));
  }
  const bool hasSecret = badge.secret.has_value();
  switch (badge.kind) {
    case BadgeKind::Plain:
      if (hasSecret || !badge.onBadgeTemplate.empty()) {
        return invalid("a plain badge carries neither a secret nor a template");
      }
      break;
    case BadgeKind::Sealed:
      if (!hasSecret || badge.secret->get() == nullptr) {
        return invalid("a sealed badge needs its secret");
      }
      if (!badge.onBadgeTemplate.empty()) {
        return invalid("a sealed badge does not carry a template");
      }
      break;
    case BadgeKind::OnBadge:
      if (hasSecret) {
        return invalid("an on-badge badge does not carry a secret");
      }
      if (badge.onBadgeTemplate.size() != kOnBadgeTemplateSize) {
        return invalid(fmt::format("an on-badge template is {} bytes, not {}",
                                   badge.onBadgeTemplate.size(), kOnBadgeTemplateSize));
      }
      break;
    default: return invalid(fmt::format("unknown kind {}", static_cast<int>(badge.kind)));
  }

  // The signed message is the domain string followed by the payload; the payload is then
  // that buffer without its prefix, so it is built once.
  const std::size_t payloadSize =
      kPupilIdAt + badge.pupilId.size() + bodySize(badge.kind) + kSignatureSize;
  WipedBytes buffer;
  buffer.bytes.reserve(kBadgeSignatureDomain.size() + payloadSize);
  auto& out = buffer.bytes;
  out.insert(out.end(), kBadgeSignatureDomain.begin(), kBadgeSignatureDomain.end());
  out.push_back(kBadgeVersion);
  out.push_back(static_cast<std::uint8_t>(badge.kind));
  const KeyId id = keyId(key.publicKey());
  out.insert(out.end(), id.begin(), id.end());
  putBigEndian(out, badge.serial, 8);
  putBigEndian(out, static_cast<std::uint64_t>(badge.issuedAt), 4);
  putBigEndian(out, static_cast<std::uint64_t>(badge.expiresAt), 4);
  out.push_back(static_cast<std::uint8_t>(badge.pupilId.size()));
  out.insert(out.end(), badge.pupilId.begin(), badge.pupilId.end());
  if (badge.kind == BadgeKind::Sealed) {
    out.insert(out.end(), (*badge.secret)->begin(), (*badge.secret)->end());
  } else if (badge.kind == BadgeKind::OnBadge) {
    out.insert(out.end(), badge.onBadgeTemplate.begin(), badge.onBadgeTemplate.end());
  }
  const Signature signature = key.sign(out);
  out.insert(out.end(), signature.begin(), signature.end());
  return base45Encode(std::span(out).subspan(kBadgeSignatureDomain.size()));
}

tl::expected<Badge, BadgeError> parseBadge(std::string_view text, const PublicKey& gateKey,
                                           std::int64_t now) {
  if (text.empty()) {
    return reject(BadgeRejection::Empty, "the badge text is empty");
  }
  // Before decoding: a hostile QR code must not make the gate work on megabytes.
  if (text.size() > kMaxPayloadTextLength) {
    return reject(BadgeRejection::TooLong,
                  fmt::format("the badge text is {} characters long, more than the {} a badge "
                              "can have",
                              text.size(), kMaxPayloadTextLength));
  }
  auto decoded = base45Decode(text);
  if (!decoded) {
    return reject(BadgeRejection::NotBase45,
                  fmt::format("the badge text is not base45: {}", decoded.error().message));
  }
  const WipedBytes payload(std::move(*decoded));
  const std::span<const std::uint8_t> b = payload.bytes;

  if (b.size() < kMinPayloadSize) {
    return reject(BadgeRejection::Truncated,
                  fmt::format("the badge payload is {} bytes, shorter than the {} bytes of its "
                              "header and signature",
                              b.size(), kMinPayloadSize));
  }
  if (b[kVersionAt] != kBadgeVersion) {
    return reject(BadgeRejection::UnknownVersion,
                  fmt::format("the badge payload has version {}; this gate reads version {}",
                              b[kVersionAt], kBadgeVersion));
  }
  if (b[kKindAt] > static_cast<std::uint8_t>(BadgeKind::OnBadge)) {
    return reject(BadgeRejection::UnknownKind,
                  fmt::format("the badge payload has kind {}, which is not plain (0), sealed "
                              "(1) or on-badge (2)",
                              b[kKindAt]));
  }
  const auto kind = static_cast<BadgeKind>(b[kKindAt]);
  const std::size_t pupilIdLength = b[kPupilIdLengthAt];
  const std::size_t bodyAt = kPupilIdAt + pupilIdLength;
  const std::size_t signatureAt = bodyAt + bodySize(kind);
  const std::size_t expected = signatureAt + kSignatureSize;
  if (b.size() < expected) {
    return reject(BadgeRejection::Truncated,
                  fmt::format("the badge payload is {} bytes, shorter than the {} its header "
                              "announces",
                              b.size(), expected));
  }
  if (b.size() > expected) {
    return reject(
        BadgeRejection::Oversized,
        fmt::format("the badge payload has {} bytes after its signature", b.size() - expected));
  }
  const KeyId gateKeyId = keyId(gateKey);
  if (!std::equal(gateKeyId.begin(), gateKeyId.end(), b.begin() + kKeyIdAt)) {
    return reject(BadgeRejection::OtherSchool,
                  fmt::format("the badge was signed with key {}, not this gate's key {} (a "
                              "badge from another school, or from an old key)",
                              hex(b.subspan(kKeyIdAt, kKeyIdSize)), hex(gateKeyId)));
  }
  {
    WipedBytes message;
    message.bytes.reserve(kBadgeSignatureDomain.size() + signatureAt);
    message.bytes.insert(message.bytes.end(), kBadgeSignatureDomain.begin(),
                         kBadgeSignatureDomain.end());
    const auto signedPart = b.first(signatureAt);
    message.bytes.insert(message.bytes.end(), signedPart.begin(), signedPart.end());
    const std::span<const std::uint8_t, kSignatureSize> signature(b.data() + signatureAt,
                                                                  kSignatureSize);
    if (!verify(gateKey, message.bytes, signature)) {
      return reject(BadgeRejection::BadSignature,
                    "the badge signature is not the school's (a forged or altered badge)");
    }
  }

  const std::string_view pupilId(reinterpret_cast<const char*>(b.data() + kPupilIdAt),
                                 pupilIdLength);
  if (auto problem = pupilIdProblem(pupilId)) {
    return reject(BadgeRejection::BadField, fmt::format("signed badge: {}", *problem));
  }
  const std::uint64_t serial = getBigEndian(b, kSerialAt, 8);
  const auto issuedAt = static_cast<std::int64_t>(getBigEndian(b, kIssuedAt, 4));
  const auto expiresAt = static_cast<std::int64_t>(getBigEndian(b, kExpiresAt, 4));
  if (auto problem = serialAndTimeProblem(serial, issuedAt, expiresAt)) {
    return reject(BadgeRejection::BadField, fmt::format("signed badge: {}", *problem));
  }
  if (issuedAt > now + kClockSkewToleranceSeconds) {
    return reject(
        BadgeRejection::NotYetValid,
        fmt::format("the badge is issued at {}, more than {} minutes after the gate's "
                    "clock ({}); check the clocks of the gate and the enrolment "
                    "machine",
                    formatTime(issuedAt), kClockSkewToleranceSeconds / 60, formatTime(now)));
  }
  if (now >= expiresAt) {
    return reject(BadgeRejection::Expired, fmt::format("the badge expired at {} (gate clock {})",
                                                       formatTime(expiresAt), formatTime(now)));
  }

  Badge badge;
  badge.kind = kind;
  badge.serial = serial;
  badge.pupilId = std::string(pupilId);
  badge.issuedAt = issuedAt;
  badge.expiresAt = expiresAt;
  if (kind == BadgeKind::Sealed) {
    badge.secret.emplace();
    const auto secret = b.subspan(bodyAt, kBadgeSecretSize);
    std::copy(secret.begin(), secret.end(), (*badge.secret)->begin());
  } else if (kind == BadgeKind::OnBadge) {
    const auto sealedTemplate = b.subspan(bodyAt, kOnBadgeTemplateSize);
    badge.onBadgeTemplate.assign(sealedTemplate.begin(), sealedTemplate.end());
  }
  return badge;
}

}  // namespace facegate::badge
