#include "facegate/badge/base45.hpp"

#include <array>

#include <fmt/format.h>

#include "facegate/core/secure_memory.hpp"

namespace facegate::badge {

namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
static_assert(kAlphabet.size() == 45);

constexpr int kInvalid = -1;

constexpr std::array<int, 256> makeDecodeTable() {
  std::array<int, 256> table{};
  table.fill(kInvalid);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  }
  return table;
}

constexpr std::array<int, 256> kDecodeTable = makeDecodeTable();

// Describes a character for a message without echoing control or non-ASCII bytes.
std::string describeChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x21 && byte < 0x7f) {
    return fmt::format("'{}'", c);
  }
  return fmt::format("byte 0x{:02x}", byte);
}

}  // namespace

std::string base45Encode(std::span<const std::uint8_t> bytes) {
  std::string text;
  // Exact size up front: a reallocation would leave a copy of secret-bearing text behind.
  text.reserve(bytes.size() / 2 * 3 + bytes.size() % 2 * 2);
  std::size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) {
    unsigned n = (unsigned{bytes[i]} << 8) | bytes[i + 1];
    text.push_back(kAlphabet[n % 45]);
    n /= 45;
    text.push_back(kAlphabet[n % 45]);
    text.push_back(kAlphabet[n / 45]);
  }
  if (i < bytes.size()) {
    const unsigned n = bytes[i];
    text.push_back(kAlphabet[n % 45]);
    text.push_back(kAlphabet[n / 45]);
  }
  return text;
}

Result<std::vector<std::uint8_t>> base45Decode(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (kDecodeTable[static_cast<unsigned char>(text[i])] == kInvalid) {
      return fail(
          ErrorCode::InvalidArgument,
          fmt::format("{} at position {} is not a base45 character", describeChar(text[i]), i));
    }
  }
  if (text.size() % 3 == 1) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("a lone character at position {} ends the base45 text (groups are "
                            "of 3 characters, or 2 for the last byte)",
                            text.size() - 1));
  }
  std::vector<std::uint8_t> bytes;
  bytes.reserve(text.size() / 3 * 2 + (text.size() % 3 == 2 ? 1 : 0));
  const auto digit = [&](std::size_t at) {
    return static_cast<unsigned>(kDecodeTable[static_cast<unsigned char>(text[at])]);
  };
  std::size_t i = 0;
  for (; i + 3 <= text.size(); i += 3) {
    const unsigned n = digit(i) + digit(i + 1) * 45 + digit(i + 2) * 45 * 45;
    if (n > 0xffff) {
      secureWipe(bytes.data(), bytes.size());
      return fail(
          ErrorCode::InvalidArgument,
          fmt::format("the base45 group at position {} is worth {}, more than 65535", i, n));
    }
    bytes.push_back(static_cast<std::uint8_t>(n >> 8));
    bytes.push_back(static_cast<std::uint8_t>(n & 0xff));
  }
  if (i < text.size()) {
    const unsigned n = digit(i) + digit(i + 1) * 45;
    if (n > 0xff) {
      secureWipe(bytes.data(), bytes.size());
      return fail(
          ErrorCode::InvalidArgument,
          fmt::format("the final base45 pair at position {} is worth {}, more than 255", i, n));
    }
    bytes.push_back(static_cast<std::uint8_t>(n));
  }
  return bytes;
}

}  // namespace facegate::badge
