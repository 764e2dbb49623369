#include "facegate/badge/base45.hpp"

#include <random>
#include <string>

#include <gtest/gtest.h>

namespace facegate::badge {
namespace {

std::vector<std::uint8_t> bytesOf(std::string_view s) {
  return {s.begin(), s.end()};
}

void expectRejected(std::string_view text, const std::string& fragment) {
  const auto decoded = base45Decode(text);
  ASSERT_FALSE(decoded) << "'" << text << "' was accepted";
  EXPECT_EQ(decoded.error().code, ErrorCode::InvalidArgument);
  EXPECT_NE(decoded.error().message.find(fragment), std::string::npos)
      << "expected '" << fragment << "' in: " << decoded.error().message;
}

// The examples of RFC 9285, sections 4.1 to 4.3.
TEST(Base45, Rfc9285Examples) {
  const std::pair<std::string_view, std::string_view> examples[] = {
      {"AB", "BB8"},
      {"Hello!!", "%69 VD92EX0"},
      {"base-45", "UJCLQE7W581"},
      {"ietf!", "QED8WEX0"},
  };
  for (const auto& [plain, encoded] : examples) {
    EXPECT_EQ(base45Encode(bytesOf(plain)), encoded) << plain;
    const auto decoded = base45Decode(encoded);
    ASSERT_TRUE(decoded) << encoded << ": " << decoded.error().message;
    EXPECT_EQ(*decoded, bytesOf(plain)) << encoded;
  }
}

TEST(Base45, EmptyIsEmpty) {
  EXPECT_EQ(base45Encode({}), "");
  const auto decoded = base45Decode("");
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->empty());
}

TEST(Base45, RoundTripsRandomBytesOfEveryLength) {
  std::mt19937 random(45);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t length = 0; length <= 300; ++length) {
    std::vector<std::uint8_t> bytes(length);
    for (auto& b : bytes) {
      b = static_cast<std::uint8_t>(byte(random));
    }
    const std::string text = base45Encode(bytes);
    EXPECT_EQ(text.size(), length / 2 * 3 + length % 2 * 2);
    const auto decoded = base45Decode(text);
    ASSERT_TRUE(decoded) << length << ": " << decoded.error().message;
    EXPECT_EQ(*decoded, bytes) << length;
  }
}

TEST(Base45, ExtremeValuesRoundTrip) {
  const std::vector<std::uint8_t> ones{0xff, 0xff, 0xff};
  EXPECT_EQ(base45Encode(ones), "FGWU5");  // 65535 = 15 + 16*45 + 32*45^2; 255 = 30 + 5*45
  const std::vector<std::uint8_t> zeros{0, 0, 0};
  EXPECT_EQ(base45Encode(zeros), "00000");
  EXPECT_EQ(*base45Decode("FGWU5"), ones);
}

TEST(Base45, RejectsCharactersOutsideTheAlphabet) {
  expectRejected("bb8", "position 0");  // lower case is not base45
  expectRejected("BB8A#C", "'#' at position 4");
  expectRejected("BB8\nBB8", "0x0a at position 3");
  expectRejected("BB8\xc3\xa9", "0xc3 at position 3");  // UTF-8 "é"
  expectRejected(std::string_view("BB\0", 3), "0x00 at position 2");
}

TEST(Base45, RejectsATrailingSingleCharacter) {
  expectRejected("B", "position 0");
  expectRejected("BB8A", "position 3");
  expectRejected("UJCLQE7W581QQ", "position 12");
}

TEST(Base45, RejectsOverflowingGroups) {
  expectRejected("GGW", "position 0");            // 65536, the RFC's own example
  expectRejected("BB8:::", "position 3");         // 91124
  expectRejected("BB8Z5", "pair at position 3");  // 35 + 5*45 = 260 > 255
  expectRejected("V5", "position 0");             // 256
  EXPECT_TRUE(base45Decode("U5"));                // 255 is the largest pair
}

}  // namespace
}  // namespace facegate::badge
