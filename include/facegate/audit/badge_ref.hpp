#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace facegate::audit {

// How the audit log names a badge: a keyed pseudonym of its serial, never the serial itself.
//
// The serial is printed in the badge the pupil keeps; a log that recorded it would let
// whoever holds the badge (or a photo of it) find every passage of its owner, even after the
// pupil was erased. The pseudonym is keyed with a random key of the pupil's own
// (audit_keys.badge_ref_key, 32 bytes), which is deleted with the pupil: from then on
// nothing, the badge included, leads to those records. While the pupil is registered, the
// desk can compute a badge's pseudonym (`facegate badge inspect --db`) to find its records.
//
// BLAKE2b (libsodium crypto_generichash) keyed, over a domain string and the serial
// (big-endian), truncated to 64 bits: enough that two badges of a school do not collide,
// too short to be a useful key. Not secret once computed; the key is.
using BadgeRefKey = std::array<std::uint8_t, 32>;

std::uint64_t badgeRef(std::span<const std::uint8_t, 32> key, std::uint64_t serial);

}  // namespace facegate::audit
