#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "facegate/badge/keys.hpp"
#include "facegate/badge/kind.hpp"
#include "facegate/core/error.hpp"
#include "facegate/core/secure_memory.hpp"

namespace facegate::badge {

// The badge payload, version 1: what a pupil's QR code says, signed by the school.
// Binary layout (integers big-endian):
//
//   off   size  field
//   0     1     version = 1
//   1     1     kind: 0 = plain (pupil did not volunteer: no face check),
//                     1 = sealed (CNIL type 2: carries the 32-byte secret that unseals the
//                         template stored on the gate),
//                     2 = on-badge (CNIL type 1: carries the encrypted template itself)
//   2     4     key id: first 4 bytes of SHA-256 of the school's public key
//   6     8     badge serial (random, nonzero)
//   14    4     issued at (unix seconds, u32)
//   18    4     expires at (unix seconds, u32, > issued at)
//   22    1     pupil id length L (1..32)
//   23    L     pupil id: ASCII [A-Za-z0-9._-]
//   23+L  B     body: plain: nothing (B = 0); sealed: the 32-byte secret; on-badge: exactly
//               168 bytes, opaque here (24-byte nonce + 128-byte quantised template +
//               16-byte tag, made by the template module)
//   23+L+B 64   Ed25519 signature over the ASCII domain string "facegate-badge-v1"
//               followed by every byte above
//
// The text in the QR code is base45 of those bytes (QR alphanumeric mode keeps it small):
// at most 179 characters for a plain badge, 227 sealed, 431 on-badge.

inline constexpr std::uint8_t kBadgeVersion = 1;
inline constexpr std::size_t kBadgeSecretSize = 32;
inline constexpr std::size_t kOnBadgeTemplateSize = 168;
inline constexpr std::size_t kMaxPupilIdLength = 32;
// Longest text a gate accepts, checked before any decoding (and by the QR scanner).
inline constexpr std::size_t kMaxPayloadTextLength = 512;
// A badge issued up to this far in the future is accepted: the clocks of the gate and of
// the enrolment machine may disagree a little.
inline constexpr std::int64_t kClockSkewToleranceSeconds = 300;  // 5 minutes
// Prefix of every signed message, so that a badge signature can never be replayed as a
// signature of something else made with the same key.
inline constexpr std::string_view kBadgeSignatureDomain = "facegate-badge-v1";

// The secret that unseals a sealed badge's template. Move-only, in locked memory.
using BadgeSecret = SecureBox<std::array<std::uint8_t, kBadgeSecretSize>>;

// A decoded badge. Move-only (the secret is). Revocation and unknown serials are the
// store's business, not the codec's.
struct Badge {
  BadgeKind kind = BadgeKind::Plain;
  std::uint64_t serial = 0;
  std::string pupilId;
  std::int64_t issuedAt = 0;          // unix seconds
  std::int64_t expiresAt = 0;         // unix seconds; the badge is expired from this second on
  std::optional<BadgeSecret> secret;  // Sealed only
  std::vector<std::uint8_t> onBadgeTemplate;  // OnBadge only, kOnBadgeTemplateSize bytes
};

// A fresh random serial, never 0.
std::uint64_t newBadgeSerial();
// A fresh random secret for a sealed badge.
BadgeSecret newBadgeSecret();

// Encodes `badge`, signs it with the school's key and returns the base45 text.
// InvalidArgument when the badge violates the layout: pupil id empty, too long or outside
// [A-Za-z0-9._-]; serial 0; a time outside u32; expiry not after issue; Sealed without a
// secret; OnBadge without exactly kOnBadgeTemplateSize template bytes; a body for a kind
// that has none. The binary form is wiped before returning; the text (which holds the
// secret of a sealed badge) is the caller's.
Result<std::string> encodeBadge(const Badge& badge, const SigningKey& key);

// Why a gate refused a badge text. Names from toString() are stable (logs, audit).
enum class BadgeRejection {
  Empty,           // no text at all
  TooLong,         // more than kMaxPayloadTextLength characters
  NotBase45,       // a character outside base45, or a malformed base45 group
  Truncated,       // shorter than its header says
  Oversized,       // trailing bytes after the signature
  UnknownVersion,  // a version this gate does not read
  UnknownKind,     // kind is not 0, 1 or 2
  OtherSchool,     // key id does not match the gate's key
  BadSignature,    // forged or altered
  BadField,        // pupil id charset or length, serial 0, expiry <= issued
  NotYetValid,     // issued more than kClockSkewToleranceSeconds in the future
  Expired,         // now >= expires at
};

std::string_view toString(BadgeRejection reason) noexcept;

struct BadgeError {
  BadgeRejection reason;
  std::string message;  // one sentence; never holds secret or template bytes
};

// Parses untrusted text (from a QR code anyone can print) and checks it against the gate's
// key and clock (`now`, unix seconds). Checks in this order, stopping at the first failure:
// the length of the text (before any decoding), base45, the minimum length, version, kind,
// the exact length for that kind and pupil id length, key id, signature, and only then the
// fields' meaning and the validity window. Never reads out of bounds; throws only
// std::bad_alloc. The decoded bytes are wiped before returning.
tl::expected<Badge, BadgeError> parseBadge(std::string_view text, const PublicKey& gateKey,
                                           std::int64_t now);

}  // namespace facegate::badge
