#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "facegate/core/error.hpp"

namespace facegate::badge {

// RFC 9285 base45: every 2 bytes become 3 characters (a last odd byte becomes 2) from the
// 45-character alphabet "0-9A-Z $%*+-./:", which is exactly the QR code alphanumeric set,
// so a QR encoder stores 5.5 bits per character instead of 8.
std::string base45Encode(std::span<const std::uint8_t> bytes);

// Strict decoding of untrusted text. InvalidArgument, the message naming the 0-based
// character position, for: a character outside the alphabet (lower case included), a
// trailing single character, a 3-character group worth more than 65535, or a final
// 2-character group worth more than 255. Nothing is ever partly decoded: on error the
// working buffer is wiped and no bytes are returned.
Result<std::vector<std::uint8_t>> base45Decode(std::string_view text);

}  // namespace facegate::badge
